"""RFC 6962 / RFC 9162 Merkle trees for the tamper-evident evidence ledger.

The tree hash is Certificate Transparency's, parametrised by the ledger's hash algorithm
(``"sha256"`` or ``"sm3"``, see :mod:`hub.hashing`):

* a leaf hashes as ``H(0x00 || leaf)`` and an interior node as ``H(0x01 || left || right)``, so
  a leaf can never be passed off as an interior node (second-preimage resistance);
* the tree over ``n`` leaves splits at the largest power of two smaller than ``n`` (RFC 6962
  §2.1); the empty tree's hash is ``H("")``.

Leaves are the raw entry bytes; the functions hash them. Indices are 0-based. Builders
(:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`) raise on bad arguments;
verifiers (:func:`verify_inclusion`, :func:`verify_consistency`) answer ``False`` for any
malformed proof, size, index or hash and never raise, except :class:`hub.errors.ConfigError`
for an unknown algorithm (a misconfiguration, not evidence of tampering).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any

from hub.hashing import hasher

__all__ = [
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "consistency_proof",
    "empty_root",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

_Factory = Callable[[], Any]


# --- hashing -------------------------------------------------------------------------------


def _leaf(new: _Factory, leaf: bytes) -> bytes:
    h = new()
    h.update(LEAF_PREFIX)
    h.update(leaf)
    return h.digest()


def _node(new: _Factory, left: bytes, right: bytes) -> bytes:
    h = new()
    h.update(NODE_PREFIX)
    h.update(left)
    h.update(right)
    return h.digest()


def leaf_hash(algorithm: str, leaf: bytes) -> bytes:
    """Return ``H(0x00 || leaf)``: the hash of one leaf (RFC 6962 §2.1)."""
    return _leaf(hasher(algorithm), leaf)


def node_hash(algorithm: str, left: bytes, right: bytes) -> bytes:
    """Return ``H(0x01 || left || right)``: the hash of an interior node (RFC 6962 §2.1)."""
    return _node(hasher(algorithm), left, right)


def empty_root(algorithm: str) -> bytes:
    """Return ``H("")``, the root of the tree with no leaves."""
    h = hasher(algorithm)()
    return h.digest()


# --- building ------------------------------------------------------------------------------


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _largest_pow2_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _reduce(new: _Factory, hashes: Sequence[bytes]) -> bytes:
    """MTH of a non-empty run of leaf hashes, bottom-up.

    Pairing neighbours level by level and carrying an unpaired last node up unchanged gives
    exactly RFC 6962's tree (its left subtrees are always complete). ``len(hashes) - 1``
    node hashes, no recursion.
    """
    level = list(hashes)
    while len(level) > 1:
        paired = [_node(new, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(algorithm: str, leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash MTH(D[n]) of ``leaves`` (RFC 6962 §2.1).

    ``H("")`` for no leaves. Each leaf is hashed once and each interior node once
    (``2n - 1`` hashes in all), iteratively, so large ledgers cost linear time and no
    recursion depth.
    """
    new = hasher(algorithm)
    if len(leaves) == 0:
        return new().digest()
    return _reduce(new, [_leaf(new, leaf) for leaf in leaves])


