"""Console pages for pipeline review (registered under ``trustlab.console``)."""

from __future__ import annotations

from pathlib import Path
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
        "all_versions": "Recent versions",
        "my_submissions": "My submissions",
        "wait_reviews": "pipeline versions waiting for your review",
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
        "all_versions": "最近的版本",
        "my_submissions": "我提交的版本",
        "wait_reviews": "待您审核的加工逻辑版本",
    },
}
ROLE_NAMES = {"en": {"provider": "provider", "operator": "operator"},
              "zh-CN": {"provider": "数据提供方", "operator": "平台运营方"}}  # fmt: skip
STATE_NAMES = {
    "zh-CN": {"in_review": "审核中", "approved": "已批准", "rejected": "已驳回",
              "scanned": "已扫描", "blocked": "扫描阻断", "dry_run_failed": "试运行未通过",
              "deployed": "已部署", "retired": "已下线", "submitted": "已提交"},
}  # fmt: skip


class ApiReview:
    """The review pages' view of the platform API, called as the logged-in reviewer."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def list(self) -> list[dict[str, Any]]:
        return self.api.get("/pipelines/versions")

    def status(self, version: str) -> dict[str, Any]:
        return self.api.get(f"/pipelines/versions/{quote(version)}")

    def files(self, version: str) -> dict[str, str]:
        return self.api.get(f"/pipelines/versions/{quote(version)}/files")

    def diff(self, version: str) -> str:
        return self.api.get(f"/pipelines/versions/{quote(version)}/diff")["diff"]

    def approve(self, version: str, role: str) -> Any:
        return self.api.post(f"/pipelines/versions/{quote(version)}/approve", {"role": role})

    def reject(self, version: str, reason: str) -> Any:
        body = {"reason": reason}
        return self.api.post(f"/pipelines/versions/{quote(version)}/reject", body)


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("reviews", "reviews", order=30)
    console.add_waits(_waiting_reviews)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    def state(request: Request, value: str) -> str:
        return STATE_NAMES.get(console.lang(request), {}).get(value, value)

    # Pages that read the DB are plain functions: FastAPI runs them in its thread pool,
    # off the event loop.
    @console.router.get("/reviews")
    def queue(request: Request) -> HTMLResponse:
        user = console.user(request)
        review = ApiReview(console.api(request))
        rows = review.list()  # the API shows a developer their projects' versions only
        lang = console.lang(request)

        def item(r: dict[str, Any]) -> dict[str, Any]:
            needs = ""
            if r["state"] == "in_review":
                status = review.status(r["version"])
                needs = ", ".join(
                    ROLE_NAMES[lang][x["role"]] + (f" ({x['org']})" if x["org"] else "")
                    for x in status["reviews"]
                    if x["decision"] is None
                )
            return {**r, "state_label": state(request, r["state"]), "needs": needs}

        own = [item(r) for r in rows if r["submitted_by"] == user]
        sections = [("my_submissions", own)] if own else []
        sections += [("reviews", [item(r) for r in rows if r["state"] == "in_review"]),
                     ("all_versions", [item(r) for r in rows[:30]])]  # fmt: skip
        return console.render(request, "reviews.html", t(request, "reviews"), sections=sections)

    @console.router.get("/reviews/{version}")
    def detail(request: Request, version: str) -> HTMLResponse:
        user = console.user(request)
        review = ApiReview(console.api(request))
        try:
            status = review.status(version)
        except TrustlabError as exc:
            return console.page(request, t(request, "reviews"), str(exc), 404)
        lang = console.lang(request)
        findings = (status["scan"] or {}).get("findings", [])
        by_line: dict[tuple[str, int], list[dict]] = {}
        for f in findings:
            by_line.setdefault((f["file"], f["line"]), []).append(f)
        files = [
            (rel, [(n, line, by_line.get((rel, n), [])) for n, line in
                   enumerate(text.splitlines(), 1)])
            for rel, text in review.files(status["version"]).items()
        ]  # fmt: skip
        diff = []
        if status["previous"]:
            for line in review.diff(status["version"]).splitlines():
                cls = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
                diff.append((cls, line))
        dry = status["dry_run"]
        flags = {name: {f["column"]: f for f in out["findings"]}
                 for name, out in (dry or {}).get("outputs", {}).items()}  # fmt: skip
        return console.render(
            request, "review.html", f"{status['name']} {status['version'][:12]}",
            s=status, state_label=state(request, status["state"]),
            done=request.query_params.get("done"), error=request.query_params.get("error"),
            reviews=_reviews(request, console, status, lang),
            open_roles=_open_roles(request, console, status, user, lang),
            csrf=console.csrf(request), findings=findings, files=files, diff=diff, dry=dry,
            flags=flags,
        )  # fmt: skip

    @console.router.post("/reviews/{version}/approve")
    async def approve(request: Request, version: str) -> Response:
        console.user(request)  # a login first: no session, back to the hub
        form = await console.form(request)
        review = ApiReview(console.api(request))
        role = form.get("role") or None
        return await run_in_threadpool(_act, lambda: review.approve(version, role), version)

    @console.router.post("/reviews/{version}/reject")
    async def reject(request: Request, version: str) -> Response:
        console.user(request)
        form = await console.form(request)
        review = ApiReview(console.api(request))
        reason = form.get("reason", "")
        return await run_in_threadpool(_act, lambda: review.reject(version, reason), version)


def _waiting_reviews(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    """Versions in review that still need a decision of a role this person holds."""
    held = [[*r.split(":", 1), ""] for r in me["roles"]]
    held_pairs = {(r[0], r[1] or None) for r in held}
    rows = [r for r in api.get("/pipelines/versions")
            if r["state"] == "in_review" and r["submitted_by"] != me["name"]]  # fmt: skip
    mine = []
    for r in rows:
        status = api.get(f"/pipelines/versions/{quote(r['version'])}")
        if any(x["decision"] is None and ((x["role"], x["org"] if x["role"] == "provider" else None)
               in held_pairs) for x in status["reviews"]):  # fmt: skip
            mine.append(r)
    return [{"key": "wait_reviews", "count": len(mine), "href": "reviews",
             "newest": max((r.get("submitted_at") or "" for r in mine), default=None)}]  # fmt: skip


def _act(action: Any, version: str) -> Response:
    try:
        action()
    except TrustlabError as exc:
        return RedirectResponse(f"../{quote(version)}?error={quote(str(exc))}", 303)
    return RedirectResponse(f"../{quote(version)}?done=1", 303)


def _reviews(request: Request, console: Any, status: dict, lang: str) -> list[dict[str, Any]]:
    return [
        {"who": ROLE_NAMES[lang][r["role"]] + (f" ({r['org']})" if r["org"] else ""),
         "decision": r["decision"] or console.t(request, "pending"),
         "reviewer": r["reviewer"] or "", "reason": r["reason"] or ""}
        for r in status["reviews"]
    ]  # fmt: skip


def _open_roles(
    request: Request, console: Any, status: dict, user: str, lang: str
) -> list[tuple[str, str]]:
    """The decisions this user may still make here (the API checks them again)."""
    if status["state"] != "in_review" or user == status["submitted_by"]:
        return []
    held = console.held(request)

    def holds(r: dict[str, Any]) -> bool:
        return any(h.role == r["role"] and (r["role"] != "provider" or h.org == r["org"])
                   for h in held)  # fmt: skip

    roles = [r["role"] for r in status["reviews"] if r["decision"] is None and holds(r)]
    return [(role, console.t(request, "approve_as", role=ROLE_NAMES[lang][role]))
            for role in dict.fromkeys(roles)]  # fmt: skip
