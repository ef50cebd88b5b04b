"""Shared fixtures: a fresh platform per test on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

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


# --- a real JupyterHub with Docker sandboxes (started once per run, on test-only ports) ---


class HubUnderTest:
    """``trustlab up`` in a private home, exactly as ``make up`` runs it (100,000 demo rows,
    a 10,000-row sample, demo accounts, Airflow with the demo pipeline deployed), with the
    hub and Airflow on test-only ports and network."""

    PORTS: ClassVar[dict[str, int]] = {
        "HUB_PORT": 18000,
        "HUB_API_PORT": 18081,
        "AUDIT_PORT": 18101,
        "PROXY_API_PORT": 18001,
        "CONSOLE_PORT": 18100,
        "AIRFLOW_PORT": 18300,
    }
    NETWORK = "trustlab-test-sbx"
    SUBNET = "172.29.241.0/24"

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
        self.env.update({f"TRUSTLAB_{k}": str(v) for k, v in self.PORTS.items()})
        self.env.update(
            TRUSTLAB_HOME=str(home),
            TRUSTLAB_SANDBOX_NETWORK=self.NETWORK,
            TRUSTLAB_SANDBOX_SUBNET=self.SUBNET,
            TRUSTLAB_SPARK_MASTER="local[2]",
            COLUMNS="200",
        )
        self.url = f"http://127.0.0.1:{self.PORTS['HUB_PORT']}"
        self.gateway = self.SUBNET.rsplit(".", 1)[0] + ".1"

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [TRUSTLAB, *args], env=self.env, capture_output=True, text=True, timeout=1200
        )

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home)

    @property
    def token(self) -> str:
        return (self.home / "hub" / "admin-api-token").read_text().strip()

    @property
    def credentials(self) -> dict[str, str]:
        import json

        return json.loads((self.home / "demo-credentials.json").read_text())

    def api(self):  # type: ignore[no-untyped-def]
        import httpx

        return httpx.Client(
            base_url=f"{self.url}/hub/api", headers={"Authorization": f"token {self.token}"},
            timeout=120,
        )  # fmt: skip

    def spawn(self, user: str, **options: str):  # type: ignore[no-untyped-def]
        """Ask the hub to start ``user``'s server; wait until ready. Returns the response."""
        import time

        with self.api() as api:
            api.post(f"/users/{user}")  # 201, or 409 when the hub knows the user already
            resp = api.post(f"/users/{user}/server", json=options)
            if resp.status_code >= 400:
                return resp
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                server = api.get(f"/users/{user}").json()["servers"].get("")
                if server and server.get("ready"):
                    return resp
                if not server:
                    raise AssertionError(f"{user}'s server went away while starting")
                time.sleep(0.25)
        raise AssertionError(f"{user}'s server did not become ready")

    def stop(self, user: str) -> None:
        import time

        with self.api() as api:
            api.delete(f"/users/{user}/server")
            while api.get(f"/users/{user}").json()["servers"]:
                time.sleep(0.25)

    def kernel(self, user: str):  # type: ignore[no-untyped-def]
        from kernel_client import Kernel

        return Kernel(f"{self.url}/user/{user}/", self.token)

    def ledger(self, action: str) -> list[dict]:
        import json

        from sqlalchemy import select

        from hub.models import LedgerEntry

        p = Platform(self.settings)
        try:
            with p.db.session() as session:
                rows = session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.action == action)
                    .order_by(LedgerEntry.seq)
                ).all()
                return [
                    {"seq": e.seq, "actor": e.actor, "subject": e.subject,
                     "payload": json.loads(e.payload)}
                    for e in rows
                ]  # fmt: skip
        finally:
            p.close()

    def teardown(self) -> None:
        import docker

        from hub.network import SandboxNetwork

        self.cli("hub", "stop")
        self.cli("airflow", "stop")
        client = docker.from_env()
        for container in client.containers.list(
            all=True, filters={"label": "org.trustlab.staging"}
        ):
            if container.labels["org.trustlab.staging"].startswith(str(self.home)):
                container.remove(force=True)
        for container in client.containers.list(all=True, filters={"network": self.NETWORK}):
            container.remove(force=True)
        SandboxNetwork(self.NETWORK, self.SUBNET, ()).remove(client)
        for volume in client.volumes.list():
            if volume.name.startswith(f"{self.NETWORK}-work-"):
                volume.remove(force=True)


def pytest_configure(config: pytest.Config) -> None:
    """A run ended by SIGTERM (a CI timeout, `kill`) tears down like Ctrl-C does: pytest
    runs the session fixtures' finalizers, so no hub or Airflow outlives it."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():

        def interrupt(signum: int, _frame: object) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        signal.signal(signal.SIGTERM, interrupt)


# Homes of the session platforms that are running; one a killed run left is stopped first.
RUNNING = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab") / (
    "test-platforms.txt"
)


def _running_homes() -> list[Path]:
    try:
        return [Path(line) for line in RUNNING.read_text().splitlines() if line.strip()]
    except OSError:
        return []


def _remember(home: Path, running: bool) -> None:
    homes = [h for h in _running_homes() if h != home] + ([home] if running else [])
    RUNNING.parent.mkdir(parents=True, exist_ok=True)
    RUNNING.write_text("".join(f"{h}\n" for h in homes))


def clear_stale_platforms() -> None:
    """Stop the hub, Airflow and containers of an earlier run that was killed (SIGKILL)."""
    for home in _running_homes():
        if home.exists():
            HubUnderTest(home).teardown()
        _remember(home, running=False)


@pytest.fixture(scope="session")
def hub_under_test(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubUnderTest]:
    """One hub for the whole run (sandbox, browser and audit tests share it)."""
    import docker

    try:
        docker.from_env().ping()
    except Exception as exc:
        pytest.fail(f"no Docker engine ({exc}); run the suite with `make test`, which starts one")
    clear_stale_platforms()
    hub = HubUnderTest(tmp_path_factory.mktemp("hub-home"))
    _remember(hub.home, running=True)
    try:
        hub.up = hub.cli("up")
        assert hub.up.returncode == 0, f"trustlab up failed:\n{hub.up.stdout}\n{hub.up.stderr}"
        hub.ledger_after_up = hub.cli("audit", "log", "--format", "json", "--limit", "1000").stdout
        yield hub
    finally:
        hub.teardown()
        _remember(hub.home, running=False)
