"""One masker for free text: run the chosen detectors, merge their spans, star them.

``TextMasker`` is the single Python definition of free-text masking. The column rule
``free_text_redact`` calls ``mask`` on single values, and the sample builder runs the same
``mask`` on Arrow batches (a vectorized UDF). Detectors are named so a benchmark can leave
each one out and measure what it contributes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.textpii import names, patterns
from sandbox.textpii.known import KnownValues
from sandbox.textpii.spans import Span, apply

Detector = Callable[[str], list[Span]]

# Name-finding detectors, in the order they run; identifiers always run.
DETECTORS: dict[str, Detector] = {
    # Full-width forms folded to ASCII one character for one: offsets stay the same.
    "patterns": lambda t: patterns.identifier_spans(patterns.fold(t)) + patterns.address_spans(t),
    "ner": names.ner_spans,
    "context": lambda t: names.context_spans(t) + names.ethnic_spans(t) + names.role_spans(t),
}
ALL = ("patterns", "ner", "context", "known")
CACHE_SIZE = 65_536
MAX_PASSES = 3  # re-masking passes; in practice one at most


@dataclass
class TextMasker:
    """Masks PII in free text with the detectors in ``use`` (``known`` needs values)."""

    use: tuple[str, ...] = ALL
    known: KnownValues = field(default_factory=KnownValues)
    # Templated notes repeat: a per-masker cache, so it goes away with the masker (and its
    # automaton) instead of pinning them in a long-lived process.
    _cache: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        # Masking must be idempotent: stars from an earlier pass are never re-read as
        # context, and a detector never sees the characters an identifier took.
        for name in self.use:
            if name == "known":
                found += self.known.spans(text)
            else:
                found += DETECTORS[name](text)
        if "context" in self.use:
            found += names.list_neighbours(text, found)
        return found

    def mask(self, text: str | None) -> str | None:
        if text is None:
            return None
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        out = apply(text, self.spans(text))
        # Masking can expose a new match (a name's context changes once its neighbour is
        # starred): mask again until nothing changes, so masking a masked text is a no-op.
        for _ in range(MAX_PASSES):
            again = apply(out, self.spans(out))
            if again == out:
                break
            out = again
        if len(text) < 512:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = out
        return out


# Spark workers: one masker per shipped configuration, built on first use in each worker
# process and reused by every task and batch after it (Python workers are reused).
_WORKER_MASKERS: dict[str, TextMasker] = {}


@dataclass(frozen=True)
class ShippedMask:
    """A picklable ``mask`` for Spark: the known values travel as one broadcast variable
    (sent once to each worker, not inside every task), the masker is built once per
    worker process."""

    use: tuple[str, ...]
    known: Any = None  # a pyspark Broadcast of KnownValues, or None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)  # one per shipment

    def __call__(self, text: str | None) -> str | None:
        key = self.key
        masker = _WORKER_MASKERS.get(key)
        if masker is None:
            if len(_WORKER_MASKERS) >= 4:  # an old build's masker and its automaton go
                _WORKER_MASKERS.clear()
            known = self.known.value if self.known is not None else KnownValues()
            masker = _WORKER_MASKERS[key] = TextMasker(self.use, known)
        return masker.mask(text)
