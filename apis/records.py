"""JSON answers as typed records, and the row scope applied to them in Python.

Registered and orchestrated APIs get their rows from JSON, not from a query, so the row
scope cannot be a ``WHERE``: it is the same predicates (``apis.access.Predicate``) with
the same meaning, evaluated on each record after the fields are typed. As in SQL, a
null never satisfies a predicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from apis import jsonpaths, queries
from apis.access import Predicate
from apis.spec_registered import ResponseField


def typed(kind: str, value: Any) -> Any:
    """``value`` as ``kind``, or None when it is not one (a field, not the whole answer,
    is lost when a provider sends a value of the wrong shape)."""
    if value is None or isinstance(value, dict | list):
        return None
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    try:
        out = queries.convert(kind, value, "field")
    except queries.BadRequest:
        return None
    if kind == "integer" and isinstance(value, float) and value != int(value):
        return None
    return out


def mapped(
    data: Any, records: str, fields: Mapping[str, ResponseField]
) -> tuple[list[str], list[tuple]]:
    """(columns, rows): each record ``records`` selects, each field at its path, typed."""
    found = jsonpaths.values(records, data)
    if len(found) == 1 and isinstance(found[0], list):  # "$" or "$.data" naming an array
        found = found[0]
    columns = list(fields)
    rows = [
        tuple(typed(f.type, jsonpaths.first(f.path, r)) for f in fields.values())
        for r in found
        if isinstance(r, dict)
    ]
    return columns, rows


def _holds(p: Predicate, value: Any, kind: str) -> bool:
    if value is None:
        return False
    try:
        if p.op == "eq":
            return bool(value == queries.convert(kind, p.value, p.field))
        if p.op == "in":
            return value in [queries.convert(kind, v, p.field) for v in p.value]
        if p.op == "prefix":
            return isinstance(value, str) and value.startswith(str(p.value))
        checks = {"gte": value.__ge__, "gt": value.__gt__, "lte": value.__le__, "lt": value.__lt__}
        return all(
            checks[bound](queries.convert(kind, v, p.field)) is True for bound, v in p.value.items()
        )
    except (queries.BadRequest, TypeError):
        return False


def scoped(
    columns: list[str], rows: Iterable[tuple], scope: Iterable[Predicate], types: Mapping[str, str]
) -> list[tuple]:
    """The rows every predicate of ``scope`` holds for (a field missing: none hold)."""
    index = {c: i for i, c in enumerate(columns)}
    preds = list(scope)
    out = []
    for row in rows:
        if all(p.field in index and _holds(p, row[index[p.field]], types[p.field]) for p in preds):
            out.append(row)
    return out
