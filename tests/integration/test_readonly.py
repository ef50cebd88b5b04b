"""The gateway's read-only executor against real engines: SQLite (a WAL file, as serving
writes it), PostgreSQL and MariaDB with the SELECT-only login ``provision_readonly`` makes.

Statements are handed to ``run`` directly, as if they had slipped past ``apis.sqlsafe``:
the connection itself must refuse every write, and the database must be unchanged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.engine import make_url

from apis.readonly import QueryFailed, QueryTimeout, ReadOnlyDatabase, provision_readonly
from apis.sqlsafe import check_script
from hub.db import create_db_engine
from hub.errors import ConfigError

ROWS = 1000
SLOW = "SELECT count(*) AS n FROM people a, people b, people c, people d"  # 10^12 rows


@dataclass
class Served:
    lane: str
    url: str  # the serving database with the writer's (admin) login
    readonly_url: str | None
    snapshot: Callable[[], object]

    def db(self, *, readonly: bool = True) -> ReadOnlyDatabase:
        return ReadOnlyDatabase(self.url, readonly_url=self.readonly_url if readonly else None)


def _fill(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(64), city VARCHAR(64))")
        )
        conn.execute(
            text("INSERT INTO people VALUES (:i, :n, :c)"),
            [{"i": i, "n": f"n{i}", "c": f"c{i % 7}"} for i in range(ROWS)],
        )
        conn.execute(text("CREATE VIEW people_v AS SELECT id, name, city FROM people"))


def _content(url: str) -> Callable[[], object]:
    """Every table and view of the database with all its rows."""

    def snapshot() -> object:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                names = sorted(sa.inspect(conn).get_table_names())
                names += sorted(sa.inspect(conn).get_view_names())
                return {n: conn.execute(text(f"SELECT * FROM {n} ORDER BY 1")).all() for n in names}
        finally:
            engine.dispose()

    return snapshot


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        path = tmp_path / "serving.db"
        engine = create_db_engine(f"sqlite:///{path}")  # WAL, as the serving zone is written
        _fill(engine)
        engine.dispose()
        wal = path.with_name(path.name + "-wal")

        def snapshot() -> object:
            # The file's bytes; a reader may leave an empty -wal behind, never write one.
            return hashlib.sha256(path.read_bytes()).digest(), (
                wal.read_bytes() if wal.exists() else b""
            )

        before = snapshot()
        yield Served("sqlite", f"sqlite:///{path}", None, snapshot)
        assert snapshot()[0] == before[0] and not snapshot()[1]
        return
    url = request.getfixturevalue("postgres_url" if request.param == "postgres" else "mariadb_url")
    engine = sa.create_engine(url)
    _fill(engine)
    engine.dispose()
    role = f"ro_{uuid.uuid4().hex[:10]}"
    readonly = provision_readonly(url, make_url(url).database, role=role,
                                  password=secrets.token_urlsafe(12) + "'%\\")  # fmt: skip
    snapshot = _content(url)
    before = snapshot()
    try:
        yield Served(request.param, url, readonly, snapshot)
        assert snapshot() == before
    finally:
        if request.param == "postgres":  # roles outlive the database; MariaDB's fixture drops
            _drop_role(url, role)


def _drop_role(url: str, role: str) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))
    admin.dispose()


def run(db: ReadOnlyDatabase, sql: str | sa.Executable, params: dict | None = None,
        *, timeout_s: float = 5.0, max_rows: int = 100) -> tuple[list[str], list[tuple]]:  # fmt: skip
    statement = text(sql) if isinstance(sql, str) else sql
    return db.run(db.prepare(statement), params or {}, timeout_s=timeout_s, max_rows=max_rows)


def test_reads_with_bound_parameters(served: Served) -> None:
    db = served.db()
    try:
        names, rows = run(db, "SELECT name, city FROM people WHERE id < :n ORDER BY id", {"n": 3})
        assert names == ["name", "city"]
        assert [tuple(r) for r in rows] == [("n0", "c0"), ("n1", "c1"), ("n2", "c2")]

        view = sa.table("people_v", sa.column("id"), sa.column("name"))
        wizard = sa.select(view.c.name).where(view.c.id == sa.bindparam("b0"))
        assert run(db, wizard.limit(sa.bindparam("b1")), {"b0": 42, "b1": 2})[1] == [("n42",)]

        # A checked script with literal % and : — the paramstyles must leave them alone.
        checked = check_script(
            "SELECT city, count(*) AS n FROM people WHERE name LIKE 'n1%' AND '12:30' <> :x "
            "GROUP BY city ORDER BY city",
            dialect=db.dialect.name,
            tables={"people": "people_v"},
        )
        expected: dict[str, int] = {}
        for i in range(ROWS):
            if str(i).startswith("1"):
                expected[f"c{i % 7}"] = expected.get(f"c{i % 7}", 0) + 1
        names, rows = run(db, checked.sql, {"x": "12:31"})
        assert names == ["city", "n"]
        assert [tuple(r) for r in rows] == sorted(expected.items())
    finally:
        db.close()


# Writes any login must be refused by the session itself (read-only transactions / file).
WRITES = [
    "DELETE FROM people",
    "UPDATE people SET name = 'x'",
    "INSERT INTO people VALUES (5000, 'x', 'y')",
    "CREATE TABLE evil (a INTEGER)",
    "CREATE TEMPORARY TABLE evil (a INTEGER)",
    "CREATE VIEW evil AS SELECT 1 AS a",
    "DROP VIEW people_v",
    "DROP TABLE people",
    "ALTER TABLE people ADD COLUMN evil INTEGER",
    "CREATE INDEX evil ON people (name)",
    "SELECT 1 AS a; DELETE FROM people",
    "SELECT 1 AS a; DROP TABLE people",
]
# Session changes, each followed by a write it must not enable; run in order on one
# executor. The change itself ("session:") may succeed: the writer's own login may do it.
SESSION = {
    "sqlite": [],
    "postgres": [
        "session: SET default_transaction_read_only = off",
        "DELETE FROM people",
        "session: SELECT set_config('default_transaction_read_only', 'off', false)",
        "UPDATE people SET name = 'x'",
        "session: SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "CREATE TEMPORARY TABLE evil (a INTEGER)",
    ],
    "mariadb": [
        "session: SET SESSION TRANSACTION READ WRITE",
        "DELETE FROM people",
        "session: SET SESSION tx_read_only = 0",
        "UPDATE people SET name = 'x'",
    ],
}
# What only the read-only login's lack of privileges (or SQLite's authorizer) refuses.
LOGIN = {
    "sqlite": [
        "ATTACH DATABASE 'evil.db' AS evil",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA query_only = 0",
        "PRAGMA user_version = 7",
        "VACUUM",
        "BEGIN IMMEDIATE",
        "REPLACE INTO people VALUES (1, 'x', 'y')",
    ],
    "postgres": [
        "COPY people TO '/tmp/trustlab-evil.csv'",
        "COPY people FROM '/etc/hostname'",
        "SELECT lo_import('/etc/hostname')",
        "GRANT ALL ON people TO PUBLIC",
        "TRUNCATE people",
    ],
    "mariadb": [
        "SELECT id FROM people INTO OUTFILE '/tmp/trustlab-evil.csv'",
        "LOAD DATA INFILE '/etc/hostname' INTO TABLE people",
        "GRANT ALL ON people TO CURRENT_USER",
        "TRUNCATE people",
        "REPLACE INTO people VALUES (1, 'x', 'y')",
    ],
}


def _refuse_all(db: ReadOnlyDatabase, statements: list[str]) -> None:
    for statement in statements:
        sql = statement.removeprefix("session: ")
        try:
            run(db, sql)
        except QueryFailed as exc:
            assert not set(sql.split()) & set(str(exc).split()) - {"the", "on"}, str(exc)
            continue
        assert sql != statement, f"{sql!r} was not refused"
    assert run(db, "SELECT count(*) AS n FROM people")[1] == [(ROWS,)]


def test_writes_are_refused_and_the_database_is_unchanged(served: Served) -> None:
    before = served.snapshot()
    db = served.db()
    try:
        _refuse_all(db, WRITES + SESSION[served.lane] + LOGIN[served.lane])
    finally:
        db.close()
    assert served.snapshot() == before


@pytest.mark.parametrize(  # SQLite has no login: its file is always opened read-only
    "served",
    [pytest.param("postgres", marks=pytest.mark.postgres),
     pytest.param("mariadb", marks=pytest.mark.mariadb)],
    indirect=True,
)  # fmt: skip
def test_without_the_readonly_login_the_session_still_refuses_writes(served: Served) -> None:
    before = served.snapshot()
    db = served.db(readonly=False)  # the writer's own login, as when no read-only URL is set
    try:  # its session changes succeed: the executor must not let them carry over
        _refuse_all(db, WRITES + SESSION[served.lane])
    finally:
        db.close()
    assert served.snapshot() == before


def test_a_slow_query_hits_the_timeout(served: Served) -> None:
    db = served.db()
    try:
        with pytest.raises(QueryTimeout) as caught:
            run(db, SLOW, timeout_s=0.3)
        assert "SELECT" not in str(caught.value) and "people" not in str(caught.value)
        if served.lane != "sqlite":  # SQLite refuses recursion and has no sleep
            sleep = "SELECT pg_sleep(5)" if served.lane == "postgres" else "SELECT SLEEP(5)"
            with pytest.raises(QueryTimeout):
                run(db, sleep, timeout_s=0.3)
        if served.lane == "postgres":  # MariaDB stops recursion at max_recursive_iterations
            with pytest.raises(QueryTimeout):
                run(db, "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                        "SELECT count(*) FROM r", timeout_s=0.3)  # fmt: skip
        # A statement that lifts the session's timeout does not lift the next query's.
        lift = {"postgres": "SELECT set_config('statement_timeout', '0', false) AS t",
                "mariadb": "SET SESSION max_statement_time = 0"}.get(served.lane)  # fmt: skip
        if lift:
            run(db, lift)
            with pytest.raises(QueryTimeout):
                run(db, SLOW, timeout_s=0.3)
        # The executor (and its connections) keep working afterwards.
        assert run(db, "SELECT name FROM people WHERE id = :i", {"i": 7})[1] == [("n7",)]
    finally:
        db.close()


def test_max_rows_caps_the_answer(served: Served) -> None:
    db = served.db()
    try:
        names, rows = run(db, "SELECT id FROM people ORDER BY id", max_rows=7)
        assert names == ["id"] and [r[0] for r in rows] == list(range(7))
    finally:
        db.close()


def test_errors_carry_no_sql_and_are_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    db = served.db()
    try:
        with caplog.at_level(logging.WARNING, logger="trustlab.apis.readonly"):
            with pytest.raises(QueryFailed) as caught:
                run(db, "SELECT nosuch_column FROM people WHERE id = :i", {"i": 1})
            assert "nosuch_column" not in str(caught.value)
            assert "SELECT" not in str(caught.value)
            assert "nosuch_column" in caplog.text  # the detail is for the operator's log
            with pytest.raises(QueryFailed) as caught:
                run(db, "SELECT name FROM people WHERE id = :secret_param")  # not bound
            assert "secret_param" not in str(caught.value)
            with pytest.raises(QueryFailed):  # one call runs one statement
                run(db, "SELECT 1 AS a; SELECT 2 AS b")
    finally:
        db.close()


def test_concurrent_runs_from_threads(served: Served) -> None:
    db = served.db()
    prepared = db.prepare(text("SELECT name FROM people WHERE id = :i"))
    seen: set[int] = set()

    def work(worker: int) -> list[bool]:
        seen.add(threading.get_ident())
        ids = [(worker * 37 + k) % ROWS for k in range(40)]
        got = [db.run(prepared, {"i": i}, timeout_s=5, max_rows=2)[1] for i in ids]
        return [rows == [(f"n{i}",)] for i, rows in zip(ids, got, strict=True)]

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = [ok for batch in pool.map(work, range(16)) for ok in batch]
        assert len(results) == 16 * 40 and all(results)
        assert len(seen) > 1
    finally:
        db.close()


DANGEROUS = {
    "sqlite": [
        "SELECT load_extension('/tmp/evil')",
        "SELECT zeroblob(1000000000)",
        "SELECT randomblob(1000000000)",
        "SELECT printf('%.*c', 1000000000, 'x')",
        "SELECT sqlite_version()",
        "SELECT name FROM sqlite_master",
        "SELECT name FROM sqlite_schema",
        "SELECT name FROM temp.sqlite_master",
        "SELECT * FROM pragma_table_info('people')",
        "SELECT value FROM json_each('[1,2]')",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
        # No value an answer carries is this long (a cross join concatenated).
        "SELECT length(group_concat(a.name || b.name || a.city || b.city || a.name || b.name))"
        " AS n FROM people a, people b",
    ],
    "postgres": [
        "SELECT pg_read_file('/etc/hostname')",
        "SELECT pg_ls_dir('.')",
        "SELECT current_setting('data_directory')",
        "SELECT lo_import('/etc/hostname')",
        "SELECT rolname FROM pg_authid",
    ],
    "mariadb": ["SELECT User FROM mysql.user", "SELECT * FROM mysql.db"],
}


def test_dangerous_functions_and_system_tables_are_refused(served: Served) -> None:
    db = served.db()
    try:
        for sql in DANGEROUS[served.lane]:
            with pytest.raises(QueryFailed):
                run(db, sql)
        if served.lane == "mariadb":  # without the FILE privilege LOAD_FILE reads nothing
            assert run(db, "SELECT LOAD_FILE('/etc/hostname') AS f")[1] == [(None,)]
    finally:
        db.close()


@pytest.mark.parametrize("lane", [pytest.param("postgres", marks=pytest.mark.postgres),
                                  pytest.param("mariadb", marks=pytest.mark.mariadb)])  # fmt: skip
def test_provisioning_is_idempotent_and_covers_later_tables(
    lane: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("postgres_url" if lane == "postgres" else "mariadb_url")
    database, role = make_url(url).database, f"ro_{uuid.uuid4().hex[:10]}"
    if lane == "postgres":
        request.addfinalizer(lambda: _drop_role(url, role))
    first = provision_readonly(url, database, role=role, password="first")
    with pytest.raises(ConfigError):
        provision_readonly(url, database, role=role, password="pässword")
    second = provision_readonly(url, database, role=role, password="se'c%o\\nd\"")
    assert make_url(second).username == role and make_url(second).database == database
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a table the serving writer publishes afterwards
        conn.execute(text("CREATE TABLE later (a INTEGER)"))
        conn.execute(text("INSERT INTO later VALUES (1)"))
    engine.dispose()
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # the login holds nothing but reading
        if lane == "postgres":
            flags = conn.execute(
                text("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, "
                     "rolbypassrls, rolinherit, rolcanlogin FROM pg_roles WHERE rolname = :r"),
                {"r": role},
            ).one()  # fmt: skip
            assert tuple(flags) == (False,) * 6 + (True,)
            settings = conn.execute(
                text("SELECT unnest(s.setconfig) FROM pg_db_role_setting s "
                     "JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname = :r"), {"r": role}
            ).scalars().all()  # fmt: skip
            assert "default_transaction_read_only=on" in settings
            held = conn.execute(
                text("SELECT privilege_type FROM information_schema.role_table_grants "
                     "WHERE grantee = :r"), {"r": role}
            ).scalars()  # fmt: skip
        else:
            grants = conn.execute(text(f"SHOW GRANTS FOR '{role}'@'%'")).scalars().all()
            held = [g.split(" ON ")[0].removeprefix("GRANT ") for g in grants]
        assert set(held) <= {"SELECT", "USAGE"}, held
    engine.dispose()
    db = ReadOnlyDatabase(url, readonly_url=second)
    try:
        assert run(db, "SELECT a FROM later")[1] == [(1,)]
        with pytest.raises(QueryFailed):
            run(db, "INSERT INTO later VALUES (2)")
    finally:
        db.close()
    stale = ReadOnlyDatabase(url, readonly_url=first)  # the old password no longer works
    try:
        with pytest.raises(QueryFailed):
            run(stale, "SELECT a FROM later")
    finally:
        stale.close()
