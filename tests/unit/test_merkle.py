"""RFC 6962 / RFC 9162 Merkle trees (hub.merkle).

Known answers come from Certificate Transparency's reference Go implementation,
github.com/transparency-dev/merkle (the code Trillian and CT logs use):

* testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1): LeafInputs,
  NodeHashes (every complete subtree of the 8-leaf tree), RootHashes (sizes 0..8);
* proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472): inclusionProofs
  (1-based leaf numbers there, 0-based indices here) and consistencyProofs.

Everything else is checked against a direct, recursive transcription of the RFC 6962 §2.1
definitions below, which shares no code with hub.merkle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from hub import merkle
from hub.errors import ConfigError
from hub.hashing import digest
from hub.merkle import (
    consistency_proof,
    empty_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

SHA = "sha256"


def h(hexstr: str) -> bytes:
    return bytes.fromhex(hexstr)


# --- vectors: transparency-dev/merkle testonly/constants.go --------------------------------

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]

# NodeHashes(): [level][index] hashes of every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [
        h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
    ],
]

# RootHashes(): root of the tree over LEAVES[:size], indexed by size 0..8.
ROOT_HASHES = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]

# --- vectors: transparency-dev/merkle proof/verify_test.go ---------------------------------

# (0-based index, tree size, audit path); the Go file numbers leaves from 1.
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        3,
        [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")],
    ),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]

# (first size, second size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]


# --- reference: RFC 6962 §2.1 definitions, transcribed recursively -------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(alg: str, d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return digest(alg, b"")
    if n == 1:
        return digest(alg, b"\x00" + d[0])
    k = _k(n)
    return digest(alg, b"\x01" + ref_mth(alg, d[:k]) + ref_mth(alg, d[k:]))


def ref_path(alg: str, m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(alg, m, d[:k]), ref_mth(alg, d[k:])]
    return [*ref_path(alg, m - k, d[k:]), ref_mth(alg, d[:k])]


def ref_subproof(alg: str, m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(alg, d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(alg, m, d[:k], b), ref_mth(alg, d[k:])]
    return [*ref_subproof(alg, m - k, d[k:], False), ref_mth(alg, d[:k])]


def make_leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [salt + b"entry-%d" % i for i in range(n)]


# --- known answers -------------------------------------------------------------------------


def test_reference_implementation_agrees_with_the_published_roots() -> None:
    # Guards the reference used by the property tests below.
    for size, want in enumerate(ROOT_HASHES):
        assert ref_mth(SHA, LEAVES[:size]) == want


def test_leaf_and_node_hashes_match_ct_vectors() -> None:
    assert [leaf_hash(SHA, leaf) for leaf in LEAVES] == NODE_HASHES[0]
    for level in range(1, len(NODE_HASHES)):
        below = NODE_HASHES[level - 1]
        for i, want in enumerate(NODE_HASHES[level]):
            assert node_hash(SHA, below[2 * i], below[2 * i + 1]) == want


def test_hash_prefixes_are_rfc6962s() -> None:
    assert leaf_hash(SHA, b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(SHA, b"L" * 32, b"R" * 32)
        == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )


@pytest.mark.parametrize("size", range(len(ROOT_HASHES)))
def test_root_matches_ct_vectors(size: int) -> None:
    assert root(SHA, LEAVES[:size]) == ROOT_HASHES[size]


def test_empty_root_is_hash_of_empty_string() -> None:
    assert root(SHA, []) == empty_root(SHA) == hashlib.sha256(b"").digest()
    assert root("sm3", []) == empty_root("sm3") == digest("sm3", b"")


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proof_matches_ct_vectors(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(SHA, LEAVES[:size], index) == path
    assert verify_inclusion(SHA, LEAVES[index], index, size, path, ROOT_HASHES[size])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proof_matches_ct_vectors(first: int, second: int, proof: list[bytes]) -> None:
    assert consistency_proof(SHA, LEAVES[:second], first) == proof
    assert verify_consistency(SHA, first, second, proof, ROOT_HASHES[first], ROOT_HASHES[second])


# --- properties ----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha256", "sm3"])
def test_every_proof_in_every_small_tree_verifies(algorithm: str) -> None:
    for n in range(1, 41):
        leaves = make_leaves(n)
        top = root(algorithm, leaves)
        assert top == ref_mth(algorithm, leaves), n
        for i in range(n):
            path = inclusion_proof(algorithm, leaves, i)
            assert path == ref_path(algorithm, i, leaves), (n, i)
            assert verify_inclusion(algorithm, leaves[i], i, n, path, top), (n, i)
            if n > 1:
                j = (i + 1) % n
                assert not verify_inclusion(algorithm, leaves[i], j, n, path, top), (n, i)
                assert not verify_inclusion(algorithm, leaves[j], i, n, path, top), (n, i)


@pytest.mark.parametrize("algorithm", ["sha256", "sm3"])
def test_every_consistency_proof_in_small_trees_verifies(algorithm: str) -> None:
    for n in range(1, 25):
        leaves = make_leaves(n)
        roots = [root(algorithm, leaves[:m]) for m in range(n + 1)]
        for m in range(n + 1):
            proof = consistency_proof(algorithm, leaves, m)
            want = [] if m in (0, n) else ref_subproof(algorithm, m, leaves, True)
            assert proof == want, (m, n)
            assert verify_consistency(algorithm, m, n, proof, roots[m], roots[n]), (m, n)
            if 0 < m < n:
                assert not verify_consistency(algorithm, m, n, proof, roots[m - 1], roots[n])
                assert not verify_consistency(algorithm, m, n, proof, roots[m], roots[n - 1])
                assert not verify_consistency(algorithm, m, n, proof[:-1], roots[m], roots[n])
                assert not verify_consistency(
                    algorithm, m, n, [*proof, roots[n]], roots[m], roots[n]
                )


def test_sm3_trees_are_sm3_and_differ_from_sha256() -> None:
    assert leaf_hash("sm3", b"x") == digest("sm3", b"\x00x")
    assert node_hash("sm3", b"a" * 32, b"b" * 32) == digest("sm3", b"\x01" + b"a" * 32 + b"b" * 32)
    leaves = make_leaves(11)
    sm3_root, sha_root = root("sm3", leaves), root(SHA, leaves)
    assert len(sm3_root) == 32
    assert sm3_root != sha_root
    path = inclusion_proof("sm3", leaves, 4)
    assert verify_inclusion("sm3", leaves[4], 4, 11, path, sm3_root)
    assert not verify_inclusion(SHA, leaves[4], 4, 11, path, sm3_root)
    assert not verify_inclusion(SHA, leaves[4], 4, 11, path, sha_root)


def test_large_tree_is_linear_and_not_recursive(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 100_000
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    calls = 0
    real = merkle.hasher

    def counting(algorithm: str) -> Callable[[], Any]:
        new = real(algorithm)

        def make() -> Any:
            nonlocal calls
            calls += 1
            return new()

        return make

    monkeypatch.setattr(merkle, "hasher", counting)
    top = root(SHA, leaves)
    assert calls == 2 * n - 1  # every leaf hashed once, every interior node once
    monkeypatch.undo()

    # The last leaf sits in the ragged right part; its path ends with the complete left
    # subtree of 2^16 leaves.
    path = inclusion_proof(SHA, leaves, n - 1)
    # Right part: 100_000 - 65_536 = 34_464 = 32_768 + 1_024 + 512 + 128 + 32, so the path
    # is 5 siblings inside the last 32-leaf subtree, 4 for the larger right-part subtrees
    # and the 2^16-leaf left subtree.
    assert len(path) == 10
    assert path[-1] == root(SHA, leaves[:65_536])
    assert verify_inclusion(SHA, leaves[-1], n - 1, n, path, top)
    assert not verify_inclusion(SHA, leaves[-2], n - 2, n, path, top)


# --- adversarial inputs: verify_inclusion --------------------------------------------------

N, IDX = 13, 6
TREE = make_leaves(N)
TOP = root(SHA, TREE)
PATH = inclusion_proof(SHA, TREE, IDX)
LEAF = TREE[IDX]
JUNK = b"\xab" * 32


def flip(b: bytes, bit: int = 0) -> bytes:
    return bytes([b[0] ^ (1 << bit), *b[1:]])


def test_adversarial_fixture_is_valid() -> None:
    # Every case below is a single change to this valid proof.
    assert len(PATH) == 4
    assert verify_inclusion(SHA, LEAF, IDX, N, PATH, TOP)
    assert verify_inclusion(SHA, bytearray(LEAF), IDX, N, tuple(PATH), bytearray(TOP))


BAD_INCLUSION = {
    "tampered leaf": (flip(LEAF) if LEAF else b"x", IDX, N, PATH, TOP),
    "other leaf": (TREE[IDX + 1], IDX, N, PATH, TOP),
    "leaf hash instead of leaf": (leaf_hash(SHA, LEAF), IDX, N, PATH, TOP),
    **{
        f"tampered proof[{k}]": (LEAF, IDX, N, [*PATH[:k], flip(PATH[k], 3), *PATH[k + 1 :]], TOP)
        for k in range(len(PATH))
    },
    "truncated proof": (LEAF, IDX, N, PATH[:-1], TOP),
    "proof missing first": (LEAF, IDX, N, PATH[1:], TOP),
    "extended proof (junk)": (LEAF, IDX, N, [*PATH, JUNK], TOP),
    "extended proof (root)": (LEAF, IDX, N, [*PATH, TOP], TOP),
    "prepended junk": (LEAF, IDX, N, [JUNK, *PATH], TOP),
    "inserted component": (LEAF, IDX, N, [PATH[0], JUNK, *PATH[1:]], TOP),
    "swapped first two": (LEAF, IDX, N, [PATH[1], PATH[0], *PATH[2:]], TOP),
    "reversed proof": (LEAF, IDX, N, PATH[::-1], TOP),
    "empty proof": (LEAF, IDX, N, [], TOP),
    "index - 1": (LEAF, IDX - 1, N, PATH, TOP),
    "index + 1": (LEAF, IDX + 1, N, PATH, TOP),
    "index ^ 2": (LEAF, IDX ^ 2, N, PATH, TOP),
    "size * 2": (LEAF, IDX, N * 2, PATH, TOP),
    "size // 2": (LEAF, IDX, N // 2, PATH, TOP),
    "size = index": (LEAF, IDX, IDX, PATH, TOP),
    "index = size": (LEAF, N, N, PATH, TOP),
    "index > size": (LEAF, N + 5, N, PATH, TOP),
    "size 0": (LEAF, 0, 0, [], TOP),
    "negative index": (LEAF, -1, N, PATH, TOP),
    "negative size": (LEAF, IDX, -N, PATH, TOP),
    "bool index": (TREE[1], True, N, inclusion_proof(SHA, TREE, 1), TOP),
    "float index": (LEAF, float(IDX), N, PATH, TOP),
    "str size": (LEAF, IDX, str(N), PATH, TOP),
    "wrong root": (LEAF, IDX, N, PATH, flip(TOP)),
    "root of a smaller tree": (LEAF, IDX, N, PATH, root(SHA, TREE[:-1])),
    "empty-tree root": (LEAF, IDX, N, PATH, empty_root(SHA)),
    "short root": (LEAF, IDX, N, PATH, TOP[:-1]),
    "long root": (LEAF, IDX, N, PATH, TOP + b"\x00"),
    "str root": (LEAF, IDX, N, PATH, TOP.hex()),
    "None root": (LEAF, IDX, N, PATH, None),
    "short element": (LEAF, IDX, N, [PATH[0][:31], *PATH[1:]], TOP),
    "long element": (LEAF, IDX, N, [*PATH[:-1], PATH[-1] + b"\x00"], TOP),
    "empty element": (LEAF, IDX, N, [*PATH, b""], TOP),
    "element split in two": (LEAF, IDX, N, [PATH[0][:16], PATH[0][16:], *PATH[1:]], TOP),
    "hex element": (LEAF, IDX, N, [PATH[0].hex(), *PATH[1:]], TOP),
    "None element": (LEAF, IDX, N, [*PATH, None], TOP),
    "int element": (LEAF, IDX, N, [*PATH[:-1], 0], TOP),
    "proof as bytes": (LEAF, IDX, N, b"".join(PATH), TOP),
    "proof as str": (LEAF, IDX, N, "".join(p.hex() for p in PATH), TOP),
    "proof None": (LEAF, IDX, N, None, TOP),
    "proof int": (LEAF, IDX, N, 4, TOP),
    "leaf None": (None, IDX, N, PATH, TOP),
    "leaf str": (LEAF.decode(), IDX, N, PATH, TOP),
}


@pytest.mark.parametrize("case", BAD_INCLUSION)
def test_inclusion_rejects(case: str) -> None:
    leaf, index, size, path, top = BAD_INCLUSION[case]
    assert verify_inclusion(SHA, leaf, index, size, path, top) is False


def test_one_leaf_tree() -> None:
    only = [b"only"]
    top = root(SHA, only)
    assert top == leaf_hash(SHA, b"only")
    assert inclusion_proof(SHA, only, 0) == []
    assert verify_inclusion(SHA, b"only", 0, 1, [], top)
    assert not verify_inclusion(SHA, b"only", 0, 1, [top], top)
    assert not verify_inclusion(SHA, b"other", 0, 1, [], top)
    assert not verify_inclusion(SHA, b"only", 1, 1, [], top)


def test_interior_node_cannot_pose_as_a_leaf() -> None:
    # Second-preimage attempt: present the two child hashes of an interior node as leaf data.
    leaves = make_leaves(4)
    top = root(SHA, leaves)
    fake = leaf_hash(SHA, leaves[0]) + leaf_hash(SHA, leaves[1])
    right = node_hash(SHA, leaf_hash(SHA, leaves[2]), leaf_hash(SHA, leaves[3]))
    assert node_hash(SHA, fake[:32], fake[32:]) == inclusion_proof(SHA, leaves, 2)[1]
    assert not verify_inclusion(SHA, fake, 0, 2, [right], top)
    assert root(SHA, [fake, b""]) != top


def test_builders_reject_bad_arguments() -> None:
    for index in (-1, 3, 100):
        with pytest.raises(ValueError):
            inclusion_proof(SHA, make_leaves(3), index)
    with pytest.raises(ValueError):
        inclusion_proof(SHA, [], 0)
    with pytest.raises(TypeError):
        inclusion_proof(SHA, make_leaves(3), True)
    with pytest.raises(ValueError):
        consistency_proof(SHA, make_leaves(3), 4)
    with pytest.raises(ValueError):
        consistency_proof(SHA, make_leaves(3), -1)


def test_unknown_algorithm_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        root("md5", [b"a"])
    with pytest.raises(ConfigError):
        verify_inclusion("md5", b"a", 0, 1, [], b"\x00" * 32)


# --- adversarial inputs: verify_consistency ------------------------------------------------

M = 6
R6, R13 = root(SHA, TREE[:M]), TOP
CPROOF = consistency_proof(SHA, TREE, M)


def test_consistency_fixture_is_valid() -> None:
    assert len(CPROOF) > 2
    assert verify_consistency(SHA, M, N, CPROOF, R6, R13)


BAD_CONSISTENCY = {
    "first - 1": (M - 1, N, CPROOF, R6, R13),
    "first + 1": (M + 1, N, CPROOF, R6, R13),
    "second * 2": (M, N * 2, CPROOF, R6, R13),
    "second // 2": (M, N // 2, CPROOF, R6, R13),
    "first > second": (N, M, CPROOF, R13, R6),
    "negative first": (-M, N, CPROOF, R6, R13),
    "bool first": (True, N, consistency_proof(SHA, TREE, 1), root(SHA, TREE[:1]), R13),
    "swapped roots": (M, N, CPROOF, R13, R6),
    "wrong first root": (M, N, CPROOF, flip(R6), R13),
    "wrong second root": (M, N, CPROOF, R6, flip(R13)),
    "short root": (M, N, CPROOF, R6[:-1], R13),
    "empty proof": (M, N, [], R6, R13),
    "truncated proof": (M, N, CPROOF[:-1], R6, R13),
    "extended proof": (M, N, [*CPROOF, JUNK], R6, R13),
    "prepended proof[0]": (M, N, [CPROOF[0], *CPROOF], R6, R13),
    "reversed proof": (M, N, CPROOF[::-1], R6, R13),
    "tampered proof[0]": (M, N, [flip(CPROOF[0], 4), *CPROOF[1:]], R6, R13),
    "tampered last": (M, N, [*CPROOF[:-1], flip(CPROOF[-1], 4)], R6, R13),
    "short element": (M, N, [CPROOF[0][:-1], *CPROOF[1:]], R6, R13),
    "None element": (M, N, [*CPROOF, None], R6, R13),
    "proof as bytes": (M, N, b"".join(CPROOF), R6, R13),
    "same size, different roots": (N, N, [], R6, R13),
    "same size, non-empty proof": (N, N, [JUNK], R13, R13),
    "from empty, non-empty proof": (0, N, [JUNK], empty_root(SHA), R13),
    "from empty, wrong first root": (0, N, [], R6, R13),
}


@pytest.mark.parametrize("case", BAD_CONSISTENCY)
def test_consistency_rejects(case: str) -> None:
    first, second, proof, r1, r2 = BAD_CONSISTENCY[case]
    assert verify_consistency(SHA, first, second, proof, r1, r2) is False


def test_consistency_trivial_cases() -> None:
    assert verify_consistency(SHA, N, N, [], R13, R13)
    assert verify_consistency(SHA, 0, N, [], empty_root(SHA), R13)
    assert verify_consistency(SHA, 0, 0, [], empty_root(SHA), empty_root(SHA))
    assert not verify_consistency(SHA, 0, 0, [], JUNK, JUNK)
