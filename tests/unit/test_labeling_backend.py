"""The suggestions service's pieces: the SSRF list with its one hole, and the gazetteer."""

from __future__ import annotations

import ipaddress

import pytest

from hub.errors import TrustlabError
from labeling.backend import gazetteer, suggest_spans
from labeling.ssrf import RESERVED, banned_except


def _covered(ip: str, nets: list[str]) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(n) for n in nets)


@pytest.mark.parametrize("host", ["127.0.0.77", "127.0.0.1", "127.255.255.254"])
def test_only_the_backend_address_is_carved_out(host: str) -> None:
    nets = banned_except(host)
    assert not _covered(host, nets)
    hole = int(ipaddress.IPv4Address(host))
    for ip in ("127.0.0.1", "127.0.0.76", "127.0.0.78", "127.1.2.3", "10.0.0.1",
               "192.168.1.1", "169.254.169.254", "::1", "::ffff:127.0.0.77", "fd00::1"):  # fmt: skip
        if ip != host:
            assert _covered(ip, nets), ip
    # Together the carved networks cover exactly 127.0.0.0/8 less one address.
    loop = [ipaddress.ip_network(n) for n in nets if ipaddress.ip_network(n).version == 4
            and ipaddress.ip_network(n).subnet_of(ipaddress.ip_network("127.0.0.0/8"))]  # fmt: skip
    assert sum(n.num_addresses for n in loop) == 2**24 - 1
    assert all(hole not in range(int(n[0]), int(n[-1]) + 1) for n in loop)
    assert set(RESERVED) - {"127.0.0.0/8"} <= set(nets)


@pytest.mark.parametrize("host", ["10.0.0.5", "localhost", "::1", "8.8.8.8", ""])
def test_the_hole_must_be_a_loopback_ipv4_literal(host: str) -> None:
    with pytest.raises(TrustlabError, match="LABELING_ML_HOST"):
        banned_except(host)


def _span(text: str, part: str, label: str, at: int | None = None) -> dict:
    start = text.index(part) if at is None else at
    return {"value": {"start": start, "end": start + len(part), "text": part, "labels": [label]}}


def test_gazetteer_learns_the_majority_label_and_suggests_longest_first() -> None:
    finals = [
        ("北京市海淀区人民政府", [_span("北京市海淀区人民政府", "北京市", "LOC"),
                                 _span("北京市海淀区人民政府", "海淀区人民政府", "ORG")]),
        ("住在北京市", [_span("住在北京市", "北京市", "LOC")]),
        ("北京市出发", [_span("北京市出发", "北京市", "ORG")]),
        ("  ", [_span("  ", " ", "LOC", at=0)]),
    ]  # fmt: skip
    known = gazetteer(finals)
    assert known == {"北京市": "LOC", "海淀区人民政府": "ORG"}
    text = "海淀区人民政府在北京市，北京市很大"
    got = [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0])
           for r in suggest_spans(text, known)]  # fmt: skip
    assert got == [(0, 7, "ORG"), (8, 11, "LOC"), (12, 15, "LOC")]
    assert all(r["value"]["text"] == text[r["value"]["start"] : r["value"]["end"]]
               for r in suggest_spans(text, known))  # fmt: skip
    # Overlaps: the longer entity wins; the shorter one inside it is not suggested again.
    assert [
        r["value"]["text"] for r in suggest_spans("人民政府", {"人民政府": "ORG", "人民": "PER"})
    ] == ["人民政府"]
    assert suggest_spans("无关文本", known) == []
