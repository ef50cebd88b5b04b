"""What one application may do with one API now: the contracts in force, narrowed.

Several application contracts may name the same API; then, as for projects, **the
narrower wins**: a field is returned only if every contract returns it, and in the
strictest treatment any of them gives (hidden > pseudonym > a masking rule > clear; two
different rules: hidden); every row scope applies; the lowest rate and row cap apply and
the earliest end; every contract's daily quota counts the call (and its ``calls_per_day``
limit, over all its APIs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.terms import aware

Treatment = Any  # "clear" | "pseudonym" | {"rule": name, "params": {...}}


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str  # eq | in | range | prefix
    value: Any


@dataclass(frozen=True)
class Access:
    application: str
    api: str
    contracts: tuple[str, ...]
    fields: dict[str, Treatment]  # returned fields (hidden ones left out) → treatment
    scope: tuple[Predicate, ...]
    quotas: tuple[tuple[str, int], ...]  # (counter, limit per day)
    rate: float
    max_rows: int
    until: datetime | None

    def clear(self, field: str) -> bool:
        return self.fields.get(field) == "clear"


def _rank(t: Treatment) -> int:
    if t == "hidden":
        return 3
    if t == "pseudonym":
        return 2
    return 1 if isinstance(t, dict) else 0


def _strictest(a: Treatment, b: Treatment) -> Treatment:
    if isinstance(a, dict) and isinstance(b, dict) and a != b:
        return "hidden"
    return a if _rank(a) >= _rank(b) else b


def narrow(
    application: str,
    api: str,
    found: list[tuple[str, datetime | None, dict[str, Any], dict[str, Any]]],
    returned: list[str],
) -> Access | None:
    """``found``: (ref, contract end, contract limits, API terms) of the contracts in force
    naming ``api``; ``returned``: the fields the API version returns, in order."""
    if not found:
        return None
    fields: dict[str, Treatment] = {f: "clear" for f in returned}
    scope: list[Predicate] = []
    quotas: list[tuple[str, int]] = []
    rate, rows, until = float("inf"), 10**9, None
    for ref, end, limits, terms in found:
        given = terms["fields"]
        for f in returned:
            fields[f] = _strictest(fields[f], given.get(f, "hidden"))
        scope += [Predicate(s["field"], s["op"], s["value"]) for s in terms.get("row_scope", [])]
        quotas.append((f"q:{ref}:{api}", int(terms["quota_per_day"])))
        if limits.get("calls_per_day"):
            quotas.append((f"c:{ref}", int(limits["calls_per_day"])))
        rate = min(rate, float(terms["rate_per_second"]))
        rows = min(rows, int(terms["max_rows_per_call"]))
        for t in (end, _parse(terms.get("valid_until"))):
            if t is not None and (until is None or t < until):
                until = t
    return Access(
        application=application,
        api=api,
        contracts=tuple(ref for ref, *_ in found),
        fields={f: t for f, t in fields.items() if t != "hidden"},
        scope=tuple(scope),
        quotas=tuple(dict.fromkeys(quotas)),
        rate=rate,
        max_rows=rows,
        until=until,
    )


def _parse(value: str | None) -> datetime | None:
    return aware(datetime.fromisoformat(value)) if value else None
