"""Console pages: production runs (生产运行) — task states, durations, tries, the log tail,
validation, the product versions published, and a link to the run in Airflow's own UI.
Readers: operators, auditors, admins and provider reviewers (the API decides)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

READERS = ("operator", "auditor", "admin", "provider")
BAD = ("failed", "refused", "quarantined")
MESSAGES = {
    "en": {
        "runs": "Runs", "run": "Run", "pipeline": "Pipeline", "state": "State",
        "started": "Started", "ended": "Ended", "error": "Error", "tasks": "Tasks",
        "task": "Task", "try": "Try", "duration": "Duration (s)", "queued": "Queued (s)",
        "log_tail": "Log tail ({task})", "validation": "Validation", "outputs": "Published",
        "product": "Product", "version": "Version", "rows": "Rows", "inputs": "Inputs",
        "airflow": "Open in Airflow", "no_runs": "No production runs yet.",
        "code_version": "Code version", "wait_runs": "production runs that failed or were "
        "refused", "bad_only": "only failed or refused", "airflow_error": "Airflow did not "
        "answer: {error}",
    },
    "zh-CN": {
        "runs": "生产运行", "run": "运行", "pipeline": "流水线", "state": "状态",
        "started": "开始", "ended": "结束", "error": "错误", "tasks": "任务",
        "task": "任务", "try": "尝试次数", "duration": "耗时（秒）", "queued": "排队（秒）",
        "log_tail": "日志末尾（{task}）", "validation": "数据校验", "outputs": "已发布",
        "product": "数据产品", "version": "版本", "rows": "行数", "inputs": "输入",
        "airflow": "在 Airflow 中查看", "no_runs": "暂无生产运行。",
        "code_version": "代码版本", "wait_runs": "失败或被拒绝的生产运行",
        "bad_only": "仅失败或被拒绝", "airflow_error": "Airflow 未响应：{error}",
    },
}  # fmt: skip


def failed_runs(request: Request, api: Any, me: dict[str, Any]) -> list[dict[str, Any]]:
    if not {r.split(":", 1)[0] for r in me["roles"]} & set(READERS):
        return []
    bad = [r for r in api.get("/runs") if r["state"] in BAD]
    return [{"key": "wait_runs", "count": len(bad), "href": "runs?bad=1",
             "newest": max((r["started_at"] or "" for r in bad), default=None)}]  # fmt: skip


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("runs", "runs", roles=READERS, order=40)
    console.add_waits(failed_runs)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t
    airflow = console.platform.settings.airflow_base_url

    @console.router.get("/runs")
    def runs(request: Request) -> HTMLResponse:
        q = request.query_params
        rows = console.api(request).get("/runs", **({"name": q["name"]} if q.get("name") else {}))
        if q.get("bad"):
            rows = [r for r in rows if r["state"] in BAD]
        return console.render(request, "runs.html", t(request, "runs"),
                              tbl=console.table(request, rows, "-run"), bad=BAD)  # fmt: skip

    @console.router.get("/runs/{ref}")
    def run(request: Request, ref: str) -> HTMLResponse:
        info = console.one(request, f"/runs/{quote(ref, safe='')}")
        link = None
        if info.get("dag_id") and info.get("airflow_run_id"):
            link = (f"{airflow}/dags/{quote(info['dag_id'], safe='')}/runs/"
                    f"{quote(info['airflow_run_id'], safe='')}")  # fmt: skip
        validation = (json.dumps(info["validation"], ensure_ascii=False, indent=1)
                      if info.get("validation") else "")  # fmt: skip
        return console.render(request, "run.html", f"{t(request, 'run')} {info['run']}",
                              r=info, airflow=link, validation=validation, bad=BAD)  # fmt: skip
