"""The queries the gateway runs: built as SQLAlchemy expressions, every value bound.

A wizard call becomes ``SELECT <returned fields> FROM <view> WHERE <filters> AND <row
scope> ORDER BY … LIMIT … OFFSET …``; a script call is the checked script, wrapped as a
subquery when a row scope applies. Statements are compiled once per *shape* (which
filters, operators, list lengths, sort) and cached; a call only binds its values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from apis import spec
from apis.access import Access, Predicate
from hub.errors import TrustlabError

MAX_IN = 100  # values of one `in` filter


class BadRequest(TrustlabError):
    """A caller's parameter that cannot be used; the message says which and why."""


def convert(kind: str, raw: Any, what: str) -> Any:
    """A query-string (or JSON) value as ``kind``; BadRequest naming ``what`` otherwise."""
    if raw is None:
        return None
    try:
        if kind == "integer":
            if isinstance(raw, bool):
                raise ValueError
            value = int(raw) if isinstance(raw, int) else int(str(raw).strip(), 10)
            if not -(2**63) <= value < 2**63:
                raise ValueError
            return value
        if kind == "number":
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            return {"true": True, "false": False, "1": True, "0": False}[str(raw).lower()]
        if kind == "date":
            return date.fromisoformat(str(raw))
        if kind == "datetime":
            return datetime.fromisoformat(str(raw))
    except (ValueError, KeyError, TypeError, OverflowError):
        raise BadRequest(f"{what}: {str(raw)[:40]!r} is not a valid {kind}") from None
    text = str(raw)
    if len(text) > 1000 or "\x00" in text:
        raise BadRequest(f"{what}: give a string of at most 1000 characters")
    return text


