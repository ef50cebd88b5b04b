"""Shared fixtures: a fresh platform per test on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.platform import Platform
from hub.settings import Settings

PG_ENV = "TRUSTLAB_TEST_POSTGRES_URL"
TRUSTLAB = str(Path(sys.executable).with_name("trustlab"))


def _postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.fail(
            f"{PG_ENV} is not set: run the suite with `make test` (it starts PostgreSQL), or "
            "deselect this lane with -m 'not postgres'"
        )
    return url


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    url = _postgres_admin_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {exc}")
    finally:
        engine.dispose()
    yield url


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    name = f"tl_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_admin).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One local Spark session for the whole run (starting one takes several seconds)."""
    from sandbox.spark import spark_session

    home = tmp_path_factory.mktemp("spark-home")
    return spark_session(Settings(home=home, spark_master="local[2]"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata DB URL for each lane: SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=db_url,
        ledger_checkpoint_interval=4,
        probe_rows=500,
        actor="tester",
    )


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform(settings)
    p.init()
    yield p
    p.close()


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment that points the real `trustlab` CLI at the test's platform."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
    env.update(
        TRUSTLAB_HOME=str(settings.home),
        TRUSTLAB_DATABASE_URL=str(settings.database_url),
        TRUSTLAB_LEDGER_CHECKPOINT_INTERVAL=str(settings.ledger_checkpoint_interval),
        TRUSTLAB_PROBE_ROWS=str(settings.probe_rows),
        TRUSTLAB_ACTOR="tester",
        COLUMNS="200",
    )
    return env


def run_cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    """Run the installed `trustlab` console script."""
    return subprocess.run(
        [TRUSTLAB, *args], env=env, capture_output=True, text=True, input=stdin, timeout=300
    )


@pytest.fixture
def cli(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    """``cli("dataset", "list")`` runs the real console script against the test platform."""

    def call(
        *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return run_cli({**cli_env, **(env or {})}, *args, stdin=stdin)

    return call
