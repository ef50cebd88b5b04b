"""Console pages: risk alerts, freezes and violation reports (风险告警、权限冻结、违规报告).

The pages are clients of the platform API as the logged-in person: operators, admins and
auditors read; only operators lift freezes (the API decides, with this person's token).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from hub.errors import TrustlabError

MESSAGES = {
    "en": {
        "alerts": "Alerts", "freezes": "Freezes", "no_alerts": "No alerts.",
        "no_freezes": "No freezes.", "time": "Time", "severity": "Severity", "rule": "Rule",
        "subject": "Subject", "summary": "Summary", "freeze": "Freeze", "what": "Frozen",
        "changed": "Changed", "by": "By", "state": "State", "in_place": "in place",
        "lifted": "lifted", "lift": "Lift the freeze", "reason": "Reason",
        "report": "Violation report", "download": "Download (Markdown)",
        "evidence": "Evidence", "actions": "Actions taken",
    },
    "zh-CN": {
        "alerts": "风险告警", "freezes": "权限冻结", "no_alerts": "暂无告警。",
        "no_freezes": "暂无冻结。", "time": "时间", "severity": "严重程度", "rule": "规则",
        "subject": "涉事主体", "summary": "异常特征", "freeze": "冻结", "what": "冻结对象",
        "changed": "已变更", "by": "执行人", "state": "状态", "in_place": "冻结中",
        "lifted": "已解除", "lift": "解除冻结", "reason": "理由",
        "report": "违规行为报告", "download": "下载（Markdown）",
        "evidence": "证据", "actions": "处置措施",
    },
}  # fmt: skip


def register(console: Any) -> None:
    from pathlib import Path

    console.messages(MESSAGES)
    console.add_nav("alerts", "alerts", roles=("operator", "auditor", "admin"), order=70)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    @console.router.get("/alerts")
    def alerts(request: Request) -> HTMLResponse:
        console.user(request)
        api = console.api(request)
        try:
            rows, freezes = api.get("/alerts", limit=200), api.get("/freezes")
        except TrustlabError as exc:
            return console.page(request, t(request, "alerts"), str(exc), 403)
        return console.render(request, "alerts.html", t(request, "alerts"), alerts=rows,
                              freezes=freezes, csrf=console.csrf(request),
                              done=request.query_params.get("done"),
                              error=request.query_params.get("error"))  # fmt: skip

    @console.router.get("/alerts/{alert_id}")
    def alert(request: Request, alert_id: int) -> HTMLResponse:
        console.user(request)
        try:
            data = console.api(request).get(f"/alerts/{alert_id}/report", format="json")
        except TrustlabError as exc:
            return console.page(request, t(request, "report"), str(exc), 404)
        import json

        evidence = json.dumps(data["alert"]["evidence"], ensure_ascii=False, indent=2)
        return console.render(request, "alert.html", f"{t(request, 'report')} #{alert_id}",
                              r=data, evidence=evidence)  # fmt: skip

    @console.router.get("/alerts/{alert_id}/report.md")
    def download(request: Request, alert_id: int) -> Response:
        from hub.alerts import render

        console.user(request)
        data = console.api(request).get(f"/alerts/{alert_id}/report", format="json")
        name = f"violation-report-{alert_id}.md"
        return PlainTextResponse(
            render(data),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @console.router.post("/alerts/freezes/{freeze_id}/lift")
    async def lift(request: Request, freeze_id: int) -> Response:
        console.user(request)
        form = await console.form(request)
        api = console.api(request)

        def act() -> Response:
            try:
                api.post(f"/freezes/{freeze_id}/lift", {"reason": form.get("reason", "")})
            except TrustlabError as exc:
                return RedirectResponse(f"../../../alerts?error={quote(str(exc))}", 303)
            return RedirectResponse("../../../alerts?done=1", 303)

        return await run_in_threadpool(act)
