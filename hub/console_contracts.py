"""Console pages: contracts and grants (数字合约) — lists, a contract's terms, its versions
with their approvals, and approve / reject / suspend / resume / revoke with reasons. The
platform API decides who may do each (the owners' provider reviewers and an operator; one
person one role; never the member who asked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.console_home import decidable, ends_soon, open_roles
from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "contracts": "Contracts", "contract": "Contract", "party": "Party", "state": "State",
        "in_force": "In force", "valid_from": "From", "valid_until": "Until",
        "objects": "Data", "purpose": "Purpose", "limits": "Limits", "history": "Versions "
        "and approvals", "waiting_only": "waiting for me", "expiring_only": "ending within "
        "30 days", "no_contracts": "No contracts match.", "version_n": "Version {n}",
        "awaiting": "Still awaiting", "decisions": "Decisions", "role": "Role",
        "reviewer": "Reviewer", "decision": "Decision", "reason": "Reason",
        "approve_as": "Approve as {role}", "reject": "Reject", "suspend": "Suspend",
        "resume": "Resume", "revoke": "Revoke", "state_note": "Last change: {state} by "
        "{who}: {why}", "modes": "Uses", "columns": "Columns", "every_column": "every "
        "column", "role_provider": "provider reviewer of {org}", "role_operator": "operator",
        "export": "Download the contract (JSON)", "title_": "Title", "origin": "Origin",
        "request_title": "Request {dataset}", "project": "For project", "days": "Days "
        "(default: the platform's)", "category": "Purpose category", "send": "Send the "
        "request", "request_help": "The data owner's provider reviewer and an operator "
        "decide it; it takes effect once both approve.", "no_projects": "You are a member "
        "of no project: an operator adds you to one first.",
    },
    "zh-CN": {
        "contracts": "数字合约", "contract": "合约", "party": "使用方", "state": "状态",
        "in_force": "生效中", "valid_from": "起始", "valid_until": "截止",
        "objects": "数据对象", "purpose": "用途", "limits": "限制", "history": "版本与审批",
        "waiting_only": "待我审批", "expiring_only": "30 天内到期",
        "no_contracts": "没有符合条件的合约。", "version_n": "第 {n} 版",
        "awaiting": "待审批方", "decisions": "审批记录", "role": "角色",
        "reviewer": "审批人", "decision": "结论", "reason": "理由",
        "approve_as": "以{role}身份批准", "reject": "驳回", "suspend": "暂停",
        "resume": "恢复", "revoke": "撤销", "state_note": "最近变更：{who} 将状态改为 {state}，"
        "理由：{why}", "modes": "使用方式", "columns": "字段", "every_column": "全部字段",
        "role_provider": "{org} 的数据提供方审核人", "role_operator": "平台运营方",
        "export": "下载合约（JSON）", "title_": "标题", "origin": "来源",
        "request_title": "申请使用 {dataset}", "project": "所属项目",
        "days": "天数（默认按平台设置）",
        "category": "用途类别", "send": "提交申请",
        "request_help": "由数据所有方的审核人与平台运营方审批，双方批准后生效。",
        "no_projects": "您尚未加入任何项目：请先由运营方将您加入项目。",
    },
}  # fmt: skip
STATE_NAMES = {"zh-CN": {"draft": "待审批", "active": "生效", "suspended": "已暂停",
                         "expired": "已到期", "revoked": "已撤销", "rejected": "已驳回",
                         "pending": "待审批", "approved": "已批准"}}  # fmt: skip


MODES = ("sandbox", "pipeline", "api", "labeling")
CATEGORIES = ("product_development", "research", "statistics", "public_service",
              "model_training", "other")  # fmt: skip


def fingerprint(c: dict[str, Any]) -> str:
    """What the reviewer saw: state, version and the decisions made so far."""
    made = sum(len(v["decisions"]) for v in c["versions"])
    return f"state {c['state']}, {len(c['versions'])} version(s), {made} decision(s)"


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("contracts", "contracts", order=20)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    def state(request: Request, value: str) -> str:
        return STATE_NAMES.get(console.lang(request), {}).get(value, value)

    def mine(request: Request) -> tuple[str, set[str], set[str]]:
        held = console.held(request)
        return (console.user(request), {r.role for r in held},
                {r.org for r in held if r.role == "provider" and r.org})  # fmt: skip

    @console.router.get("/contracts")
    def contracts(request: Request) -> HTMLResponse:
        rows = console.api(request).get("/contracts")
        q = request.query_params
        user, roles, orgs = mine(request)
        if q.get("waiting"):
            rows = [c for c in rows if decidable(c, user, roles, orgs)]
        if q.get("expiring"):
            rows = [c for c in rows if ends_soon(c)]
        if q.get("state"):
            rows = [c for c in rows if c["state"] == q["state"]]
        view = [{**c, "state_label": state(request, c["state"]),
                 "datasets": ", ".join(o["dataset"] for o in c["objects"]),
                 "waiting": decidable(c, user, roles, orgs)} for c in rows]  # fmt: skip
        return console.render(request, "contracts.html", t(request, "contracts"),
                              tbl=console.table(request, view, "ref"),
                              states=sorted({c["state"] for c in rows}))  # fmt: skip

    def request_form(request: Request, dataset: str, values: dict[str, Any] | None = None,
                     error: str | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
        info = console.one(request, f"/datasets/{quote(dataset, safe='')}")
        projects = console.me(request)["projects"]
        return console.render(request, "contract_request.html",
                              t(request, "request_title", dataset=dataset), d=info,
                              projects=projects, modes=MODES, categories=CATEGORIES,
                              v=values or {}, error=error, status=status)  # fmt: skip

    @console.router.get("/contracts/request/{dataset}")
    def request_page(request: Request, dataset: str) -> HTMLResponse:
        return request_form(request, dataset)

    @console.router.post("/contracts/request/{dataset}")
    async def request_contract(request: Request, dataset: str) -> Response:
        raw = await request.body()
        form = await console.form(request)
        from urllib.parse import parse_qs

        many = parse_qs(raw.decode())  # checkboxes: a key once per ticked box
        api = console.api(request)

        def run() -> Response:
            days = form.get("days", "").strip()
            body = {"project": form.get("project", ""), "dataset": dataset,
                    "modes": many.get("modes") or [], "columns": many.get("columns") or None,
                    "days": int(days) if days.isdigit() else None,
                    "purpose": form.get("purpose", ""),
                    "category": form.get("category") or "product_development"}  # fmt: skip
            try:
                made = api.post("/contracts/request", body)
            except TrustlabError as exc:
                return request_form(request, dataset, {**form, **body}, str(exc), 400)
            return RedirectResponse(f"../../{quote(made['ref'], safe='')}?done=1", 303)

        return await run_in_threadpool(run)

    @console.router.get("/contracts/{ref}")
    def contract(request: Request, ref: str) -> HTMLResponse:
        c = console.one(request, f"/contracts/{quote(ref, safe='')}")
        user, roles, orgs = mine(request)
        choices = [(role, t(request, "approve_as", role=t(request, "role_operator")
                            if role == "operator" else t(request, "role_provider", org=org)))
                   for role, org in open_roles(c, user, roles, orgs)]  # fmt: skip
        can_state = bool(roles & {"operator", "provider"})  # the API checks the owner

        def who(need: str) -> str:
            if need.startswith("provider of "):
                return t(request, "role_provider", org=need.removeprefix("provider of "))
            return t(request, "role_operator") if need == "operator" else need

        for v in c["versions"]:
            v["awaiting_labels"] = [who(n) for n in v["awaiting"]]
        limits = {k: v for k, v in (c["limits"] or {}).items() if v is not None}
        return console.render(
            request, "contract.html", f"{t(request, 'contract')} {c['ref']}", c=c,
            state_label=state(request, c["state"]), choices=list(dict.fromkeys(choices)),
            can_state=can_state, operator="operator" in roles, seen=fingerprint(c),
            status_label=lambda s: state(request, s),
            limits=json.dumps(limits, ensure_ascii=False, indent=1) if limits else "",
        )  # fmt: skip

    @console.router.get("/contracts/{ref}/export.json")
    def export(request: Request, ref: str) -> Response:
        data = console.one(request, f"/contracts/{quote(ref, safe='')}/export")
        name = f"contract-{ref}.json".replace('"', "")
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(json.dumps(data, ensure_ascii=False, indent=2),
                        media_type="application/json", headers=disposition)  # fmt: skip

    @console.router.post("/contracts/{ref}/{action}")
    async def act(request: Request, ref: str, action: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        base = f"/contracts/{quote(ref, safe='')}"
        back = f"../{quote(ref, safe='')}"
        reason = form.get("reason") or None
        calls = {
            "approve": lambda: api.post(f"{base}/approve",
                                        {"role": form.get("role") or None, "reason": reason}),
            "reject": lambda: api.post(f"{base}/reject",
                                       {"role": form.get("role") or None, "reason": reason}),
            **{a: (lambda a=a: api.post(f"{base}/{a}", {"reason": reason or ""}))
               for a in ("suspend", "resume", "revoke")},
        }  # fmt: skip
        if action not in calls:
            return console.error(request, 404, t(request, "not_found"))

        return await console.act(request, calls[action], back,
                                 lambda: fingerprint(api.get(base)), form)  # fmt: skip
