"""Shared fixtures: a fresh platform per test on SQLite and on a real PostgreSQL server;
fresh databases on real MariaDB and Redis servers."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

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


# --- MariaDB and Redis test servers (`make test` starts both on loopback) ---------------

MARIADB_ENV = "TRUSTLAB_TEST_MARIADB_URL"
REDIS_ENV = "TRUSTLAB_TEST_REDIS_URL"


def _required_url(env: str, server: str, marker: str) -> str:
    url = os.environ.get(env)
    if not url:
        pytest.fail(
            f"{env} is not set: run the suite with `make test` (it starts {server}), or "
            f"deselect this lane with -m 'not {marker}'",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def mariadb_admin() -> str:
    """The URL of an account that may create databases and users (``trustlab``)."""
    url = _required_url(MARIADB_ENV, "MariaDB", "mariadb")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"MariaDB at {make_url(url).render_as_string()} is unreachable: {exc}", pytrace=False
        )
    finally:
        engine.dispose()
    return url


@contextlib.contextmanager
def mariadb_database(admin_url: str) -> Iterator[str]:
    """A brand-new MariaDB database ``t_<random>`` (utf8mb4), as a SQLAlchemy URL with
    ``charset=utf8mb4``. On exit the sessions still using it are killed, it is dropped, and
    so are the accounts granted privileges on it (the read-only users a test makes)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    try:
        url = make_url(admin_url).set(database=name).update_query_dict({"charset": "utf8mb4"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            me = conn.execute(text("SELECT CURRENT_USER()")).scalar()
            names = {"n": name, "escaped": name.replace("_", "\\_")}
            granted = conn.execute(
                text(
                    "SELECT User, Host FROM mysql.db WHERE Db IN (:n, :escaped) UNION "
                    "SELECT User, Host FROM mysql.tables_priv WHERE Db IN (:n, :escaped) UNION "
                    "SELECT User, Host FROM mysql.columns_priv WHERE Db IN (:n, :escaped)"
                ),
                names,
            ).all()
            sessions = conn.execute(
                text(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = :n AND ID <> CONNECTION_ID()"
                ),
                names,
            ).scalars()
            for session_id in sessions:
                with contextlib.suppress(Exception):  # it may have ended meanwhile
                    conn.execute(text(f"KILL {int(session_id)}"))
            conn.execute(text("SET SESSION lock_wait_timeout = 30"))  # fail, never hang
            try:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            finally:
                for user, host in granted:
                    if f"{user}@{host}" != me:
                        conn.execute(text("DROP USER IF EXISTS :u@:h"), {"u": user, "h": host})
        admin.dispose()


@pytest.fixture
def mariadb_url(mariadb_admin: str) -> Iterator[str]:
    """A brand-new MariaDB database for one test, dropped afterwards (see
    ``mariadb_database``)."""
    with mariadb_database(mariadb_admin) as url:
        yield url


@pytest.fixture(scope="session")
def redis_admin() -> str:
    """The URL of the Redis test server; its database holds the claims of
    ``redis_database`` and is never flushed."""
    import redis

    url = _required_url(REDIS_ENV, "Redis", "redis")
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {url} is unreachable: {exc}", pytrace=False)
    finally:
        client.close()
    return url


REDIS_CLAIM = "trustlab-test:db:{}"
REDIS_CLAIM_TTL = 2 * 3600  # a run killed with SIGKILL holds its database this long at most


@contextlib.contextmanager
def redis_database(admin_url: str) -> Iterator[str]:
    """A Redis database number of one's own, as a URL: the caller may use any key in it.

    Isolation is by database number, not key prefix, so code under test needs nothing but
    the URL. The number (any but the admin URL's) is claimed with ``SET NX`` on
    ``trustlab-test:db:<n>`` in the admin URL's database, so concurrent runs never share
    one; the database is flushed (``FLUSHDB``, that database only) before use and after.
    """
    import redis

    admin = redis.Redis.from_url(admin_url, socket_timeout=5)
    admin_db = int(urlsplit(admin_url).path.strip("/") or 0)
    count = int(admin.config_get("databases")["databases"])
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    for number in (n for n in range(count) if n != admin_db):
        if admin.set(REDIS_CLAIM.format(number), owner, nx=True, ex=REDIS_CLAIM_TTL):
            break
    else:
        admin.close()
        pytest.fail(f"all {count - 1} Redis test databases at {admin_url} are claimed")
    url = urlsplit(admin_url)._replace(path=f"/{number}").geturl()
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()  # what a killed run left behind once its claim expired
        yield url
    finally:
        client.flushdb()
        client.close()
        # Release the claim only if it is still ours.
        admin.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end",
            1,
            REDIS_CLAIM.format(number),
            owner,
        )
        admin.close()


@pytest.fixture
def redis_url(redis_admin: str) -> Iterator[str]:
    """A Redis database of one's own for one test, flushed afterwards (see
    ``redis_database``)."""
    with redis_database(redis_admin) as url:
        yield url


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
        "API_PORT": 18110,
        "GATEWAY_PORT": 18200,
        "AIRFLOW_PORT": 18300,
        "LABELSTUDIO_PORT": 18400,
        "LABELING_ML_PORT": 18401,
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
            # These suites refuse their people on purpose, again and again: that must not
            # freeze them mid-suite; and what they do must not depend on the hour they run
            # at. Each rule, and freezing, is tested in test_risk.py on a set clock.
            TRUSTLAB_RISK_RULES=json.dumps(
                {
                    "repeated_refusals": {"severity": "medium"},
                    "output_spike": {"severity": "medium"},
                    "off_hours": {"enabled": False},
                }
            ),
            TRUSTLAB_MONITOR_INTERVAL="5",
            XDG_CONFIG_HOME=str(home / "config"),  # a login never touches the tester's own
            COLUMNS="200",
        )
        self.url = f"http://127.0.0.1:{self.PORTS['HUB_PORT']}"
        self.gateway = self.SUBNET.rsplit(".", 1)[0] + ".1"

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
        """The real CLI; ``token``: act as that token's owner (else host commands only)."""
        env = dict(self.env, **({"TRUSTLAB_TOKEN": token} if token else {}))
        return subprocess.run(
            [TRUSTLAB, *args], env=env, capture_output=True, text=True, timeout=1200
        )

    def as_user(self, name: str, *args: str) -> subprocess.CompletedProcess:
        """``trustlab ARGS`` as ``name`` (a real hub token from a password login)."""
        return self.cli(*args, token=self.token_of(name))

    ADMIN = "demo-admin"

    def password(self, name: str) -> str:
        return self.__dict__.get("passwords", {}).get(name) or self.credentials[name]

    def add_user(self, name: str, *roles: str, org: str | None = None) -> str:
        """Create ``name`` through the API as the platform's admin; remember its password."""
        info = self.client(self.ADMIN).post(
            "/users", {"name": name, "roles": list(roles), "org": org}
        )
        self.__dict__.setdefault("passwords", {})[name] = info["password"]
        return name

    def token_of(self, name: str) -> str:
        """A hub token of ``name``, issued by the hub for its password, scoped to the API."""
        import httpx

        cache = self.__dict__.setdefault("_tokens", {})
        if name not in cache:
            resp = httpx.post(
                f"{self.url}/hub/api/users/{name}/tokens",
                json={"auth": {"username": name, "password": self.password(name)},
                      "scopes": ["access:services!service=trustlab-api"], "expires_in": 86400},
                timeout=30,
            )  # fmt: skip
            assert resp.status_code == 201, resp.text
            cache[name] = resp.json()["token"]
        return cache[name]

    def client(self, name: str):  # type: ignore[no-untyped-def]
        from hub.client import PlatformClient

        return PlatformClient(f"{self.url}/services/trustlab-api", self.token_of(name))

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

    def ledger_entries(self, version: str) -> list[dict]:
        """Every ledger entry whose payload names pipeline version ``version``."""
        from sqlalchemy import select

        from hub.models import LedgerEntry

        p = Platform(self.settings)
        try:
            with p.db.session() as session:
                rows = session.scalars(
                    select(LedgerEntry).where(LedgerEntry.payload.contains(version))
                ).all()
                return [{"seq": e.seq, "actor": e.actor, "action": e.action} for e in rows]
        finally:
            p.close()

    def teardown(self) -> None:
        import docker

        from hub.network import SandboxNetwork

        self.cli("hub", "stop")
        self.cli("airflow", "stop")
        self.cli("label", "server", "stop")
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


