"""The MariaDB and Redis test servers (`make test` starts both on loopback) and the fixtures
that hand each test a database of its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import (
    MARIADB_ENV,
    REDIS_CLAIM,
    REDIS_ENV,
    _required_url,
    mariadb_database,
    redis_database,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def databases(admin_url: str) -> set[str]:
    with connect(admin_url) as conn:
        return set(conn.execute(text("SHOW DATABASES")).scalars())


@pytest.mark.parametrize(("env", "marker"), [(MARIADB_ENV, "mariadb"), (REDIS_ENV, "redis")])
def test_a_missing_server_url_fails_and_says_how(
    monkeypatch: pytest.MonkeyPatch, env: str, marker: str
) -> None:
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(pytest.fail.Exception) as failed:
        _required_url(env, "the server", marker)
    message = str(failed.value)
    assert "make test" in message and env in message and f"not {marker}" in message
    assert "\n" not in message


# --- MariaDB ------------------------------------------------------------------------------


@pytest.mark.mariadb
def test_mariadb_stores_and_reads_rows(mariadb_url: str) -> None:
    name = make_url(mariadb_url).database
    assert name and name.startswith("t_")
    with connect(mariadb_url) as conn:
        assert conn.execute(text("SELECT DATABASE()")).scalar() == name
        assert conn.execute(text("SHOW TABLES")).all() == []  # brand-new
        conn.execute(text("CREATE TABLE people (id INT PRIMARY KEY, district VARCHAR(20))"))
        conn.execute(
            text("INSERT INTO people VALUES (:id, :d)"),
            [{"id": 1, "d": "east"}, {"id": 2, "d": "west"}],
        )
        rows = conn.execute(text("SELECT id, district FROM people ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "east"), (2, "west")]


@pytest.mark.mariadb
def test_mariadb_databases_are_separate_and_dropped(mariadb_admin: str) -> None:
    with mariadb_database(mariadb_admin) as first, mariadb_database(mariadb_admin) as second:
        a, b = make_url(first).database, make_url(second).database
        assert a != b
        assert {a, b} <= databases(mariadb_admin)
        with connect(first) as conn:
            conn.execute(text("CREATE TABLE only_here (x INT)"))
            conn.execute(text("INSERT INTO only_here VALUES (1)"))
        with connect(second) as conn:
            assert conn.execute(text("SHOW TABLES")).all() == []
    assert not {a, b} & databases(mariadb_admin)


@pytest.mark.mariadb
def test_mariadb_round_trips_chinese_text_and_four_byte_characters(mariadb_url: str) -> None:
    assert make_url(mariadb_url).query["charset"] == "utf8mb4"
    value = "张伟，住在北京市朝阳区；𠮷野家 😀"  # 𠮷 and 😀 need 4 bytes: utf8mb3 refuses them
    with connect(mariadb_url) as conn:
        assert conn.execute(text("SELECT @@character_set_connection")).scalar() == "utf8mb4"
        charset = conn.execute(
            text(
                "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = DATABASE()"
            )
        ).scalar()
        assert charset == "utf8mb4"
        conn.execute(text("CREATE TABLE notes (body VARCHAR(100))"))
        conn.execute(text("INSERT INTO notes VALUES (:v)"), {"v": value})
        back, chars, octets = conn.execute(
            text("SELECT body, CHAR_LENGTH(body), LENGTH(body) FROM notes")
        ).one()
        assert (back, chars, octets) == (value, len(value), len(value.encode()))
        found = conn.execute(text("SELECT COUNT(*) FROM notes WHERE body LIKE '%朝阳区%'"))
        assert found.scalar() == 1


@pytest.mark.mariadb
def test_mariadb_read_only_users_and_their_sessions_go_with_the_database(
    mariadb_admin: str,
) -> None:
    reader = f"ro_{uuid.uuid4().hex[:8]}"
    with mariadb_database(mariadb_admin) as url:
        name = make_url(url).database
        with connect(url) as conn:
            conn.execute(text("CREATE TABLE t (x INT)"))
            conn.execute(text("INSERT INTO t VALUES (42)"))
            conn.execute(text(f"CREATE USER '{reader}'@'%' IDENTIFIED BY 'pw'"))
            conn.execute(text(f"GRANT SELECT ON `{name}`.* TO '{reader}'@'%'"))
        ro_url = make_url(url).set(username=reader, password="pw")
        ro = create_engine(ro_url)
        held = ro.connect()  # left open inside a transaction: holds a lock on `t`
        assert held.execute(text("SELECT x FROM t")).scalar() == 42
        with pytest.raises(DBAPIError) as refused:
            held.execute(text("INSERT INTO t VALUES (1)"))
        assert refused.value.orig.args[0] == 1142  # INSERT command denied
        held.execute(text("SELECT x FROM t")).scalar()
    # Leaving did not hang on that lock; the database and the account are gone.
    assert name not in databases(mariadb_admin)
    with connect(mariadb_admin) as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM mysql.user WHERE User = :u"), {"u": reader})
        assert left.scalar() == 0
    with pytest.raises(DBAPIError):
        held.execute(text("SELECT 1"))  # its session was killed
    held.invalidate()
    ro.dispose()


@pytest.mark.mariadb
def test_mariadb_server_listens_on_loopback_only(mariadb_url: str) -> None:
    with connect(mariadb_url) as conn:
        bind, port, version = conn.execute(text("SELECT @@bind_address, @@port, @@version")).one()
    assert bind == "127.0.0.1"
    assert port == make_url(mariadb_url).port
    assert "MariaDB" in version


# --- Redis --------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_incr_and_expire(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        assert client.dbsize() == 0  # brand-new
        assert client.incr("quota:alice") == 1
        assert client.incr("quota:alice") == 2
        assert client.expire("quota:alice", 60)
        assert 0 < client.ttl("quota:alice") <= 60
        client.set("window", "open")
        assert client.pexpire("window", 100)
        time.sleep(0.5)
        assert client.get("window") is None  # expired for real
        assert client.get("quota:alice") == b"2"
    finally:
        client.close()


@pytest.mark.redis
def test_redis_databases_are_separate_and_flushed(redis_admin: str) -> None:
    import redis

    admin = redis.Redis.from_url(redis_admin, socket_timeout=5)
    sentinel = f"trustlab-test:sentinel:{uuid.uuid4().hex}"
    admin.set(sentinel, "kept", ex=600)
    try:
        with redis_database(redis_admin) as first, redis_database(redis_admin) as second:
            assert first != second
            a, b = (redis.Redis.from_url(u, socket_timeout=5) for u in (first, second))
            a.set("shared-name", "first")
            b.set("shared-name", "second")
            assert a.get("shared-name") == b"first"
            assert b.get("shared-name") == b"second"
            numbers = [int(u.rsplit("/", 1)[1]) for u in (first, second)]
            assert all(admin.exists(REDIS_CLAIM.format(n)) for n in numbers)
        for client in (a, b):
            assert client.dbsize() == 0  # the keys are gone with the fixture
            client.close()
        assert not any(admin.exists(REDIS_CLAIM.format(n)) for n in numbers)
        assert admin.get(sentinel) == b"kept"  # only the fixture's own databases were flushed
    finally:
        admin.delete(sentinel)
        admin.close()


@pytest.mark.redis
def test_redis_server_is_loopback_only_and_keeps_nothing_on_disk(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        config = {k: client.config_get(k)[k] for k in ("bind", "protected-mode", "save")}
        config["appendonly"] = client.config_get("appendonly")["appendonly"]
    finally:
        client.close()
    assert config == {"bind": "127.0.0.1", "protected-mode": "yes", "save": "", "appendonly": "no"}
