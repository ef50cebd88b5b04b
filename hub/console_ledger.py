"""Console pages: the ledger (存证账本) for auditors, operators and admins — browse and filter
entries, verify the hash chain and the signed checkpoints from the page, download an
inclusion proof of one entry and the signing public key (for `trustlab audit check-proof`
or any RFC 6962 verifier, offline)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

READERS = ("auditor", "operator", "admin")
PAGE = 50
MESSAGES = {
    "en": {
        "ledger": "Ledger", "seq": "#", "time": "Time (UTC)", "actor": "Actor",
        "action": "Action", "subject": "Subject", "details": "Details", "since": "From",
        "until": "Before", "filter": "Filter", "verify": "Verify the ledger now",
        "proof": "proof", "pubkey": "Download the public key (PEM)", "older": "Older entries",
        "no_entries": "No entries match.", "verified": "The chain of {entries} entries and "
        "{checkpoints} signed checkpoints verifies; {covered} entries are covered by a "
        "checkpoint (newest {newest}).", "broken": "Verification FAILED at entry {seq}:",
        "evidence": "Evidence kept beside the ledger", "verification": "Verification",
    },
    "zh-CN": {
        "ledger": "存证账本", "seq": "序号", "time": "时间（UTC）", "actor": "操作人",
        "action": "操作", "subject": "对象", "details": "详情", "since": "起始",
        "until": "截止（不含）", "filter": "筛选", "verify": "立即校验账本",
        "proof": "存在性证明", "pubkey": "下载签名公钥（PEM）", "older": "更早的记录",
        "no_entries": "没有符合条件的记录。", "verified": "共 {entries} 条记录、{checkpoints} "
        "个签名检查点校验通过；{covered} 条记录已被检查点覆盖（最新 {newest}）。",
        "broken": "校验失败，首个异常记录 {seq}：", "evidence": "账本外存证",
        "verification": "校验结果",
    },
}  # fmt: skip
FILTERS = ("action", "subject", "actor", "since", "until")


def register(console: Any) -> None:
    console.messages(MESSAGES)
    console.add_nav("ledger", "ledger", roles=READERS, order=80)
    console.templates(Path(__file__).with_name("templates"))
    t = console.t

    @console.router.get("/ledger")
    def ledger(request: Request) -> HTMLResponse:
        q = request.query_params
        params: dict[str, Any] = {k: q[k] for k in FILTERS if q.get(k)}
        if q.get("before", "").isdigit():
            params["before"] = int(q["before"])
        rows = console.api(request).get("/audit/entries", limit=PAGE, **params)
        rows.reverse()  # newest first on the page
        for r in rows:
            r["details"] = json.dumps(r["payload"], ensure_ascii=False, sort_keys=True)
        older = None
        if len(rows) == PAGE:
            keep = {k: v for k, v in q.items() if k in FILTERS}
            older = "?" + urlencode({**keep, "before": rows[-1]["seq"]})
        report = None
        if q.get("verify"):
            report = console.api(request).get("/audit/verify")
        return console.render(request, "ledger.html", t(request, "ledger"), rows=rows,
                              older=older, report=report, filters=FILTERS)  # fmt: skip

    @console.router.get("/ledger/proof/{seq}.json")
    def proof(request: Request, seq: int) -> Response:
        data = console.api(request).get(f"/audit/proof/{seq}")
        return Response(json.dumps(data, indent=2), media_type="application/json",
                        headers={"Content-Disposition":
                                 f'attachment; filename="ledger-proof-{seq}.json"'})  # fmt: skip

    @console.router.get("/ledger/pubkey.pem")
    def pubkey(request: Request) -> Response:
        pem = console.api(request).get("/audit/pubkey")["pem"]
        return Response(pem, media_type="application/x-pem-file",
                        headers={"Content-Disposition":
                                 'attachment; filename="trustlab-ledger.pub.pem"'})  # fmt: skip