class PlatformUnderTest(HubUnderTest):
    """A real JupyterHub with the platform API on one metadata DB lane (SQLite or
    PostgreSQL), no Airflow and no demo data: users are made by its first admin."""

    LANES: ClassVar[dict[str, tuple[int, str]]] = {
        "sqlite": (19000, "172.29.242.0/24"),
        "postgres": (19500, "172.29.243.0/24"),
    }

    def __init__(self, home: Path, lane: str, database_url: str) -> None:
        base, subnet = self.LANES[lane]
        self.PORTS = {"HUB_PORT": base, "HUB_API_PORT": base + 81, "AUDIT_PORT": base + 101,
                      "PROXY_API_PORT": base + 1, "CONSOLE_PORT": base + 100,
                      "API_PORT": base + 110, "GATEWAY_PORT": base + 200,
                      "LABELING_ML_PORT": base + 401}  # fmt: skip
        self.NETWORK, self.SUBNET = f"trustlab-test-api-{lane}", subnet
        super().__init__(home)
        self.env["TRUSTLAB_DATABASE_URL"] = database_url
        self.env["TRUSTLAB_LEDGER_CHECKPOINT_INTERVAL"] = "5"
        self.env["TRUSTLAB_GATEWAY_DIGEST_INTERVAL"] = "2"  # metering evidence within seconds
        self.env["TRUSTLAB_GATEWAY_METER_FLUSH"] = "0.5"
        self.env["TRUSTLAB_SOURCE_ROOTS"] = json.dumps([str(home.parent)])  # the tests' files
        self.passwords: dict[str, str] = {}
        self.lane = lane

    ADMIN = "root-admin"

    @property
    def settings(self) -> Settings:
        return Settings(home=self.home, database_url=self.env["TRUSTLAB_DATABASE_URL"])

    def start(self) -> None:
        import re

        done = self.cli("hub", "start")
        assert done.returncode == 0, done.stderr
        made = self.cli("user", "first-admin", "root-admin")
        assert made.returncode == 0, made.stderr
        self.passwords["root-admin"] = re.search(r"password: (\S+)", made.stdout).group(1)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PlatformUnderTest]:
    """A running hub + platform API per DB lane, shared by the tests of a session (they use
    names of their own)."""
    home = tmp_path_factory.mktemp(f"api-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'meta.db'}"
        drop = None
    else:
        admin_url = request.getfixturevalue("postgres_admin")
        name = f"tl_api_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    clear_stale_platforms()
    hub = PlatformUnderTest(home, request.param, url)
    _remember(hub.home, running=True)
    try:
        hub.start()
        yield hub
    finally:
        hub.teardown()
        _remember(hub.home, running=False)
        if drop is not None:
            drop()


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


def _running() -> list[tuple[int, Path]]:
    """(pid of the test run, home) of each session platform recorded as running."""
    try:
        lines = RUNNING.read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        pid, _, home = line.partition(" ")
        if pid.isdigit() and home:
            found.append((int(pid), Path(home)))
    return found


def _remember(home: Path, running: bool) -> None:
    kept = [(pid, h) for pid, h in _running() if h != home]
    if running:
        kept.append((os.getpid(), home))
    RUNNING.parent.mkdir(parents=True, exist_ok=True)
    RUNNING.write_text("".join(f"{pid} {h}\n" for pid, h in kept))


def clear_stale_platforms() -> None:
    """Stop the hub, Airflow and containers that a test run which is gone (killed with
    SIGKILL) left behind; platforms of live runs, this one included, are left alone."""
    for pid, home in _running():
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
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
        log = hub.as_user("demo-auditor", "audit", "log", "--format", "json", "--limit", "1000")
        assert log.returncode == 0, log.stderr
        hub.ledger_after_up = log.stdout
        yield hub
    finally:
        hub.teardown()
        _remember(hub.home, running=False)