def inclusion_proof(algorithm: str, leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return the audit path PATH(index, D[n]) of RFC 6962 §2.1.1, leaf end first.

    The path holds the sibling hashes needed to recompute :func:`root` from leaf ``index``
    (0-based); it is empty for a one-leaf tree. Raises ``TypeError`` if ``index`` is not an
    int and ``ValueError`` unless ``0 <= index < len(leaves)``. Linear time.
    """
    _check_int("index", index)
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of {n} leaves")
    new = hasher(algorithm)
    level = [_leaf(new, leaf) for leaf in leaves]
    path: list[bytes] = []
    while len(level) > 1:
        sibling = index ^ 1
        # An unpaired last node has no sibling at this level: it moves up as it is.
        if sibling < len(level):
            path.append(level[sibling])
        paired = [_node(new, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
        index >>= 1
    return path


def consistency_proof(algorithm: str, leaves: Sequence[bytes], first_size: int) -> list[bytes]:
    """Return PROOF(first_size, D[n]) of RFC 6962 §2.1.2 (RFC 9162 §2.1.4.1).

    It shows that the tree over ``leaves[:first_size]`` is a prefix of the tree over all
    ``leaves``. Empty when ``first_size`` is 0 or ``len(leaves)`` (nothing to prove). Raises
    ``TypeError`` if ``first_size`` is not an int and ``ValueError`` unless
    ``0 <= first_size <= len(leaves)``. Linear time.
    """
    _check_int("first_size", first_size)
    n = len(leaves)
    if not 0 <= first_size <= n:
        raise ValueError(f"first size {first_size} is outside 0..{n}")
    if first_size in (0, n):
        return []
    new = hasher(algorithm)
    hashes = [_leaf(new, leaf) for leaf in leaves]
    # SUBPROOF(m, D[lo:hi], complete) unrolled: each step descends into one half and records
    # the other half's hash; RFC 6962 lists those records innermost first.
    m, lo, hi, complete = first_size, 0, n, True
    outer: list[bytes] = []
    while m != hi - lo:
        k = _largest_pow2_below(hi - lo)
        if m <= k:
            outer.append(_reduce(new, hashes[lo + k : hi]))
            hi = lo + k
        else:
            outer.append(_reduce(new, hashes[lo : lo + k]))
            m, lo, complete = m - k, lo + k, False
    proof = [] if complete else [_reduce(new, hashes[lo:hi])]
    proof.extend(reversed(outer))
    return proof


# --- verifying -----------------------------------------------------------------------------


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object, size: int) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == size


def _hash_list(proof: object, size: int) -> list[bytes] | None:
    """The proof as a list of ``size``-byte hashes, or None if it is not one."""
    if isinstance(proof, str | bytes | bytearray | memoryview):
        return None
    try:
        items = list(proof)  # type: ignore[call-overload]
    except TypeError:
        return None
    if not all(_is_hash(item, size) for item in items):
        return None
    return [bytes(item) for item in items]


def _same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(bytes(a), bytes(b))


def verify_inclusion(
    algorithm: str,
    leaf: bytes,
    index: int,
    tree_size: int,
    proof: Sequence[bytes],
    expected_root: bytes,
) -> bool:
    """Return whether ``proof`` shows ``leaf`` at ``index`` in the tree of ``tree_size`` leaves
    whose root is ``expected_root`` (RFC 9162 §2.1.3.2).

    ``leaf`` is the raw entry (it is hashed here). ``False``, never an exception, for any
    malformed input: non-int or negative index/size, ``index >= tree_size``, a proof that is
    not a sequence of digest-sized byte strings, a proof too short or too long for the
    position, or a root of the wrong size. Raises ``ConfigError`` only for an unknown
    algorithm.
    """
    new = hasher(algorithm)
    size = len(new().digest())
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not isinstance(leaf, bytes | bytearray) or not _is_hash(expected_root, size):
        return False
    path = _hash_list(proof, size)
    if path is None:
        return False

    fn, sn = index, tree_size - 1
    r = _leaf(new, leaf)
    for p in path:
        if sn == 0:  # proof longer than the path to the root
            return False
        if fn & 1 or fn == sn:
            r = _node(new, p, r)
            while not fn & 1 and fn != 0:  # skip levels where this node had no sibling
                fn >>= 1
                sn >>= 1
        else:
            r = _node(new, r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _same(r, expected_root)


def verify_consistency(
    algorithm: str,
    first_size: int,
    second_size: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
) -> bool:
    """Return whether ``proof`` shows that the tree of ``first_size`` leaves with root
    ``first_root`` is a prefix of the tree of ``second_size`` leaves with root
    ``second_root`` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and equal roots; a first size of 0 needs an empty proof
    and ``first_root`` equal to :func:`empty_root`. ``False``, never an exception, for any
    malformed input: non-int or negative sizes, ``first_size > second_size``, roots or proof
    elements of the wrong size or type, a proof too short or too long. Raises
    ``ConfigError`` only for an unknown algorithm.
    """
    new = hasher(algorithm)
    empty = new().digest()
    size = len(empty)
    if not (_is_size(first_size) and _is_size(second_size) and first_size <= second_size):
        return False
    if not (_is_hash(first_root, size) and _is_hash(second_root, size)):
        return False
    path = _hash_list(proof, size)
    if path is None:
        return False
    if first_size == 0:
        return (
            not path and _same(first_root, empty) and (second_size > 0 or _same(second_root, empty))
        )
    if first_size == second_size:
        return not path and _same(first_root, second_root)
    if not path:
        return False

    if first_size & (first_size - 1) == 0:  # a complete subtree: the proof omits its hash
        path.insert(0, bytes(first_root))
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:  # proof longer than the path to the root
            return False
        if fn & 1 or fn == sn:
            fr = _node(new, c, fr)
            sr = _node(new, c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(new, sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _same(fr, first_root) and _same(sr, second_root)
