"""Read-only execution on the serving database: every gateway query runs here.

The connection itself refuses writes, whatever statement reaches it. SQLite: the file
opened ``mode=ro``, ``PRAGMA query_only``, an authorizer that allows reading and listed
functions only, and a progress handler that stops a query at its deadline. PostgreSQL: a
SELECT-only login (``provision_readonly``) in ``default_transaction_read_only`` sessions;
each query is pipelined after setting its ``statement_timeout`` and ``search_path``.
MariaDB: a SELECT-only user; each query runs as ``SET STATEMENT tx_read_only=1,
max_statement_time=… FOR …``. Statements are compiled once (``prepare``) and run on raw
DBAPI connections; errors never carry SQL (the detail goes to the log).
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, make_url

from hub.errors import ConfigError, TrustlabError

log = logging.getLogger("trustlab.apis.readonly")
Rows = tuple[list[str], list[tuple]]

# What an SQLite query may call: the SQL the gateway builds and `apis.sqlsafe` renders.
SQLITE_FUNCTIONS = frozenset(
    """abs avg count max min sum total group_concat string_agg coalesce ifnull iif nullif
    length lower upper trim ltrim rtrim substr substring replace instr reverse concat
    concat_ws char unicode hex typeof like glob round ceil ceiling floor sqrt pow power exp
    ln log log10 log2 mod sign pi trunc date time datetime julianday strftime unixepoch
    row_number rank dense_rank ntile lag lead first_value last_value nth_value percent_rank
    cume_dist""".split()
)
SQLITE_MAX_LENGTH = 16 * 2**20  # no value a gateway answer carries is longer
# Set with each PostgreSQL query, whatever an earlier statement did to the session.
PG_LIMITS = (
    "SELECT set_config('statement_timeout', %s, false), set_config('search_path', 'public', false)"
)
MARIADB_TIMEOUT = (1969, 3024)  # max_statement_time exceeded (MariaDB; MySQL's code)


class QueryTimeout(TrustlabError):
    """The query ran past its statement timeout."""


class QueryFailed(TrustlabError):
    """The serving database refused or failed the query (the detail is in the log)."""


@dataclass(frozen=True)
class Prepared:
    """A statement compiled for the serving database's paramstyle."""

    sql: str
    compiled: Any  # SQLCompiler: its defaults (SQLite's OFFSET 0) and type processors
    positional: tuple[str, ...] | None  # qmark order; None for named paramstyles

    def bind(self, params: Mapping[str, Any]) -> tuple | dict:
        values = self.compiled.construct_params(params)
        # SQLAlchemy's type processors (dates on SQLite, …), as its own execution applies.
        for name, process in self.compiled._bind_processors.items():
            values[name] = process(values[name])
        if self.positional is None:
            return values
        return tuple(values[name] for name in self.positional)


def _failed(exc: BaseException) -> QueryFailed:
    log.warning("serving query failed: %s: %s", type(exc).__name__, exc)
    return QueryFailed("the query failed on the serving database; the gateway logged why")


def _timeout(timeout_s: float) -> QueryTimeout:
    return QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped")


def _authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, _: Any) -> int:
    if action == sqlite3.SQLITE_SELECT:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_READ and db in ("main", None):  # None: count(*)
        return sqlite3.SQLITE_DENY if (arg1 or "").startswith("sqlite_") else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in SQLITE_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY  # writes, DDL, PRAGMA, ATTACH, transactions, recursion, …


class _SQLite:
    """One read-only connection per thread (sqlite3 connections are not shareable)."""

    def __init__(self, url: str) -> None:
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ConfigError("the serving database must be an SQLite file, not in memory")
        self.uri = Path(path).resolve().as_uri() + "?mode=ro"
        self.local = threading.local()
        self.opened: list[sqlite3.Connection] = []

    def _connection(self) -> tuple[sqlite3.Connection, list[float]]:
        held = getattr(self.local, "held", None)
        if held is None:
            conn = sqlite3.connect(self.uri, uri=True, isolation_level=None, timeout=2.0,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("PRAGMA query_only = 1")
            conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_LENGTH)
            conn.set_authorizer(_authorize)
            deadline = [math.inf]
            conn.set_progress_handler(lambda: time.monotonic() > deadline[0], 1000)
            held = self.local.held = (conn, deadline)
            self.opened.append(conn)
        return held

    def run(self, sql: str, args: Any, timeout_s: float, max_rows: int) -> Rows:
        conn, deadline = self._connection()
        deadline[0] = time.monotonic() + timeout_s
        cursor = conn.cursor()
        try:
            cursor.execute(sql, args)
            names = [d[0] for d in cursor.description or ()]
            return names, cursor.fetchmany(max_rows) if names else []
        except (sqlite3.Error, OverflowError) as exc:  # Overflow: an int beyond 64 bits
            if time.monotonic() > deadline[0] and "interrupt" in str(exc):
                raise _timeout(timeout_s) from None
            raise _failed(exc) from None
        finally:
            cursor.close()  # ends the read: a statement left open would hold a snapshot
            deadline[0] = math.inf

    def close(self) -> None:
        opened, self.opened, self.local = self.opened, [], threading.local()
        for conn in opened:
            conn.close()


