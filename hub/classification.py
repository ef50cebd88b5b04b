"""The classification vocabulary and the interface PII classifiers implement.

The hub proposes a classification for every column of a registered dataset, but the
detection logic lives in ``sandbox`` and reaches the hub through the ``trustlab.classifiers``
entry point group (chosen by the ``classifier`` setting), so ``hub`` imports no feature
package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

# PII types a column can be classified as. ``free_text`` means text that embeds PII.
PII_TYPES: tuple[str, ...] = (
    "id_card",
    "mobile",
    "name",
    "address",
    "email",
    "bank_card",
    "plate",
    "birth_date",
    "free_text",
    "none",
)


# PII whose values are identifiers or text, never quantities: such a column is typed
# ``string`` even when every sampled value is digits (an 11-digit mobile column), so no
# leading zero, formatting or check character is lost and masking rules can apply.
TEXT_PII: frozenset[str] = frozenset(
    {"id_card", "mobile", "name", "address", "email", "bank_card", "plate", "free_text"}
)


class Level(IntEnum):
    """Sensitivity levels, after the four-level grading common in Chinese data-security rules."""

    L1 = 1  # public: may be published
    L2 = 2  # internal: business data with no direct personal identification
    L3 = 3  # sensitive: personal information that identifies or contacts a person
    L4 = 4  # highly sensitive: identity documents, financial accounts

    @classmethod
    def parse(cls, text: str | int) -> Level:
        raw = str(text).strip().upper().removeprefix("L")
        if raw not in {"1", "2", "3", "4"}:
            raise ValueError(f"sensitivity level must be L1..L4, got {text!r}")
        return cls(int(raw))


# Logical column types the catalog infers; classifiers receive one of these.
DATA_TYPES = ("string", "integer", "decimal", "boolean", "date", "timestamp", "binary", "other")


@dataclass(frozen=True)
class ColumnProfile:
    """What a classifier sees of a column: its name, logical type, and a bounded sample.

    ``values`` holds the sampled cells rendered as text (``None`` for nulls); it is never
    the whole column.
    """

    name: str
    data_type: str
    values: Sequence[str | None]


@dataclass(frozen=True)
class Proposal:
    """A proposed classification for one column. ``evidence`` never quotes raw values."""

    pii_type: str
    level: Level
    quasi_identifier: bool
    confidence: float
    evidence: str


class Classifier(Protocol):
    def propose(self, column: ColumnProfile) -> Proposal: ...
