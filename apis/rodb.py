"""Interim read-only executor (SQLite only), until apis.readonly lands."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hub.errors import TrustlabError


class QueryTimeout(TrustlabError):
    """The query ran past its statement timeout."""


class QueryFailed(TrustlabError):
    """The database refused or failed the query (details logged, not returned)."""


@dataclass(frozen=True)
class Prepared:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]  # values the compiler bound itself (e.g. SQLite's OFFSET 0)


_ALLOW = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}


def _authorizer(action: int, *_args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOW else sqlite3.SQLITE_DENY


class ReadOnlyDatabase:
    def __init__(self, url: str, *, readonly_url: str | None = None) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise TrustlabError("the interim executor serves SQLite only")
        self.path = parsed.database
        self.dialect = sa.create_engine("sqlite://").dialect
        self.local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)  # fmt: skip
            conn.execute("PRAGMA query_only=1")
            conn.set_authorizer(_authorizer)
            self.local.conn = conn
        return conn

    def prepare(self, statement: Any) -> Prepared:
        compiled = statement.compile(dialect=self.dialect)
        names = tuple(compiled.positiontup or ())
        return Prepared(str(compiled), names, {n: compiled.params[n] for n in names})

    def run(self, prepared: Prepared, params: Mapping[str, Any], *, timeout_s: float,
            max_rows: int) -> tuple[list[str], list[tuple]]:  # fmt: skip
        conn = self._conn()
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        try:
            cur = conn.execute(
                prepared.sql, [params.get(n, prepared.defaults[n]) for n in prepared.names]
            )
            rows = cur.fetchmany(max_rows)
            return [d[0] for d in cur.description], rows
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout("the query took too long") from None
            raise QueryFailed("the query failed") from None
        finally:
            conn.set_progress_handler(None, 0)

    def close(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
