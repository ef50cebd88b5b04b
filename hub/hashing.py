"""Hash algorithms for content versions and the ledger: SHA-256 (default) or SM3 (GB/T 32905)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from hub.errors import ConfigError

HASH_ALGORITHMS = ("sha256", "sm3")


def _sm3_factory() -> Callable[[], Any]:
    try:
        hashlib.new("sm3")
        return lambda: hashlib.new("sm3")
    except ValueError:
        # OpenSSL built without SM3: fall back to the cryptography package's implementation.
        from cryptography.hazmat.primitives import hashes

        class _Sm3:
            def __init__(self) -> None:
                self._h = hashes.Hash(hashes.SM3())

            def update(self, data: bytes) -> None:
                self._h.update(data)

            def digest(self) -> bytes:
                return self._h.finalize()

        return _Sm3


def hasher(algorithm: str) -> Callable[[], Any]:
    """Return a factory of incremental hash objects (``update``/``digest``) for ``algorithm``."""
    if algorithm == "sha256":
        return hashlib.sha256
    if algorithm == "sm3":
        return _sm3_factory()
    raise ConfigError(
        f"unknown hash algorithm {algorithm!r}; set TRUSTLAB_HASH_ALGORITHM to one of "
        f"{', '.join(HASH_ALGORITHMS)}"
    )


def digest(algorithm: str, data: bytes) -> bytes:
    h = hasher(algorithm)()
    h.update(data)
    return h.digest()


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON encoding used wherever bytes are hashed or signed."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
