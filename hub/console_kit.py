"""The console's frame parts that hold no state of a request: base messages, the CSP,
Accept-Language negotiation, server-side table paging and sorting, once-only form tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

BASE_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "trustlab console",
        "signed_in_as": "Signed in as",
        "roles": "roles",
        "home": "Home",
        "skip": "Skip to the content",
        "forbidden": "You do not hold the role this needs.",
        "language": "中文",
        "error_400": "This request cannot be done",
        "error_403": "Not allowed",
        "error_404": "Not found",
        "error_409": "Not possible now",
        "error_500": "Something went wrong",
        "error_503": "The platform API is not reachable",
        "not_found": "There is nothing here, or it is not yours to see.",
        "api_down": "The console could not reach the platform API; nothing was changed. "
        "Try again in a minute; if it persists, an operator checks `trustlab hub status`.",
        "server_error": "The console failed on this page; nothing was changed. The error is "
        "in the console's log (reference {ref}).",
        "resubmitted": "This form was already sent once; it was not sent again. The page "
        "shows what happened.",
        "stale_form": "It changed while you were looking at it: {what}. Nothing was done; "
        "look again and decide anew.",
        "back": "Back",
        "filter": "Filter",
        "go_home": "To the home page",
        "previous": "Previous",
        "next": "Next",
        "page_of": "page {page} of {pages} ({total} in all)",
        "nothing": "None.",
        "flash_done": "Done.",
    },
    "zh-CN": {
        "title": "trustlab 控制台",
        "signed_in_as": "当前用户",
        "roles": "角色",
        "home": "首页",
        "skip": "跳到正文",
        "forbidden": "您没有执行此操作所需的角色。",
        "language": "English",
        "error_400": "无法完成此请求",
        "error_403": "无权访问",
        "error_404": "未找到",
        "error_409": "当前无法操作",
        "error_500": "出错了",
        "error_503": "无法连接平台 API",
        "not_found": "此处没有内容，或您无权查看。",
        "api_down": "控制台无法连接平台 API，未做任何更改。请稍后重试；若持续出现，"
        "请运维人员检查 "
        "`trustlab hub status`。",
        "server_error": "控制台处理此页面时出错，未做任何更改。"
        "错误已记入控制台日志（编号 {ref}）。",
        "resubmitted": "此表单已提交过一次，本次未重复提交。页面显示了处理结果。",
        "stale_form": "在您查看期间内容已变化：{what}。未做任何操作；请重新查看后再决定。",
        "back": "返回",
        "filter": "筛选",
        "go_home": "回到首页",
        "previous": "上一页",
        "next": "下一页",
        "page_of": "第 {page} / {pages} 页（共 {total} 条）",
        "nothing": "无。",
        "flash_done": "已完成。",
    },
}
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip


ERRORS = (400, 403, 404, 409, 500, 503)


def negotiate(header: str | None) -> str:
    """The first language of an Accept-Language header the console speaks (q-ordered)."""
    best: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        tag = tag.strip().lower()
        if tag.startswith("zh"):
            best.append((weight, -i, "zh-CN"))
        elif tag.startswith("en") or tag == "*":
            best.append((weight, -i, "en"))
    return max(best)[2] if best else "en"


def paged(
    request: Request, rows: list[dict[str, Any]], default: str, name: str, per_page: int
) -> dict[str, Any]:
    sort = request.query_params.get(f"{name}sort") or default
    column = sort.lstrip("-")
    if rows and column not in rows[0]:
        sort, column = default, default.lstrip("-")

    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row.get(column)
        if value is None:
            return (1, "")
        return (0, value if isinstance(value, int | float) else str(value).lower())

    ordered = sorted(rows, key=key, reverse=sort.startswith("-"))
    pages = max(1, -(-len(ordered) // per_page))
    try:
        page = min(max(1, int(request.query_params.get(f"{name}page") or 1)), pages)
    except ValueError:
        page = 1

    def link(**changes: Any) -> str:
        query = dict(request.query_params)
        for k, v in changes.items():
            query[f"{name}{k}"] = str(v)
        query.pop("done", None)
        query.pop("error", None)
        return "?" + urlencode(query)

    def th(col: str) -> dict[str, str]:
        now = "descending" if sort == f"-{col}" else "ascending" if sort == col else "none"
        return {"href": link(sort=f"-{col}" if sort == col else col, page=1), "aria": now}

    return {
        "rows": ordered[(page - 1) * per_page : page * per_page],
        "page": page, "pages": pages, "total": len(ordered), "th": th,
        "prev": link(page=page - 1) if page > 1 else None,
        "next": link(page=page + 1) if page < pages else None,
    }  # fmt: skip


class OnceTokens:
    """Form tokens that work once: a second submission of the same form is refused. Kept
    in memory (one console process; a restart forgets them, and the API's own state checks
    still refuse a decision made twice)."""

    TTL = 12 * 3600

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.used: dict[str, float] = {}

    def issue(self) -> str:
        value = f"{int(time.time())}.{secrets.token_hex(8)}"
        mac = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()[:16]
        return f"{value}.{mac}"

    def use(self, token: str) -> bool:
        stamp, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        good = hmac.new(self.secret, f"{stamp}.{nonce}".encode(), hashlib.sha256).hexdigest()
        if not stamp.isdigit() or not hmac.compare_digest(mac, good[:16]):
            return False
        now = time.time()
        if now - int(stamp) > self.TTL or token in self.used:
            return False
        self.used = {k: v for k, v in self.used.items() if now - v < self.TTL}
        self.used[token] = now
        return True


class Resubmitted(Exception):
    pass


class Changed(Exception):
    pass
