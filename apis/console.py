"""Console pages of the API builder: the APIs and their review, and monitoring.

Clients of the platform API as the logged-in person, like every console page: the list of
APIs; one API's versions with definition, hash, decisions and the buttons this person may
use (approve as operator or as a named provider's reviewer, reject with a reason, publish,
take offline); monitoring per API version and application with today's quota use. The API
decides every action again with this person's token; the buttons are only a convenience.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "apis": "APIs", "api_monitor": "API monitoring", "no_apis": "No APIs yet.",
        "api": "API", "project": "project", "latest": "latest", "state": "state",
        "published": "published", "version": "version", "kind": "kind", "hash": "hash",
        "author": "author", "providers": "provider reviews needed", "none": "none",
        "definition": "Definition", "decisions": "Review", "role": "role", "org": "organisation",
        "reviewer": "reviewer", "decision": "decision", "reason": "reason", "at": "at",
        "approve_as": "Approve as {role}", "reject": "Reject", "publish": "Publish",
        "take_offline": "Take offline", "swagger": "Swagger page", "done": "Recorded.",
        "window": "Last {hours} hours", "per_api": "Per API version",
        "per_app": "Per application", "quota": "Quota use today", "calls": "calls",
        "client_errors": "4xx", "server_errors": "5xx", "error_rate": "error rate",
        "p50": "p50 ms", "p95": "p95 ms", "rows": "rows", "application": "application",
        "contract": "contract", "used": "used", "limit": "quota", "no_calls": "No calls.",
        "operator": "operator", "provider": "provider of {org}",
    },
    "zh-CN": {
        "apis": "数据接口", "api_monitor": "接口监控", "no_apis": "暂无接口。",
        "api": "接口", "project": "项目", "latest": "最新版本", "state": "状态",
        "published": "已发布", "version": "版本", "kind": "类型", "hash": "哈希",
        "author": "开发者", "providers": "需数据提供方审核", "none": "无",
        "definition": "接口定义", "decisions": "审核", "role": "角色", "org": "机构",
        "reviewer": "审核人", "decision": "结论", "reason": "理由", "at": "时间",
        "approve_as": "以{role}身份批准", "reject": "驳回", "publish": "发布",
        "take_offline": "下线", "swagger": "Swagger 页面", "done": "已记录。",
        "window": "最近 {hours} 小时", "per_api": "按接口版本", "per_app": "按应用",
        "quota": "今日配额使用", "calls": "调用次数", "client_errors": "4xx",
        "server_errors": "5xx", "error_rate": "错误率", "p50": "p50 毫秒", "p95": "p95 毫秒",
        "rows": "返回行数", "application": "应用", "contract": "合约", "used": "已用",
        "limit": "配额", "no_calls": "暂无调用。", "operator": "平台运营方",
        "provider": "数据提供方（{org}）",
    },
}  # fmt: skip
STATES = {
    "zh-CN": {"draft": "草稿", "submitted": "待审核", "approved": "已批准",
              "published": "已发布", "offline": "已下线", "rejected": "已驳回"},
}  # fmt: skip


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("apis", "apis", order=50)
    console.add_nav("api-monitor", "api_monitor", roles=("operator", "auditor", "admin"), order=51)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    def label(request: Request, state: str | None) -> str:
        return STATES.get(console.lang(request), {}).get(state or "", state or "-")

    @console.router.get("/apis")
    def api_list(request: Request) -> HTMLResponse:
        console.user(request)
        rows = console.api(request).get("/apis")
        for r in rows:
            r["state_label"] = label(request, r["state"])
        return console.render(request, "apis.html", t(request, "apis"), rows=rows)

    @console.router.get("/api-monitor")
    def monitor(request: Request) -> HTMLResponse:
        console.user(request)
        raw = request.query_params.get("hours", "24")
        hours = float(raw) if raw.replace(".", "", 1).isdigit() else 24.0
        try:
            info = console.api(request).get("/apis/monitor", hours=hours)
        except TrustlabError as exc:
            return console.page(request, t(request, "api_monitor"), str(exc), 403)
        return console.render(request, "api_monitor.html", t(request, "api_monitor"),
                              info=info, hours=f"{hours:g}")  # fmt: skip

    @console.router.get("/apis/{name}")
    def api_page(request: Request, name: str) -> HTMLResponse:
        user = console.user(request)
        try:
            info = console.api(request).get(f"/apis/{quote(name)}")
        except TrustlabError as exc:
            return console.page(request, t(request, "apis"), str(exc), 404)
        held = console.held(request)
        operator = any(h.role == "operator" for h in held)
        orgs = {h.org for h in held if h.role == "provider"}
        gateway = f"http://127.0.0.1:{console.platform.settings.gateway_port}"
        versions = []
        for v in reversed(info["versions"]):
            decided = {(d["role"], d["org"] or "") for d in v["decisions"]}
            mine = any(d["reviewer"] == user for d in v["decisions"])
            can: list[tuple[str, str, str]] = []  # (role, org, label)
            if v["state"] == "submitted" and user != v["created_by"] and not mine:
                if operator and ("operator", "") not in decided:
                    can.append(("operator", "", t(request, "approve_as",
                                                  role=t(request, "operator"))))  # fmt: skip
                for org in v["providers"]:
                    if org in orgs and ("provider", org) not in decided:
                        who = t(request, "provider", org=org)
                        can.append(("provider", org, t(request, "approve_as", role=who)))
            versions.append({
                **v, "state_label": label(request, v["state"]), "can": can,
                "publish": operator and v["state"] == "approved",
                "offline": operator and v["state"] in ("published", "approved", "submitted"),
                "swagger": f"{gateway}/apis/{name}/v{v['version']}/docs"
                if v["state"] == "published" else None,
                "text": json.dumps(v["definition"], ensure_ascii=False, indent=2),
            })  # fmt: skip
        return console.render(request, "api.html", f"{t(request, 'api')} {name}", info=info,
                              versions=versions, csrf=console.csrf(request),
                              done=request.query_params.get("done"),
                              error=request.query_params.get("error"))  # fmt: skip

    @console.router.post("/apis/{name}/v{number}/{action}")
    async def act(request: Request, name: str, number: int, action: str) -> Response:
        console.user(request)
        form = await console.form(request)
        api = console.api(request)
        base = f"/apis/{quote(name)}/versions/{number}"
        calls = {
            "approve": lambda: api.post(f"{base}/approve", {"role": form.get("role", "")}),
            "reject": lambda: api.post(f"{base}/reject", {"role": form.get("role", ""),
                                                          "reason": form.get("reason") or None}),
            "publish": lambda: api.post(f"{base}/publish", {}),
            "offline": lambda: api.post(f"{base}/offline", {"reason": form.get("reason", "")}),
        }  # fmt: skip
        if action not in calls:
            return console.page(request, t(request, "apis"), f"no action {action!r}", 404)

        def run() -> Response:
            back = f"../../{quote(name)}"
            try:
                calls[action]()
            except TrustlabError as exc:
                return RedirectResponse(f"{back}?error={quote(str(exc))}", 303)
            return RedirectResponse(f"{back}?done=1", 303)

        return await run_in_threadpool(run)
