"""Pure ledger hashing: the running Merkle root equals RFC 6962 MTH; entry hashes are canonical."""

from __future__ import annotations

import pytest

from hub import merkle
from hub.hashing import canonical_json
from hub.ledger import CompactRange, entry_body, entry_hash, genesis_hash


@pytest.mark.parametrize("algorithm", ["sha256", "sm3"])
def test_compact_range_matches_mth_for_every_prefix(algorithm: str) -> None:
    leaves = [bytes([i]) * 3 for i in range(70)]
    rng = CompactRange(algorithm)
    assert rng.root() == merkle.root(algorithm, [])
    for n, leaf in enumerate(leaves, start=1):
        rng.append(leaf)
        assert rng.root() == merkle.root(algorithm, leaves[:n]), n


def test_entry_hash_is_key_order_independent_and_unicode_stable() -> None:
    body = entry_body(1, "t", "a", "x", "s", {"b": 1, "a": "值"})
    same = entry_body(1, "t", "a", "x", "s", {"a": "值", "b": 1})
    g = genesis_hash("sha256")
    assert entry_hash("sha256", g, body) == entry_hash("sha256", g, same)
    assert canonical_json({"a": "值"}) == '{"a":"值"}'.encode()
    assert entry_hash("sha256", g, body) != entry_hash("sm3", genesis_hash("sm3"), body)


def test_entry_hash_binds_every_field() -> None:
    g = genesis_hash("sha256")
    base = entry_hash("sha256", g, entry_body(1, "t", "a", "x", "s", {}))
    variants = [
        entry_body(2, "t", "a", "x", "s", {}),
        entry_body(1, "u", "a", "x", "s", {}),
        entry_body(1, "t", "b", "x", "s", {}),
        entry_body(1, "t", "a", "y", "s", {}),
        entry_body(1, "t", "a", "x", "z", {}),
        entry_body(1, "t", "a", "x", "s", {"k": 1}),
    ]
    assert all(entry_hash("sha256", g, v) != base for v in variants)
    assert entry_hash("sha256", "11" * 32, entry_body(1, "t", "a", "x", "s", {})) != base


def test_compact_range_resumes_from_its_frontier() -> None:
    leaves = [bytes([i]) for i in range(37)]
    first = CompactRange("sha256")
    for leaf in leaves[:21]:
        first.append(leaf)
    resumed = CompactRange.resume("sha256", [list(x) for x in first.frontier])
    assert resumed.size == 21
    for leaf in leaves[21:]:
        resumed.append(leaf)
    assert resumed.root() == merkle.root("sha256", leaves)
