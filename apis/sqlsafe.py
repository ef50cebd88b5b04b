"""The check a *script* API's SQL must pass: one read-only SELECT over granted tables.

``check_script`` parses the script with sqlglot and accepts it only if every node of the
tree is on an allow-list: SELECT / UNION / INTERSECT / EXCEPT with joins, subqueries,
non-recursive CTEs, grouping, windows, ordering and limits; columns, literals, operators,
``:name`` parameters and the functions in ``FUNCTIONS``. Anything else — another statement
kind, a second statement, ``SELECT INTO``, locking clauses, an unknown or schema-qualified
table, an unlisted or user-defined function, a positional placeholder, ``SELECT *`` — is
refused with a one-line ``UnsafeSql`` naming the construct. What runs is never the text the
author wrote: the statement is rendered back by sqlglot (comments dropped, tables renamed to
their physical names), so the database sees exactly the tree that was checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.tokens import TokenType

from hub.errors import TrustlabError

DIALECTS = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}

# Syntax nodes a read-only query is built from (functions are listed in FUNCTIONS).
NODES: frozenset[type[exp.Expression]] = frozenset({
    exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.With, exp.CTE,
    exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered,
    exp.Limit, exp.Offset, exp.Fetch, exp.LimitOptions, exp.Distinct,
    exp.Table, exp.TableAlias, exp.Column, exp.Identifier, exp.Alias, exp.Star,
    exp.Literal, exp.Null, exp.Boolean, exp.Placeholder, exp.Var, exp.DataType,
    exp.DataTypeParam, exp.Interval, exp.Paren, exp.Tuple, exp.Window, exp.WindowSpec,
    exp.Filter, exp.Exists, exp.In, exp.Between, exp.Is, exp.Like, exp.ILike, exp.Escape,
    exp.Any, exp.All, exp.Not, exp.Neg, exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv,
    exp.Mod, exp.DPipe, exp.Case, exp.If, exp.Cast, exp.TryCast,
})  # fmt: skip

# Aggregates, window, conditional, string, math and date functions. Deliberately absent:
# anything reading files, the server, the session or the catalog, sleeping, making large
# values (repeat, padding, blobs), regular expressions (backtracking) and unknown names.
FUNCTIONS: frozenset[type[exp.Func]] = frozenset({
    exp.And, exp.Or, exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.GroupConcat,
    exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop,
    exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile, exp.Lag, exp.Lead, exp.FirstValue,
    exp.LastValue, exp.NthValue, exp.PercentRank, exp.CumeDist,
    exp.Coalesce, exp.Nullif, exp.Greatest, exp.Least,
    exp.Upper, exp.Lower, exp.Length, exp.Substring, exp.Trim, exp.Concat, exp.ConcatWs,
    exp.Replace, exp.StrPosition, exp.Left, exp.Right, exp.Reverse,
    exp.Abs, exp.Ceil, exp.Floor, exp.Round, exp.Sqrt, exp.Pow, exp.Exp, exp.Ln, exp.Log,
    exp.Sign, exp.Pi,
    exp.CurrentDate, exp.CurrentTimestamp, exp.Date, exp.DateAdd, exp.DateSub,
    exp.DateDiff, exp.DateTrunc, exp.TimestampTrunc, exp.Extract, exp.Year, exp.Month,
    exp.Day, exp.Quarter, exp.TimeToStr, exp.StrToTime, exp.StrToDate, exp.TsOrDsToDate,
    exp.TsOrDsAdd, exp.TsOrDsToTimestamp, exp.TsOrDsToDatetime, exp.Datetime, exp.Timestamp,
    exp.CurrentTime,
})  # fmt: skip

TYPES = frozenset(
    getattr(exp.DataType.Type, n)
    for n in "TINYINT SMALLINT INT BIGINT DECIMAL DOUBLE FLOAT TEXT VARCHAR CHAR NCHAR "
    "NVARCHAR BOOLEAN DATE DATETIME TIMESTAMP TIMESTAMPTZ TIME".split()
)
# Parents whose Var children are date/time units (EXTRACT(YEAR FROM d), INTERVAL '1' DAY).
UNIT_TAKERS = (exp.Extract, exp.Interval, exp.DateAdd, exp.DateSub, exp.DateDiff,
               exp.DateTrunc, exp.TimestampTrunc, exp.TsOrDsAdd)  # fmt: skip
NILADIC = {"user", "current_user", "session_user", "current_role", "current_catalog",
           "current_schema", "system_user", "localtime", "localtimestamp"}  # fmt: skip
# Arguments a query node may carry; others (INTO, FOR UPDATE, hints, …) are refused.
QUERY_ARGS = {"with_", "expressions", "distinct", "from_", "joins", "where", "group",
              "having", "order", "limit", "offset", "this", "expression", "alias"}  # fmt: skip
CLAUSES = {"into": "SELECT INTO", "locks": "FOR UPDATE/SHARE", "hint": "optimizer hints"}
PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
BARE = re.compile(r"[^\W\d][\w$]*\Z")  # an unquoted name; never `$1` or `@x` (SQLite params)
# SQLAlchemy text(): what it takes for a bind parameter, and its escape for a literal colon.
BIND = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")
BIND_ESCAPE = re.compile(r"\\(:\w*)(?![:\w])")
MAX_LENGTH = 100_000
USE = "use aggregates, string, math, date and conditional functions (docs/apis-sql.md)"


class UnsafeSql(TrustlabError):
    """A script that is not one read-only SELECT over the API's sources."""


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # rendered for the dialect; physical table names; parameters as :name
    parameters: tuple[str, ...]  # first-appearance order
    tables: frozenset[str]  # logical tables read
    columns: tuple[str, ...]  # output column names
    # The top-level ORDER BY as (output column, descending), when every term names one (or
    # its position): re-applied around the script when a row scope wraps it, since a
    # database may drop a subquery's order (MariaDB does). Empty otherwise.
    order: tuple[tuple[str, bool], ...] = ()


