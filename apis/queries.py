"""The queries the gateway runs: built as SQLAlchemy expressions, every value bound.

A wizard call becomes ``SELECT <returned fields> FROM <view> WHERE <filters> AND <row
scope> ORDER BY … LIMIT … OFFSET …``; a script call is the checked script, wrapped as a
subquery when a row scope applies. Statements are compiled once per *shape* (which
filters, operators, list lengths, sort) and cached; a call only binds its values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
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
    """A call's query: its ``shape`` (what the statement depends on besides the endpoint
    and the returned fields), its bound ``params``, and ``make`` to build the statement —
    called only when no statement of that shape was compiled yet."""

    shape: tuple
    make: Callable[[], sa.Executable]
    params: dict[str, Any]

    @property
    def statement(self) -> sa.Executable:
        return self.make()


Clause = Callable[[sa.ColumnElement], sa.ColumnElement]


class _Binder:
    def __init__(self, taken: Any = ()) -> None:
        self.params: dict[str, Any] = {}
        self.shape: list[Any] = []
        # Names that cannot meet a script's own parameters.
        self.prefix = "_" * (1 + max((len(n) - len(n.lstrip("_")) for n in taken), default=0))
        self.count = 0

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}b{self.count}"
        self.count += 1
        self.params[name] = value
        return name

    def predicate(self, p: Predicate, kind: str) -> Clause:
        """Bind ``p``'s values now; the clause on a column is built later (``Built.make``)."""
        if p.op == "eq":
            self.shape.append((p.field, "eq"))
            name = self.bind(convert(kind, p.value, p.field))
            return lambda col: col == sa.bindparam(name)
        if p.op == "in":
            values = list(p.value)
            self.shape.append((p.field, "in", len(values)))
            names = [self.bind(convert(kind, v, p.field)) for v in values]
            return lambda col: col.in_([sa.bindparam(n) for n in names])
        if p.op == "prefix":
            self.shape.append((p.field, "prefix"))
            name = self.bind(_like_prefix(str(p.value)))
            return lambda col: col.like(sa.bindparam(name), escape="\\")
        bounds = []
        for bound, value in sorted(p.value.items()):
            self.shape.append((p.field, bound))
            bounds.append((bound, self.bind(convert(kind, value, p.field))))

        def clause(col: sa.ColumnElement) -> sa.ColumnElement:
            ops = {"gte": col.__ge__, "gt": col.__gt__, "lte": col.__le__, "lt": col.__lt__}
            return sa.and_(*(ops[b](sa.bindparam(n)) for b, n in bounds))

        return clause


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
    b = _Binder()
    where = [(p.field, b.predicate(p, types[p.field])) for p in access.scope]
    b.shape.append("|")
    where += [(p.field, b.predicate(p, types[p.field])) for p in filters]
    order: list[tuple[str, bool]] = []
    for key in sort:
        field = key.lstrip("-")
        if field not in d.sort or not access.clear(field):
            raise BadRequest(f"sort: {field!r} is not a sortable field of this API")
        order.append((field, key.startswith("-")))
    if d.key and access.clear(d.key) and not any(f == d.key for f, _ in order):
        order.append((d.key, False))  # a stable page order
    b.shape.append(("order", tuple(order)))
    fields = [f for f in d.fields if f in access.fields]
    limit_name, offset_name = b.bind(limit + 1), b.bind(offset)

    def make() -> sa.Executable:
        t = _table(view, types)
        q = sa.select(*(t.c[f] for f in fields)).where(*(c(t.c[f]) for f, c in where))
        q = q.order_by(*(t.c[f].desc() if desc else t.c[f].asc() for f, desc in order))
        return q.limit(sa.bindparam(limit_name)).offset(sa.bindparam(offset_name))

    return Built(("list", tuple(fields), tuple(b.shape)), make, b.params)


def wizard_key(
    d: spec.Wizard, view: str, types: Mapping[str, str], access: Access, key: str
) -> Built:
    assert d.key is not None
    key_field = d.key
    b = _Binder()
    where = [(p.field, b.predicate(p, types[p.field])) for p in access.scope]
    key_name = b.bind(convert(types[key_field], key, key_field))
    limit_name = b.bind(2)
    fields = [f for f in d.fields if f in access.fields]

    def make() -> sa.Executable:
        t = _table(view, types)
        clauses = [c(t.c[f]) for f, c in where] + [t.c[key_field] == sa.bindparam(key_name)]
        q = sa.select(*(t.c[f] for f in fields)).where(*clauses)
        return q.limit(sa.bindparam(limit_name))

    return Built(("key", tuple(fields), tuple(b.shape)), make, b.params)


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


def script_query(
    d: spec.Script,
    sql: str,
    access: Access,
    args: Mapping[str, Any],
    order: tuple[tuple[str, bool], ...] = (),
) -> Built:
    """The checked ``sql`` with the caller's parameters bound, the row scope around it, and
    its ``order`` (output column, descending) again outside, where it is kept."""
    params = parameters(d.parameters, args)
    b = _Binder(taken=params)
    where = [(p.field, b.predicate(p, d.fields[p.field])) for p in access.scope]
    fields = [f for f in d.fields if f in access.fields]
    limit_name = b.bind(min(access.max_rows, d.max_rows) + 1)

    def make() -> sa.Executable:
        inner = (
            sa.text(sql)
            .bindparams(*(sa.bindparam(n) for n in params))
            .columns(*(sa.column(f) for f in d.fields))
        )
        sub = inner.subquery("q")
        q = sa.select(*(sub.c[f] for f in fields)).where(*(c(sub.c[f]) for f, c in where))
        q = q.order_by(*(sub.c[f].desc() if desc else sub.c[f].asc() for f, desc in order))
        return q.limit(sa.bindparam(limit_name))

    return Built(("script", tuple(fields), tuple(b.shape)), make, {**params, **b.params})