def _like_prefix(value: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", value) + "%"


@dataclass
class Built:
    shape: tuple
    statement: sa.Executable
    params: dict[str, Any]


class _Binder:
    def __init__(self, taken: Any = ()) -> None:
        self.params: dict[str, Any] = {}
        self.shape: list[Any] = []
        # Names that cannot meet a script's own parameters.
        self.prefix = "_" * (1 + max((len(n) - len(n.lstrip("_")) for n in taken), default=0))
        self.count = 0

    def bind(self, value: Any) -> sa.BindParameter:
        name = f"{self.prefix}b{self.count}"
        self.count += 1
        self.params[name] = value
        return sa.bindparam(name)

    def predicate(self, col: sa.ColumnElement, p: Predicate, kind: str) -> sa.ColumnElement:
        if p.op == "eq":
            self.shape.append((p.field, "eq"))
            return col == self.bind(convert(kind, p.value, p.field))
        if p.op == "in":
            values = list(p.value)
            self.shape.append((p.field, "in", len(values)))
            return col.in_([self.bind(convert(kind, v, p.field)) for v in values])
        if p.op == "prefix":
            self.shape.append((p.field, "prefix"))
            return col.like(self.bind(_like_prefix(str(p.value))), escape="\\")
        clauses = []
        for bound, value in sorted(p.value.items()):
            self.shape.append((p.field, bound))
            v = self.bind(convert(kind, value, p.field))
            clauses.append({"gte": col >= v, "gt": col > v, "lte": col <= v, "lt": col < v}[bound])
        return sa.and_(*clauses)


def _table(view: str, columns: Mapping[str, str]) -> sa.TableClause:
    return sa.table(view, *(sa.column(c) for c in columns))


def parse_filters(
    d: spec.Wizard, access: Access, args: Mapping[str, list[str]], types: Mapping[str, str]
) -> list[Predicate]:
    """Query parameters → predicates: ``f`` (eq; repeated: in), ``f__in``, ``f__gte``/
    ``__gt``/``__lte``/``__lt`` (range), ``f__prefix``. Only clear fields filter."""
    allowed = {f.field: set(f.ops) for f in d.filters if access.clear(f.field)}
    out: list[Predicate] = []
    ranges: dict[str, dict[str, Any]] = {}
    for name, values in args.items():
        if name in spec.RESERVED:
            continue
        field, _, op = name.partition("__")
        ops = allowed.get(field)
        op = op or ("in" if len(values) > 1 else "eq")
        family = "range" if op in ("gte", "gt", "lte", "lt") else op
        if ops is None or family not in ops or (op == "in" and "in" not in ops):
            raise BadRequest(f"unknown query parameter {name!r}; see the API's OpenAPI document")
        kind = types[field]
        if family == "range":
            if len(values) != 1:
                raise BadRequest(f"{name}: give one value")
            ranges.setdefault(field, {})[op] = convert(kind, values[0], name)
        elif op == "in":
            explicit = name.endswith("__in")
            items = values[0].split(",") if explicit and len(values) == 1 else values
            if not 1 <= len(items) <= MAX_IN:
                raise BadRequest(f"{name}: give 1 to {MAX_IN} values")
            out.append(Predicate(field, "in", [convert(kind, v, name) for v in items]))
        else:
            if len(values) != 1:
                raise BadRequest(f"{name}: give one value")
            value = convert("string" if op == "prefix" else kind, values[0], name)
            if op == "prefix" and (kind != "string" or not value):
                raise BadRequest(f"{name}: a prefix is a non-empty string")
            out.append(Predicate(field, op, value))
    for field, bounds in ranges.items():
        out.append(Predicate(field, "range", bounds))
    return out


def wizard_list(
    d: spec.Wizard,
    view: str,
    types: Mapping[str, str],
    access: Access,
    filters: list[Predicate],
    sort: list[str],
    limit: int,
    offset: int,
) -> Built:
    t = _table(view, types)
    b = _Binder()
    where = [b.predicate(t.c[p.field], p, types[p.field]) for p in access.scope]
    b.shape.append("|")
    where += [b.predicate(t.c[p.field], p, types[p.field]) for p in filters]
    order = []
    for key in sort:
        desc = key.startswith("-")
        field = key.lstrip("-")
        if field not in d.sort or not access.clear(field):
            raise BadRequest(f"sort: {field!r} is not a sortable field of this API")
        order.append(t.c[field].desc() if desc else t.c[field].asc())
        b.shape.append(("sort", key))
    if d.key and access.clear(d.key) and not any(k.lstrip("-") == d.key for k in sort):
        order.append(t.c[d.key].asc())  # a stable page order
    cols = [t.c[f] for f in d.fields if f in access.fields]
    q = sa.select(*cols).where(*where).order_by(*order)
    q = q.limit(b.bind(limit + 1)).offset(b.bind(offset))
    return Built(("list", tuple(b.shape)), q, b.params)


def wizard_key(
    d: spec.Wizard, view: str, types: Mapping[str, str], access: Access, key: str
) -> Built:
    assert d.key is not None
    t = _table(view, types)
    b = _Binder()
    where = [b.predicate(t.c[p.field], p, types[p.field]) for p in access.scope]
    where.append(t.c[d.key] == b.bind(convert(types[d.key], key, d.key)))
    cols = [t.c[f] for f in d.fields if f in access.fields]
    q = sa.select(*cols).where(*where).limit(b.bind(2))
    return Built(("key", tuple(b.shape)), q, b.params)


def parameters(declared: Mapping[str, spec.Parameter], args: Mapping[str, Any]) -> dict:
    """The caller's values of typed ``declared`` parameters (defaults filled in)."""
    params: dict[str, Any] = {}
    for name, p in declared.items():
        raw = args.get(name)
        if raw is None:
            if p.required:
                raise BadRequest(f"missing required parameter {name!r}")
            raw = p.default
        params[name] = convert(p.type, raw, name)
    unknown = sorted(set(args) - set(declared) - {"limit", "offset"})
    if unknown:
        raise BadRequest(f"unknown query parameter {unknown[0]!r}; see the API's OpenAPI document")
    return params


def script_query(d: spec.Script, sql: str, access: Access, args: Mapping[str, Any]) -> Built:
    """The checked ``sql`` with the caller's parameters bound, the row scope around it."""
    params = parameters(d.parameters, args)
    inner = (
        sa.text(sql)
        .bindparams(*(sa.bindparam(n) for n in params))
        .columns(*(sa.column(f) for f in d.fields))
    )
    sub = inner.subquery("q")
    b = _Binder(taken=params)
    where = [b.predicate(sub.c[p.field], p, d.fields[p.field]) for p in access.scope]
    cols = [sub.c[f] for f in d.fields if f in access.fields]
    q = sa.select(*cols).where(*where).limit(b.bind(min(access.max_rows, d.max_rows) + 1))
    return Built(("script", tuple(b.shape)), q, {**params, **b.params})
