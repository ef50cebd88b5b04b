"""The dataset's own PII values, found wherever they appear in free text.

Every value of the dataset's PII columns is a known string: a remark that repeats the
row's name, a contact's mobile or another row's ID is masked even where no pattern or
tagger would recognise it. One Aho–Corasick automaton holds all values (not one regex
per value), so a text is scanned once whatever the number of values.

Values are folded (full-width to ASCII, separators dropped for digit values) so
``138 1234 5678`` in a note matches ``13812345678`` in a column; a match maps back to the
original characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from sandbox.textpii.names import surname_length
from sandbox.textpii.patterns import fold, keep_digits
from sandbox.textpii.spans import Span

MIN_LENGTH = {"name": 2}  # shorter values of these kinds are too ambiguous to hunt for
DEFAULT_MIN_LENGTH = 5
_DIGITISH = re.compile(r"[0-9Xx]")
_SEPARATORS = set(" \t-.()（）·")
# What stays visible of a known value found in text, by kind (the column rules' choice).
_KEEP = {"id_card": (6, 4), "mobile": (3, 4), "bank_card": (6, 4), "plate": (2, 0)}
KNOWN_KINDS = ("name", "id_card", "mobile", "bank_card", "email", "plate", "address")
_CODE = {kind: i for i, kind in enumerate(KNOWN_KINDS)}
_KINDS = len(KNOWN_KINDS)


def _normalise(text: str) -> tuple[str, list[int]]:
    """Folded text without separators between digits, and each kept char's offset."""
    folded = fold(text)
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(folded):
        if ch in _SEPARATORS and chars and _DIGITISH.match(chars[-1]):
            continue
        chars.append(ch.upper() if ch == "x" else ch)
        offsets.append(i)
    return "".join(chars), offsets


@dataclass
class KnownValues:
    """An automaton over ``{value: kind}``; ``spans(text)`` finds them in one pass."""

    automaton: Any = field(default=None, repr=False)
    size: int = 0

    @classmethod
    def build(cls, values: dict[str, str]) -> KnownValues:
        # Integers, not Python objects, as payloads: a few million values stay a compact
        # automaton that pickles and ships to Spark workers quickly.
        auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        size = 0
        for value, kind in values.items():
            key, _ = _normalise(str(value).strip())
            if len(key) < MIN_LENGTH.get(kind, DEFAULT_MIN_LENGTH) or kind not in _CODE:
                continue
            auto.add_word(key, len(key) * _KINDS + _CODE[kind])
            size += 1
        if size:
            auto.make_automaton()
        return cls(auto if size else None, size)

    def spans(self, text: str) -> list[Span]:
        if self.automaton is None or not text:
            return []
        key, offsets = _normalise(text)
        out = []
        for end, code in self.automaton.iter_long(key):
            length, kind = divmod(code, _KINDS)
            kind = KNOWN_KINDS[kind]
            start = offsets[end - length + 1]
            stop = offsets[end] + 1
            if kind in _KEEP:
                span = keep_digits(text, start, stop, kind, *_KEEP[kind])
                out.append(Span(span.start, span.end, kind, span.keep, span.keep_end, "known"))
            else:
                head = (surname_length(text[start:stop]) or 1) if kind == "name" else 0
                out.append(Span(start, stop, kind, head, 0, "known"))
        return out


def known_values(source: Any, info: dict[str, Any], limit: int) -> KnownValues:
    """Every distinct value of the source's PII columns, as one automaton (``limit`` cap)."""
    from pyspark.sql import functions as F

    values: dict[str, str] = {}
    for col in info["columns"]:
        if col["pii"] not in KNOWN_KINDS or col["name"] not in source.columns:
            continue
        column = F.trim(F.col(f"`{col['name']}`").cast("string"))
        distinct = source.select(column.alias("v")).where(F.length("v") >= 2).distinct()
        for row in distinct.limit(max(0, limit - len(values))).toLocalIterator():
            values.setdefault(row["v"], col["pii"])
        if len(values) >= limit:
            break
    return KnownValues.build(values)