class _Pooled(ABC):
    """A small pool of raw DBAPI connections in autocommit, each made read-only once."""

    errors: tuple[type[Exception], ...]  # the driver's

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, pool_size=4, max_overflow=12, pool_recycle=3600,
                                       pool_reset_on_return=None)  # fmt: skip
        sa.event.listen(self.engine, "connect", lambda conn, _record: self.setup(conn))

    @abstractmethod
    def setup(self, conn: Any) -> None:
        """Make a new session read-only (autocommit: each statement its own transaction)."""

    @abstractmethod
    def execute(self, conn: Any, cur: Any, sql: str, args: Any, timeout_s: float) -> bool:
        """Run one statement (QueryTimeout past ``timeout_s``); False when the session may
        have changed, so that it is dropped rather than handed to the next query."""

    @abstractmethod
    def broken(self, conn: Any) -> bool: ...

    def run(self, sql: str, args: Any, timeout_s: float, max_rows: int) -> Rows:
        try:
            conn = self.engine.raw_connection()
        except (sa.exc.DBAPIError, *self.errors) as exc:  # server down, login refused
            raise _failed(exc) from None
        clean = True
        try:
            cur = conn.cursor()
            try:
                clean = self.execute(conn, cur, sql, args, timeout_s)
                names = [d[0] for d in cur.description or ()]
                return names, list(cur.fetchmany(max_rows)) if names else []
            finally:
                cur.close()
        except self.errors as exc:
            raise _failed(exc) from None
        finally:
            if not clean or self.broken(conn):
                conn.invalidate()
            conn.close()

    def close(self) -> None:
        self.engine.dispose()


class _Postgres(_Pooled):
    def __init__(self, url: str) -> None:
        import psycopg

        self.errors, self.canceled = (psycopg.Error,), psycopg.errors.QueryCanceled
        super().__init__(url)

    def setup(self, conn: Any) -> None:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = on")

    def execute(self, conn: Any, cur: Any, sql: str, args: Any, timeout_s: float) -> bool:
        raw = conn.dbapi_connection
        try:  # one round trip; pipelined statements take the extended protocol: one each
            with raw.pipeline():
                cur.execute(PG_LIMITS, (f"{max(1, round(timeout_s * 1000))}ms",))
                cur.execute(sql, args, binary=True)
        except self.canceled:
            raise _timeout(timeout_s) from None
        read_only = raw.info.parameter_status("default_transaction_read_only") == "on"
        return read_only and (cur.statusmessage or "").startswith("SELECT")

    def broken(self, conn: Any) -> bool:
        return bool(conn.dbapi_connection.broken or conn.dbapi_connection.closed)


class _MariaDB(_Pooled):
    def __init__(self, url: str) -> None:
        import pymysql

        self.errors = (pymysql.err.MySQLError,)
        super().__init__(url)

    def setup(self, conn: Any) -> None:
        conn.autocommit(True)
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")

    def execute(self, conn: Any, cur: Any, sql: str, args: Any, timeout_s: float) -> bool:
        # Read-only, with its timeout, whatever the session says (tx_read_only: 10.x name).
        limits = f"tx_read_only=1, max_statement_time={timeout_s:.3f}"
        try:
            cur.execute(f"SET STATEMENT {limits} FOR {sql}", args)
        except self.errors as exc:
            if exc.args and exc.args[0] in MARIADB_TIMEOUT:
                raise _timeout(timeout_s) from None
            raise
        return True

    def broken(self, conn: Any) -> bool:
        return not conn.dbapi_connection.open


BACKENDS = {"sqlite": _SQLite, "postgresql": _Postgres, "mysql": _MariaDB, "mariadb": _MariaDB}


