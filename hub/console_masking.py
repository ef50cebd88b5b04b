"""Console pages: a dataset's masking policy (脱敏策略) — the rule and parameters per column,
a live preview of a rule on the source's values (masked output only, computed by the
platform), changes by the owner's provider reviewers, and an operator's decision on a
version that changes an L4 column. The same approval rules as the CLI: the API applies
them."""

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
        "policy": "Masking policy", "column": "Column", "level": "Level", "pii": "PII type",
        "rule": "Rule", "params": "Parameters (JSON)", "justification": "Justification",
        "version": "Version {v}", "default": "Not written yet: the defaults its "
        "classification gives (the first change writes version 1).", "pending": "A change "
        "waits for an operator (version {v})", "approve": "Approve", "reject": "Reject",
        "reason": "Reason", "preview": "Preview", "save": "Save the change",
        "unset": "Remove the rule", "preview_of": "Preview of {rule} on {column} "
        "(masked values of the source)", "refused": "The masking floor refuses this rule:",
        "no_values": "The column has no values to show.", "change": "Change a column's "
        "rule", "rules_help": "Rules", "note": "What it does", "kinds": "Input types",
        "bad_params": "Parameters must be a JSON object, e.g. {\"keep\": 3}",
        "dataset": "Dataset",
    },
    "zh-CN": {
        "policy": "脱敏策略", "column": "字段", "level": "级别", "pii": "个人信息类型",
        "rule": "规则", "params": "参数（JSON）", "justification": "说明",
        "version": "第 {v} 版",
        "default": "尚未保存：按分类分级给出的默认规则（首次修改即生成第 1 版）。",
        "pending": "有一项修改待运营方审批（第 {v} 版）", "approve": "批准", "reject": "驳回",
        "reason": "理由", "preview": "预览", "save": "保存修改", "unset": "删除该规则",
        "preview_of": "{column} 使用 {rule} 的预览（源数据脱敏后的值）",
        "refused": "脱敏底线不允许此规则：", "no_values": "该字段没有可显示的值。",
        "change": "修改字段规则", "rules_help": "可用规则", "note": "说明", "kinds": "适用类型",
        "bad_params": "参数须为 JSON 对象，例如 {\"keep\": 3}", "dataset": "数据集",
    },
}  # fmt: skip


def fingerprint(policy: dict[str, Any]) -> str:
    pending = (policy.get("pending") or {}).get("version")
    return f"policy version {policy.get('version') or '-'}, pending {pending or '-'}"


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    def show(request: Request, name: str, preview: dict[str, Any] | None = None,
             form: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:  # fmt: skip
        api = console.api(request)
        info = console.one(request, f"/datasets/{quote(name, safe='')}")
        policy = api.get(f"/samples/{quote(name, safe='')}/policy")
        rules = api.get("/samples/rules")
        columns = [{**c, "spec": policy["rules"].get(c["name"]),
                    "params_text": json.dumps((policy["rules"].get(c["name"]) or {}).get(
                        "params", {}), ensure_ascii=False)} for c in info["columns"]]  # fmt: skip
        pending = policy.get("pending")
        changes = []
        if pending:
            for col, spec in pending["rules"].items():
                if spec != policy["rules"].get(col):
                    changes.append((col, policy["rules"].get(col), spec))
        return console.render(
            request, "policy.html", f"{t(request, 'policy')} · {name}", d=info, p=policy,
            columns=columns, rules=rules, changes=changes, preview=preview, form=form or {},
            owner=console.holds(request, "provider", org=info["owner"]),
            operator=console.holds(request, "operator"), seen=fingerprint(policy),
            status=status,
        )  # fmt: skip

    @console.router.get("/catalog/{name}/policy")
    def policy(request: Request, name: str) -> HTMLResponse:
        return show(request, name)

    @console.router.post("/catalog/{name}/policy")
    async def change(request: Request, name: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        base = f"/samples/{quote(name, safe='')}"
        column = form.get("column", "")

        def run() -> Response:
            try:
                params = json.loads(form.get("params") or "{}")
            except ValueError:
                params = None
            if not isinstance(params, dict):
                return RedirectResponse(f"policy?error={quote(t(request, 'bad_params'))}", 303)
            body = {"rule": form.get("rule", ""), "params": params,
                    "justification": form.get("justification") or None}  # fmt: skip
            if form.get("do") == "preview":
                try:
                    seen = api.post(f"{base}/preview", {**body, "column": column})
                except TrustlabError as exc:
                    seen = {"column": column, "rule": body["rule"], "refused": str(exc),
                            "values": []}  # fmt: skip
                return show(request, name, seen, form)
            console.unchanged(request, form, fingerprint(api.get(f"{base}/policy")))
            try:
                if form.get("do") == "unset":
                    api.delete(f"{base}/policy/{quote(column, safe='')}")
                else:
                    api.post(f"{base}/policy/{quote(column, safe='')}", body)
            except TrustlabError as exc:
                return RedirectResponse(f"policy?error={quote(str(exc))}", 303)
            return RedirectResponse("policy?done=1", 303)

        return await run_in_threadpool(run)

    @console.router.post("/catalog/{name}/policy-decision/{verdict}")
    async def decide(request: Request, name: str, verdict: str) -> Response:
        form = await console.form(request)
        api = console.api(request)
        base = f"/samples/{quote(name, safe='')}"
        if verdict not in ("approve", "reject"):
            return console.error(request, 404, t(request, "not_found"))

        return await console.act(
            request,
            lambda: api.post(f"{base}/policy-decision/{verdict}", {"reason": form.get("reason")}),
            "../policy", lambda: fingerprint(api.get(f"{base}/policy")), form,
        )  # fmt: skip
