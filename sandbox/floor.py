"""The masking floor: the least masking a policy may apply, whoever writes it.

Three rules, checked whenever a policy is written and again before every build:

1. **Default deny by level.** A column at L2 or above needs a masking rule, or — for a
   column of no PII type only — ``keep`` with a justification (10+ characters) that the
   owner's provider reviewer recorded. A PII-typed column is never kept.
2. **The platform floor per PII type** (setting ``masking_floor``): what a rule may leave
   visible, as characters kept at the start and end. ``id_keep6_4`` meets an ID's floor of
   6+4; a plugin rule revealing 8+4 is refused. A rule that does not declare what it
   reveals cannot mask a floored type.
3. **Free text keeps its name finding.** ``free_text_redact`` with ``names=false`` would
   leave every name in the text; it is refused for free-text columns (unless the floor
   setting says ``"free_text": {"names": 0}``, as the masking benchmark's like-for-like
   run does).
"""

from __future__ import annotations

from typing import Any

from sandbox.masking import MaskingRule, PolicyError

MIN_JUSTIFICATION = 10


def level_of(column: dict[str, Any]) -> int:
    raw = column.get("level", 1)
    return int(str(raw).upper().removeprefix("L"))


def check_column(
    column: dict[str, Any], spec: dict[str, Any], rule: MaskingRule, floor: dict[str, Any]
) -> None:
    """Raise PolicyError when ``rule`` would leave ``column`` below the floor."""
    name, pii, level = column["name"], column["pii"], level_of(column)
    reveal = rule.reveals()
    if reveal is None:
        if pii in floor or pii == "free_text" or (pii == "none" and level >= 2):
            raise PolicyError(
                f"rule {rule.name} does not declare what it reveals, so it cannot mask column "
                f"{name!r} ({pii}, L{level}); choose a built-in rule"
            )
        return
    if reveal.kind == "all":
        if pii != "none":
            raise PolicyError(
                f"column {name!r} is classified as {pii}: rule {rule.name!r} would copy it "
                "unmasked; choose a masking rule, or 'drop'"
            )
        if level >= 2 and len(str(spec.get("justification") or "").strip()) < MIN_JUSTIFICATION:
            raise PolicyError(
                f"column {name!r} is L{level}: copying it unmasked needs a justification from "
                f"the owner's provider reviewer (--justification, {MIN_JUSTIFICATION}+ "
                "characters), or a masking rule"
            )
        return
    limit = floor.get(pii)
    if reveal.kind == "partial" and limit is not None:
        head, tail = int(limit.get("head", 0)), int(limit.get("tail", 0))
        if reveal.head > head or reveal.tail > tail:
            raise PolicyError(
                f"rule {rule.name} leaves {reveal.head}+{reveal.tail} characters of column "
                f"{name!r} visible; the platform floor for {pii} is at most {head}+{tail} "
                "(setting masking_floor)"
            )
    names_required = bool((floor.get("free_text") or {}).get("names", 1))
    if pii == "free_text" and reveal.kind == "text" and not reveal.names and names_required:
        raise PolicyError(
            f"column {name!r} is free text: {rule.name} with names=false would leave every "
            "person's name in it; keep names=true, or drop the column"
        )