class ReadOnlyDatabase:
    """The serving database, read-only: ``url`` is the serving database (an SQLite file,
    ``postgresql+psycopg://`` or ``mysql+pymysql://``), ``readonly_url`` the SELECT-only
    login to connect as (without one, only the session settings guard)."""

    def __init__(self, url: str, *, readonly_url: str | None = None) -> None:
        target = make_url(readonly_url or url)
        kind = target.get_backend_name()
        if kind != make_url(url).get_backend_name():
            raise ConfigError("the read-only URL must be for the same database as the serving URL")
        if kind not in BACKENDS:
            raise ConfigError(f"no read-only executor for {kind} databases")
        if readonly_url is None and kind != "sqlite":
            log.warning("serving database without a SELECT-only login; set SERVING_READONLY_URL")
        self.backend = BACKENDS[kind](target.render_as_string(hide_password=False))
        engine = getattr(self.backend, "engine", None)
        self.dialect: Dialect = engine.dialect if engine else target.get_dialect()()
        self.in_process = kind == "sqlite"  # no network round trip: cheap to run inline

    def prepare(self, statement: sa.Executable) -> Prepared:
        """Compile ``statement`` once for this database; values are bound at ``run``."""
        compiled = statement.compile(dialect=self.dialect)
        if compiled.post_compile_params:
            raise ValueError("expanding IN parameters are not supported; bind each value")
        positional = tuple(compiled.positiontup or ()) if compiled.positional else None
        return Prepared(compiled.string, compiled, positional)

    def run(
        self, prepared: Prepared, params: Mapping[str, Any], *, timeout_s: float, max_rows: int
    ) -> Rows:
        """Column names and at most ``max_rows`` rows; QueryTimeout past ``timeout_s``,
        QueryFailed for anything the database refuses. Thread-safe."""
        try:
            args = prepared.bind(params)
        except (sa.exc.SQLAlchemyError, KeyError, TypeError, ValueError) as exc:
            raise _failed(exc) from None
        return self.backend.run(prepared.sql, args, timeout_s, max_rows)

    def close(self) -> None:
        self.backend.close()


NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")


def provision_readonly(admin_url: str, database: str, *, role: str, password: str) -> str:
    """Create (or reset) the SELECT-only login ``role`` on ``database`` with ``admin_url``'s
    privileges and return its URL. On PostgreSQL its sessions default to read-only and it
    may also read the tables the admin creates later."""
    if not NAME.match(role):
        raise ConfigError(f"read-only role {role!r}: use lowercase letters, digits and _")
    if not (password.isascii() and password.isprintable()):  # pymysql sends it as latin-1
        raise ConfigError("read-only password: use printable ASCII characters")
    url = make_url(admin_url)
    grants = {"postgresql": _pg_grants, "mysql": _mariadb_grants, "mariadb": _mariadb_grants}
    if url.get_backend_name() not in grants:
        raise ConfigError(f"{url.get_backend_name()} needs no read-only login (read-only file)")
    engine = sa.create_engine(url.set(database=database), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            cur = conn.connection.dbapi_connection.cursor()
            grants[url.get_backend_name()](cur, database, role, password)
            cur.close()
    finally:
        engine.dispose()
    ro = url.set(username=role, password=password, database=database)
    return ro.render_as_string(hide_password=False)


def _pg_grants(cur: Any, database: str, role: str, password: str) -> None:
    from psycopg import sql

    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    verb = "ALTER" if cur.fetchone() else "CREATE"
    for statement in (
        f"{verb} ROLE {{r}} LOGIN PASSWORD {{pw}} NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOREPLICATION NOBYPASSRLS NOINHERIT",
        "ALTER ROLE {r} SET default_transaction_read_only = on",
        "ALTER ROLE {r} SET search_path = public",
        "REVOKE ALL ON DATABASE {db} FROM {r}",
        "GRANT CONNECT ON DATABASE {db} TO {r}",
        "REVOKE ALL ON SCHEMA public FROM {r}",
        "GRANT USAGE ON SCHEMA public TO {r}",
        "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {r}",
    ):
        cur.execute(
            sql.SQL(statement).format(
                r=sql.Identifier(role), db=sql.Identifier(database), pw=sql.Literal(password)
            )
        )


def _mariadb_grants(cur: Any, database: str, role: str, password: str) -> None:
    # In GRANT, `_` and `%` in a database name are wildcards: escape them.
    pattern = database.replace("`", "``").replace("_", "\\_").replace("%", "\\%%")
    user = "%s@'%%'"
    cur.execute(f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY %s", (role, password))
    cur.execute(f"ALTER USER {user} IDENTIFIED BY %s", (role, password))
    cur.execute(f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {user}", (role,))
    cur.execute(f"GRANT SELECT ON `{pattern}`.* TO {user}", (role,))
