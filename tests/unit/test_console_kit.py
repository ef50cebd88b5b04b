"""The console frame's request-free parts: language negotiation, server-side paging and
sorting, once-only form tokens, per-feature message namespaces."""

from __future__ import annotations

import time

import pytest
from starlette.requests import Request

from hub.console_kit import OnceTokens, negotiate, paged


def request(query: str = "") -> Request:
    return Request({"type": "http", "method": "GET", "path": "/x", "headers": [],
                    "query_string": query.encode()})  # fmt: skip


@pytest.mark.parametrize(("header", "want"), [
    (None, "en"), ("", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW", "zh-CN"),
    ("en-GB,zh;q=0.5", "en"), ("fr-FR,de;q=0.8", "en"), ("de, zh;q=0.3, en;q=0.2", "zh-CN"),
    ("en;q=0.1, zh-Hans;q=0.9", "zh-CN"), ("zh;q=bogus, en", "en"),
])  # fmt: skip
def test_accept_language(header: str | None, want: str) -> None:
    assert negotiate(header) == want


ROWS = [{"name": f"d{i:02d}", "rows": (i * 37) % 11, "owner": None if i % 4 else "x"}
        for i in range(53)]  # fmt: skip


def test_paging_and_sorting() -> None:
    first = paged(request(), ROWS, "name", "", 25)
    assert [r["name"] for r in first["rows"]][:2] == ["d00", "d01"] and first["pages"] == 3
    assert first["prev"] is None and "page=2" in first["next"]
    last = paged(request("page=3"), ROWS, "name", "", 25)
    assert [r["name"] for r in last["rows"]] == ["d50", "d51", "d52"] and last["next"] is None
    down = paged(request("sort=-rows"), ROWS, "name", "", 100)
    values = [r["rows"] for r in down["rows"]]
    assert values == sorted(values, reverse=True)
    assert down["th"]("rows") == {"href": "?sort=rows&page=1", "aria": "descending"}
    # None sorts last either way; unknown columns and bad pages fall back, never fail.
    assert paged(request("sort=owner"), ROWS, "name", "", 100)["rows"][-1]["owner"] is None
    assert paged(request("sort=nope&page=x"), ROWS, "name", "", 25)["page"] == 1
    assert paged(request("page=99"), ROWS, "name", "", 25)["page"] == 3
    # Two tables on one page keep apart by prefix; flash parameters are not carried on.
    two = paged(request("usort=-name&ppage=2&done=1"), ROWS, "name", "u", 25)
    assert two["rows"][0]["name"] == "d52" and "done" not in two["next"]
    assert "ppage=2" in two["next"]


def test_once_tokens_work_once_and_only_when_issued_here() -> None:
    tokens = OnceTokens(b"k" * 32)
    token = tokens.issue()
    assert tokens.use(token) and not tokens.use(token)
    assert not OnceTokens(b"j" * 32).use(tokens.issue())  # another console's key
    assert not tokens.use("123.abc.def") and not tokens.use("garbage")
    old = OnceTokens(b"k" * 32)
    stamp = int(time.time()) - OnceTokens.TTL - 5
    import hashlib
    import hmac

    value = f"{stamp}.0011223344556677"
    mac = hmac.new(b"k" * 32, value.encode(), hashlib.sha256).hexdigest()[:16]
    assert not old.use(f"{value}.{mac}")  # expired


def test_feature_messages_do_not_shadow_each_other(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hub.console import Console
    from hub.platform import Platform
    from hub.settings import Settings

    console = Console(Platform(Settings(home=tmp_path)), b"s" * 32)
    a, b = console.feature("a"), console.feature("b")
    a.messages({"en": {"state": "State of the contract"}, "zh-CN": {"state": "合约状态"}})
    b.messages({"en": {"state": "Run state"}})
    req = request()
    assert a.t(req, "state") == "State of the contract" and b.t(req, "state") == "Run state"
    assert a.t(req, "home") == "Home"  # the frame's words are everyone's fallback
    assert console.feature("c").t(req, "state") == "state"  # unknown: the key itself