def check_script(sql: str, *, dialect: str, tables: Mapping[str, str]) -> CheckedQuery:
    """Check ``sql`` and render it for ``dialect`` ("sqlite", "postgresql", "mysql") with
    the logical names in ``tables`` rewritten to physical ones; UnsafeSql otherwise."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    if len(sql) > MAX_LENGTH:
        raise UnsafeSql(f"script: it is longer than {MAX_LENGTH} characters; shorten it")
    try:
        return _check(sql, DIALECTS[dialect], tables)
    except RecursionError:
        raise UnsafeSql("script: it is nested too deeply; flatten it") from None


def _check(sql: str, read: str, tables: Mapping[str, str]) -> CheckedQuery:
    tree = _parse(sql, read)
    if not isinstance(tree, (exp.Select, exp.SetOperation)):
        raise UnsafeSql(f"script: {_kind(tree)} statements are not allowed; write one SELECT")
    read_tables: set[str] = set()
    for node in list(tree.walk()):
        _check_node(node)
        if isinstance(node, exp.Table) and not _is_cte(node):
            read_tables.add(_rename(node, tables))
    columns = _columns(tree)
    order = _order(tree, columns)
    for node in list(tree.find_all(exp.Placeholder)):
        node.replace(exp.Var(this=f":{node.name}"))  # every dialect renders it as written
    try:
        rendered = tree.sql(dialect=read, comments=False, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise UnsafeSql(f"script: {_first_line(exc)}; rewrite it for {read}") from None
    rendered, parameters = _bind_text(rendered, read)
    return CheckedQuery(rendered, parameters, frozenset(read_tables), columns, order)


def _parse(sql: str, read: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read=read) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        where = f" at line {err.get('line')}, column {err.get('col')}" if err else ""
        raise UnsafeSql(
            f"script: cannot parse it{where} ({err.get('description', 'syntax error')}); "
            "write one SELECT statement"
        ) from None
    except SqlglotError as exc:
        raise UnsafeSql(f"script: cannot parse it ({_first_line(exc)})") from None
    if not statements:
        raise UnsafeSql("script: it is empty; write one SELECT statement")
    if len(statements) > 1:
        raise UnsafeSql("script: it has more than one statement; write exactly one SELECT")
    return statements[0]


def _check_node(node: exp.Expression) -> None:
    kind = type(node)
    if isinstance(node, exp.Func) and kind not in NODES:
        if kind not in FUNCTIONS:
            raise UnsafeSql(f"script: function {_function_name(node)} is not allowed; {USE}")
    elif isinstance(node, (exp.Parameter, exp.SessionParameter)):
        raise UnsafeSql(f"script: placeholder {node.sql()[:40]} is not allowed; use :name")
    elif kind not in NODES:
        raise UnsafeSql(
            f"script: {_kind(node)} ({node.sql()[:40]}) is not allowed; write a plain SELECT"
        )
    if isinstance(node, exp.Var) and not isinstance(node.parent, UNIT_TAKERS):
        raise UnsafeSql(f"script: {node.name[:40]} is not allowed here; write a plain SELECT")
    if isinstance(node, exp.Query):
        for arg, value in node.args.items():
            if value and arg not in QUERY_ARGS:
                what = CLAUSES.get(arg, arg.rstrip("_").upper())
                raise UnsafeSql(f"script: {what} is not allowed; write a plain SELECT")
    if isinstance(node, exp.With) and node.args.get("recursive"):
        raise UnsafeSql("script: WITH RECURSIVE is not allowed; write a non-recursive query")
    if isinstance(node, exp.Placeholder) and not PARAMETER.match(node.name or ""):
        raise UnsafeSql(f"script: placeholder {node.sql()} is not allowed; use :name")
    if isinstance(node, exp.Identifier) and not node.quoted:
        if not BARE.match(node.name):
            raise UnsafeSql(f"script: {node.name} is not a name; use :name for parameters")
        if node.name.lower() in NILADIC:
            # On PostgreSQL a bare `user` is the login's name, not a column: quote it.
            node.set("this", node.name.lower())
            node.set("quoted", True)
    if isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count):
        raise UnsafeSql("script: SELECT * is not allowed; name each output column")
    if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
        what = _function_name(node.this) if isinstance(node.this, exp.Func) else "it"
        raise UnsafeSql(f"script: table function {what} is not allowed; read the sources")
    if isinstance(node, (exp.Table, exp.Column)) and (node.args.get("db") or node.catalog):
        raise UnsafeSql(
            f"script: {node.sql()} is not allowed; name tables without a schema, "
            "only the API's sources"
        )
    if isinstance(node, exp.DataType) and node.this not in TYPES:
        raise UnsafeSql(f"script: type {node.sql()} is not allowed; cast to a plain type")


def _is_cte(table: exp.Table) -> bool:
    """Whether ``table`` names a CTE visible where it stands. A CTE sees only the CTEs
    before it: naming itself or a later one would be recursion, which is refused."""
    ref, child = table.this, table
    for parent in _ancestors(table):
        if isinstance(parent, exp.With):
            at = next(i for i, cte in enumerate(parent.expressions) if cte is child)
            if any(_same(cte, ref) for cte in parent.expressions[at:]):
                raise UnsafeSql(
                    f"script: CTE {ref.name} refers to itself or a later CTE; "
                    "recursive queries are not allowed"
                )
            if any(_same(cte, ref) for cte in parent.expressions[:at]):
                return True
        elif isinstance(parent, exp.Query):
            with_ = parent.args.get("with_")
            if (
                with_ is not None
                and with_ is not child
                and any(_same(cte, ref) for cte in with_.expressions)
            ):
                return True
        child = parent
    return False


def _ancestors(node: exp.Expression) -> Iterator[exp.Expression]:
    while node.parent is not None:
        node = node.parent
        yield node


def _same(cte: exp.CTE, ref: exp.Identifier) -> bool:
    # Only the same spelling with the same quoting is the same name in every dialect.
    name = cte.args["alias"].this
    return name.name == ref.name and bool(name.quoted) == bool(ref.quoted)


def _rename(table: exp.Table, tables: Mapping[str, str]) -> str:
    name = table.name
    logical = name if name in tables else None
    if logical is None and not table.this.quoted:
        logical = next((t for t in tables if t.lower() == name.lower()), None)
    if logical is None:
        granted = ", ".join(sorted(tables)) or "none"
        raise UnsafeSql(f"script: table {name} is not allowed; read only {granted}")
    if not table.alias:  # columns may name the table: keep that name as its alias
        table.set("alias", exp.TableAlias(this=table.this.copy()))
    table.set("this", exp.to_identifier(tables[logical]))
    return logical


def _columns(tree: exp.Expression) -> tuple[str, ...]:
    first = tree
    while not isinstance(first, exp.Select):
        first = first.this  # the leftmost SELECT of a set operation names the output
    if not first.expressions:
        raise UnsafeSql("script: it selects no column; name the columns it returns")
    names: list[str] = []
    for projection in first.expressions:
        name = projection.alias_or_name
        if not name or not isinstance(projection, (exp.Alias, exp.Column)):
            raise UnsafeSql(f"script: give {projection.sql()[:60]} a name with AS")
        if name in names:
            raise UnsafeSql(f"script: two output columns are named {name}; rename one")
        names.append(name)
    return tuple(names)


def _order(tree: exp.Expression, columns: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    clause = tree.args.get("order")
    terms = []
    for term in clause.expressions if clause else ():
        node, desc = term.this, bool(term.args.get("desc"))
        if isinstance(node, exp.Column) and not node.table and node.name in columns:
            terms.append((node.name, desc))
        elif isinstance(node, exp.Literal) and node.is_int and 1 <= int(node.name) <= len(columns):
            terms.append((columns[int(node.name) - 1], desc))
        else:
            return ()
    return tuple(terms)


def _bind_text(sql: str, read: str) -> tuple[str, tuple[str, ...]]:
    """``sql`` for SQLAlchemy text(): colons it would take for parameters inside literals
    and quoted names are escaped. Also the parameters, in the order they appear."""
    if BIND_ESCAPE.search(sql):
        raise UnsafeSql(r"script: a literal contains '\:'; write the text another way")
    tokens = sqlglot.tokenize(sql, read=read)
    ours = {t.start: n.text for t, n in pairwise(tokens) if t.token_type == TokenType.COLON}
    out, last = [], 0
    for match in BIND.finditer(sql):
        if match.start() not in ours:
            out += [sql[last : match.start()], "\\"]
            last = match.start()
    return "".join(out) + sql[last:], tuple(dict.fromkeys(ours[k] for k in sorted(ours)))


def _function_name(node: exp.Func) -> str:
    return node.name if isinstance(node, exp.Anonymous) else node.sql_name().lower()


def _kind(node: exp.Expression) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(node).__name__).upper()


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
