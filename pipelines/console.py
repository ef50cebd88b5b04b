"""Console pages for pipeline review (registered under ``trustlab.console``)."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "reviews": "Pipeline reviews",
        "queue_empty": "Nothing waits for review.",
        "version": "version",
        "pipeline": "pipeline",
        "state": "state",
        "submitted_by": "submitted by",
        "needs": "still needs",
        "code": "Code",
        "diff": "Changes since the previous version",
        "no_previous": "First version of this pipeline.",
        "findings": "Scan findings",
        "no_findings": "No findings.",
        "lineage": "Column lineage",
        "column": "column",
        "sources": "from input columns",
        "raw": "carried unmasked",
        "via": "through",
        "justification": "justification",
        "expectations": "Expectations",
        "preview": "Dry-run output (on masked samples)",
        "decisions": "Review",
        "role": "role",
        "decision": "decision",
        "reviewer": "reviewer",
        "pending": "pending",
        "approve_as": "Approve as {role}",
        "reject": "Reject",
        "reason": "Reason",
        "dry_run": "Dry run",
        "passed": "passed",
        "failed": "failed",
        "done": "Recorded.",
        "all_versions": "Recent versions",
        "my_submissions": "My submissions",
    },
    "zh-CN": {
        "reviews": "加工逻辑审核",
        "queue_empty": "暂无待审核的版本。",
        "version": "版本",
        "pipeline": "流水线",
        "state": "状态",
        "submitted_by": "提交人",
        "needs": "待审核方",
        "code": "代码",
        "diff": "与上一版本的差异",
        "no_previous": "该流水线的第一个版本。",
        "findings": "风险扫描结果",
        "no_findings": "无风险项。",
        "lineage": "字段血缘",
        "column": "字段",
        "sources": "来源输入字段",
        "raw": "未脱敏传递",
        "via": "经过",
        "justification": "说明",
        "expectations": "数据质量校验",
        "preview": "试运行输出（基于脱敏样例）",
        "decisions": "审核",
        "role": "角色",
        "decision": "结论",
        "reviewer": "审核人",
        "pending": "待审核",
        "approve_as": "以{role}身份批准",
        "reject": "驳回",
        "reason": "理由",
        "dry_run": "试运行",
        "passed": "通过",
        "failed": "未通过",
        "done": "已记录。",
        "all_versions": "最近的版本",
        "my_submissions": "我提交的版本",
    },
}
ROLE_NAMES = {"en": {"provider": "provider", "operator": "operator"},
              "zh-CN": {"provider": "数据提供方", "operator": "平台运营方"}}  # fmt: skip
STATE_NAMES = {
    "zh-CN": {"in_review": "审核中", "approved": "已批准", "rejected": "已驳回",
              "scanned": "已扫描", "blocked": "扫描阻断", "dry_run_failed": "试运行未通过",
              "deployed": "已部署", "retired": "已下线", "submitted": "已提交"},
}  # fmt: skip


def e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def register(console: Any) -> None:
    from pipelines.review import Review

    console.messages(MESSAGES)
    console.nav.append(("reviews", "reviews"))
    review = Review(console.platform)
    t = console.t

    def state(request: Request, value: str) -> str:
        return STATE_NAMES.get(console.lang(request), {}).get(value, value)

    # Pages that read the DB are plain functions: FastAPI runs them in its thread pool,
    # off the event loop.
    @console.router.get("/reviews")
    def queue(request: Request) -> HTMLResponse:
        user = console.user(request)
        rows = review.list()
        roles = {r.role for r in console.roles(user)}
        if not roles & {"provider", "operator", "auditor", "admin"}:  # a developer: theirs
            from hub.identity import Directory

            mine = set(Directory(console.platform).show_user(user)["projects"])
            rows = [r for r in rows if r["project"] in mine or r["submitted_by"] == user]
        waiting = [r for r in rows if r["state"] == "in_review"]
        own = [r for r in rows if r["submitted_by"] == user]
        body = []
        sections = [("my_submissions", own)] if own else []
        sections += [("reviews", waiting), ("all_versions", rows[:30])]
        for title, items in sections:
            body.append(f"<h2>{e(t(request, title))}</h2>")
            if not items:
                body.append(f"<p>{e(t(request, 'queue_empty'))}</p>")
                continue
            body.append(
                f"<table><tr><th>{e(t(request, 'version'))}</th><th>{e(t(request, 'pipeline'))}"
                f"</th><th>{e(t(request, 'state'))}</th><th>{e(t(request, 'submitted_by'))}</th>"
                f"<th>{e(t(request, 'needs'))}</th></tr>"
            )
            for r in items:
                status = review.status(r["version"])
                needs = ", ".join(
                    ROLE_NAMES[console.lang(request)][x["role"]]
                    + (f" ({x['org']})" if x["org"] else "")
                    for x in status["reviews"]
                    if x["decision"] is None
                )
                body.append(
                    f'<tr><td><a class="version" href="reviews/{e(r["version"])}">'
                    f"{e(r['version'][:12])}</a></td><td>{e(r['name'])}</td>"
                    f"<td>{e(state(request, r['state']))}</td><td>{e(r['submitted_by'])}</td>"
                    f"<td>{e(needs if r['state'] == 'in_review' else '')}</td></tr>"
                )
            body.append("</table>")
        return console.page(request, t(request, "reviews"), "".join(body))

    @console.router.get("/reviews/{version}")
    def detail(request: Request, version: str) -> HTMLResponse:
        user = console.user(request)
        try:
            status = review.status(version)
        except TrustlabError as exc:
            return console.page(request, t(request, "reviews"), f"<p>{e(exc)}</p>", 404)
        lang = console.lang(request)
        parts = [
            f"<p>{e(status['name'])} <code>{e(status['version'])}</code> — "
            f"<b id='state'>{e(state(request, status['state']))}</b>, "
            f"{e(t(request, 'submitted_by'))} {e(status['submitted_by'])}</p>",
            f"<p>{e(status['manifest']['description'])}</p>",
        ]
        if request.query_params.get("done"):
            parts.append(f"<p class='ok' id='flash'>{e(t(request, 'done'))}</p>")
        if request.query_params.get("error"):
            parts.append(f"<p class='bad' id='flash'>{e(request.query_params['error'])}</p>")
        parts.append(_decisions(request, console, status, user, lang))
        parts.append(_findings_and_code(request, console, status, review))
        parts.append(_diff(request, console, status, review))
        parts.append(_dry_run(request, console, status))
        return console.page(request, f"{status['name']} {status['version'][:12]}", "".join(parts))

    @console.router.post("/reviews/{version}/approve")
    async def approve(request: Request, version: str) -> Response:
        user = console.user(request)
        form = await console.form(request)
        return await run_in_threadpool(
            _act, lambda: review.approve(version, form.get("role", ""), user), version
        )

    @console.router.post("/reviews/{version}/reject")
    async def reject(request: Request, version: str) -> Response:
        user = console.user(request)
        form = await console.form(request)
        return await run_in_threadpool(
            _act, lambda: review.reject(version, user, form.get("reason", "")), version
        )


def _act(action: Any, version: str) -> Response:
    try:
        action()
    except TrustlabError as exc:
        return RedirectResponse(f"../{quote(version)}?error={quote(str(exc))}", 303)
    return RedirectResponse(f"../{quote(version)}?done=1", 303)


def _decisions(request: Request, console: Any, status: dict, user: str, lang: str) -> str:
    t = console.t
    held = console.roles(user)
    rows = []
    for r in status["reviews"]:
        who = ROLE_NAMES[lang][r["role"]] + (f" ({r['org']})" if r["org"] else "")
        decision = r["decision"] or t(request, "pending")
        rows.append(f"<tr><td>{e(who)}</td><td>{e(decision)}</td><td>{e(r['reviewer'])}</td>"
                    f"<td>{e(r['reason'])}</td></tr>")  # fmt: skip
    out = [
        f"<h2>{e(t(request, 'decisions'))}</h2><table id='decisions'><tr>"
        f"<th>{e(t(request, 'role'))}</th><th>{e(t(request, 'decision'))}</th>"
        f"<th>{e(t(request, 'reviewer'))}</th><th>{e(t(request, 'reason'))}</th></tr>",
        *rows,
        "</table>",
    ]
    if status["state"] != "in_review" or user == status["submitted_by"]:
        return "".join(out)
    csrf = console.csrf(request)
    open_roles = []
    for r in status["reviews"]:
        if r["decision"] is None and any(
            h.role == r["role"] and (r["role"] != "provider" or h.org == r["org"]) for h in held
        ):
            open_roles.append(r["role"])
    for role in dict.fromkeys(open_roles):
        label = t(request, "approve_as", role=ROLE_NAMES[lang][role])
        out.append(
            f'<form method="post" action="{e(status["version"])}/approve" style="display:inline">'
            f'<input type="hidden" name="_csrf" value="{csrf}"><input type="hidden" name="role" '
            f'value="{role}"><button id="approve-{role}" type="submit">{e(label)}</button></form>'
        )
    if open_roles:
        out.append(
            f'<form method="post" action="{e(status["version"])}/reject">'
            f'<input type="hidden" name="_csrf" value="{csrf}">'
            f'<label>{e(t(request, "reason"))} <input name="reason" id="reason" size="60"></label>'
            f'<button id="reject" type="submit">{e(t(request, "reject"))}</button></form>'
        )
    return "".join(out)


def _findings_and_code(request: Request, console: Any, status: dict, review: Any) -> str:
    t = console.t
    findings = (status["scan"] or {}).get("findings", [])
    by_line: dict[tuple[str, int], list[dict]] = {}
    for f in findings:
        by_line.setdefault((f["file"], f["line"]), []).append(f)
    out = [f"<h2>{e(t(request, 'findings'))}</h2>"]
    if not findings:
        out.append(f"<p>{e(t(request, 'no_findings'))}</p>")
    out.append(f"<h2>{e(t(request, 'code'))}</h2>")
    for rel, text in review.files(status["version"]).items():
        out.append(f"<h3>{e(rel)}</h3><pre class='code'>")
        for number, line in enumerate(text.splitlines(), 1):
            marks = by_line.get((rel, number), [])
            cls = " class='finding'" if marks else ""
            out.append(f"<span{cls}>{number:4d}  {e(line)}</span>\n")
            for f in marks:
                sev = "high" if f["severity"] == "high" and not f.get("waived") else ""
                waived = " (waived)" if f.get("waived") else ""
                out.append(f"<span class='{sev}'>      ▲ {e(f['rule'])} {e(f['severity'])}"
                           f"{waived}: {e(f['message'])}</span>\n")  # fmt: skip
        out.append("</pre>")
    return "".join(out)


def _diff(request: Request, console: Any, status: dict, review: Any) -> str:
    t = console.t
    out = [f"<h2>{e(t(request, 'diff'))}</h2>"]
    if not status["previous"]:
        out.append(f"<p>{e(t(request, 'no_previous'))}</p>")
        return "".join(out)
    out.append("<pre id='diff'>")
    for line in review.diff(status["version"]).splitlines():
        cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        out.append(f"<span class='{cls}'>{e(line)}</span>\n")
    out.append("</pre>")
    return "".join(out)


def _dry_run(request: Request, console: Any, status: dict) -> str:
    t = console.t
    dry = status["dry_run"]
    if not dry:
        return ""
    verdict = t(request, "passed") if dry["passed"] else t(request, "failed")
    out = [f"<h2>{e(t(request, 'dry_run'))}: <span class='{'ok' if dry['passed'] else 'bad'}'>"
           f"{e(verdict)}</span></h2>"]  # fmt: skip
    out += [f"<p class='bad'>{e(p)}</p>" for p in dry["problems"]]
    for name, output in dry["outputs"].items():
        flagged = {f["column"]: f for f in output["findings"]}
        out.append(f"<h3>{e(t(request, 'lineage'))}: {e(name)}</h3><table class='lineage'><tr>"
                   f"<th>{e(t(request, 'column'))}</th><th>{e(t(request, 'sources'))}</th>"
                   f"<th>{e(t(request, 'raw'))}</th><th>{e(t(request, 'via'))}</th>"
                   f"<th>{e(t(request, 'justification'))}</th></tr>")  # fmt: skip
        for column, info in output["lineage"].items():
            finding = flagged.get(column)
            cls = " class='high'" if finding and finding["severity"] == "high" else ""
            out.append(
                f"<tr{cls}><td>{e(column)}</td>"
                f"<td>{e(', '.join('.'.join(s) for s in info['sources']))}</td>"
                f"<td>{e(', '.join('.'.join(s) for s in info['raw_sources']))}</td>"
                f"<td>{e(', '.join(info['via']))}</td>"
                f"<td>{e(finding['justification'] if finding else '')}</td></tr>"
            )
        out.append("</table>")
        out.append(f"<h3>{e(t(request, 'expectations'))}</h3><ul>")
        for check in output["expectations"]["checks"]:
            mark = "✔" if check["success"] else "✘"
            col = f" ({check['column']})" if check["column"] else ""
            out.append(f"<li class='{'ok' if check['success'] else 'bad'}'>{mark} "
                       f"{e(check['expectation'])}{e(col)}</li>")  # fmt: skip
        out.append("</ul>")
        if output["preview"]:
            columns = list(output["preview"][0])
            out.append(f"<h3>{e(t(request, 'preview'))}</h3><table class='preview'><tr>"
                       + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr>")  # fmt: skip
            for row in output["preview"]:
                out.append("<tr>" + "".join(f"<td>{e(row[c])}</td>" for c in columns) + "</tr>")
            out.append("</table>")
    return "".join(out)
