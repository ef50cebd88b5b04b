"""Engine, sessions and migrate-on-first-use for the metadata DB."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import ConfigError, DatabaseUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest hub migration. Checked against Alembic's script directory by a test; comparing
# with it lets every command skip importing Alembic (a large share of the CLI's start-up
# time) when the schema is current.
SCHEMA_HEAD = "0005"


@dataclass(frozen=True)
class MigrationSet:
    """A feature package's own Alembic branch, contributed via ``trustlab.migrations``.

    ``path`` holds its version files (first one: ``down_revision = None``,
    ``depends_on`` a hub revision, a branch label); ``head`` is its newest revision.
    """

    path: Path
    head: str


def migration_sets() -> list[MigrationSet]:
    from hub.plugins import plugins

    return [ep.load() for _, ep in sorted(plugins("trustlab.migrations").items())]


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and write-locking transactions."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            f"cannot parse database URL {url!r}; use a SQLAlchemy URL such as "
            "sqlite:///path/to.db or postgresql+psycopg://user:pass@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Take transaction control from pysqlite so BEGIN IMMEDIATE serialises writers
            # (the ledger chain needs a single writer at a time).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise ConfigError(f"cannot use database URL {_safe(url)}: {exc}") from None


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    locations = [MIGRATIONS / "versions", *(m.path for m in migration_sets())]
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    cfg.attributes["engine"] = engine
    return cfg


def current_revisions(engine: Engine) -> set[str]:
    """The schema revisions (one per branch) recorded in the DB; empty for an empty DB."""
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return set()
            return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"cannot reach the metadata DB at {_safe(str(engine.url))}: "
            f"{str(exc.orig).strip().splitlines()[0]}; check TRUSTLAB_DATABASE_URL and that "
            "the server is running"
        ) from None


def ensure_migrated(engine: Engine) -> None:
    """Bring the schema to the newest migration; one query when already there."""
    expected = {SCHEMA_HEAD} | {m.head for m in migration_sets()}
    if current_revisions(engine) != expected:
        from alembic import command

        command.upgrade(alembic_config(engine), "heads")


class Database:
    """The metadata DB: an engine plus a session factory."""

    def __init__(self, url: str) -> None:
        self.engine = create_db_engine(url)
        ensure_migrated(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed on success, rolled back (nothing written) on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()
