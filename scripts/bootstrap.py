#!/usr/bin/env python3
"""Bootstrap what trustlab needs on this machine; idempotent and quick when nothing changed.

Standard library only: this runs before any environment exists.

    python3 scripts/bootstrap.py platform            # the platform virtualenv
    python3 scripts/bootstrap.py platform postgres   # ... and a PostgreSQL server for tests
    python3 scripts/bootstrap.py mariadb redis       # MariaDB and Redis servers for tests

Everything lives outside the checkout, under ``$TRUSTLAB_CACHE`` (default
``~/.cache/trustlab``), so a fresh clone reuses it. Adding an engine that needs an
environment of its own (Airflow, the Label Studio server) is one more entry in
``ENVIRONMENTS``; adding a service is one more function in ``SERVICES``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab")
UV_VERSION = "0.13.9"
MIN_PYTHON = (3, 11)


class BootstrapError(Exception):
    """A problem the user must fix; the message says how."""


@dataclass(frozen=True)
class Environment:
    """A virtualenv under the cache.

    ``project`` environments are synced from ``pyproject.toml`` + ``uv.lock`` (frozen);
    ``requirements`` environments install a pinned requirements file (for engines whose
    pins conflict with the platform's, e.g. Airflow).
    """

    name: str
    project: bool = False
    groups: tuple[str, ...] = ()
    requirements: str | None = None
    install_project: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return CACHE / "envs" / self.name


ENVIRONMENTS: dict[str, Environment] = {
    "platform": Environment("platform", project=True, groups=("dev",)),
    # The platform plus the peers benchmarks compare against (Presidio, spaCy).
    "bench": Environment("bench", project=True, groups=("dev", "bench")),
    # Apache Airflow and its Docker/Spark providers, pinned by envs/airflow.txt; trustlab is
    # installed without dependencies so the DAG factory (stdlib + Airflow only) imports.
    "airflow": Environment("airflow", requirements="envs/airflow.txt"),
    # The Label Studio server, pinned by envs/labelstudio.txt (its own Django, pyarrow and
    # SDK); trustlab is not installed there: it talks to the server over HTTP only.
    "labelstudio": Environment(
        "labelstudio", requirements="envs/labelstudio.txt", install_project=False
    ),
}


def log(msg: str) -> None:
    print(f"[bootstrap] {msg}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(packages: list[str], why: str) -> None:
    """Install Debian packages, or tell a non-root user the exact command."""
    missing = [p for p in packages if not _dpkg_installed(p)]
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if not is_root():
        raise BootstrapError(
            f"{why} needs Debian packages {' '.join(missing)}; run: sudo apt-get update && "
            f"sudo {' '.join(cmd)}"
        )
    if not shutil.which("apt-get"):
        raise BootstrapError(
            f"{why} needs {' '.join(missing)}; install them with your package manager"
        )
    log(f"installing {' '.join(missing)} ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    stamp = Path("/var/lib/apt/periodic/update-success-stamp")
    lists = Path("/var/lib/apt/lists")
    if not stamp.exists() and not any(lists.glob("*Packages*")):
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    result = subprocess.run(cmd, env=env)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(cmd, check=True, env=env)


def _dpkg_installed(package: str) -> bool:
    if not shutil.which("dpkg-query"):
        return False
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return out.returncode == 0 and "install ok installed" in out.stdout


def python_interpreter() -> str:
    if sys.version_info < MIN_PYTHON:
        raise BootstrapError(
            f"trustlab needs Python {'.'.join(map(str, MIN_PYTHON))}+, this is "
            f"{sys.version.split()[0]}; run the Makefile with PYTHON=/path/to/python3.11"
        )
    return sys.executable


def uv() -> Path:
    """A pinned uv in a small tools venv under the cache."""
    tools = CACHE / "tools"
    exe = tools / "bin" / "uv"
    if exe.exists():
        out = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
        if out.returncode == 0 and UV_VERSION in out.stdout:
            return exe
    log(f"installing uv {UV_VERSION} into {tools}")
    result = subprocess.run(
        [python_interpreter(), "-m", "venv", "--clear", str(tools)], capture_output=True, text=True
    )
    if result.returncode != 0:
        # Debian splits ensurepip into python3-venv.
        apt_install([f"python3.{sys.version_info.minor}-venv"], "creating virtualenvs")
        subprocess.run([python_interpreter(), "-m", "venv", "--clear", str(tools)], check=True)
    subprocess.run(
        [str(tools / "bin" / "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"],
        check=True,
    )
    return exe


def uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("UV_CACHE_DIR", str(CACHE / "uv-cache"))
    env["UV_PYTHON_DOWNLOADS"] = "never"
    # Sites behind a TLS-intercepting proxy put its CA in the system bundle.
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if Path(bundle).exists():
        env.setdefault("SSL_CERT_FILE", bundle)
    env.pop("VIRTUAL_ENV", None)
    return env


def sync_environment(envdef: Environment) -> None:
    exe = uv()
    env = uv_env()
    env["UV_PROJECT_ENVIRONMENT"] = str(envdef.path)
    env.update(envdef.extra_env)
    if envdef.project:
        # Bytecode is compiled at install: sites (and CI) often set PYTHONDONTWRITEBYTECODE,
        # which would otherwise make every CLI call recompile SQLAlchemy (~2 s).
        cmd = [str(exe), "sync", "--locked", "--compile-bytecode", "--quiet"]
        cmd += ["--python", python_interpreter()]
        for group in envdef.groups:
            cmd += ["--group", group]
        subprocess.run(cmd, check=True, cwd=ROOT, env=env)
        return
    assert envdef.requirements, envdef
    req = ROOT / envdef.requirements
    stamp = envdef.path / ".trustlab-stamp"
    # The checkout is part of the stamp: the project is installed editable from it.
    digest = hashlib.sha256(req.read_bytes() + str(ROOT).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    log(f"building environment {envdef.name} at {envdef.path}")
    subprocess.run(
        [
            str(exe),
            "venv",
            "--quiet",
            "--allow-existing",
            "--python",
            python_interpreter(),
            str(envdef.path),
        ],
        check=True,
        env=env,
    )
    pip = [str(exe), "pip", "install", "--quiet", "--compile-bytecode"]
    pip += ["--python", str(envdef.path / "bin" / "python")]
    subprocess.run([*pip, "-r", str(req)], check=True, env=env)
    if envdef.install_project:
        subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True, env=env)
    stamp.write_text(digest)


# --- services ---------------------------------------------------------------------------

PG_PORT = int(os.environ.get("TRUSTLAB_TEST_PG_PORT", "55432"))
PG_URL = f"postgresql+psycopg://trustlab:trustlab@127.0.0.1:{PG_PORT}/postgres"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pg_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return candidates[0].parent if candidates else None


def postgres() -> None:
    """A private PostgreSQL cluster on 127.0.0.1:$TRUSTLAB_TEST_PG_PORT for the test lane."""
    if _port_open(PG_PORT):
        return
    if _pg_bindir() is None:
        apt_install(["postgresql"], "the PostgreSQL test lane")
    bindir = _pg_bindir()
    if bindir is None:
        raise BootstrapError(
            "PostgreSQL binaries not found after install; check /usr/lib/postgresql"
        )
    # postgres refuses to run as root; run it as the Debian package's system user.
    as_user: list[str] = []
    if is_root():
        data = Path("/var/lib/postgresql/trustlab-test")
        as_user = ["runuser", "-u", "postgres", "--"]
        data.parent.mkdir(parents=True, exist_ok=True)
        shutil.chown(data.parent, "postgres", "postgres")
    else:
        data = CACHE / "postgres"
    logfile = data.parent / "trustlab-test.log"
    if not (data / "PG_VERSION").exists():
        log(f"initializing a PostgreSQL test cluster in {data}")
        pwfile = Path("/tmp/trustlab-pg-pw")
        pwfile.write_text("trustlab\n")
        if is_root():
            shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "trustlab",
             "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        pwfile.unlink()
    log(f"starting PostgreSQL on 127.0.0.1:{PG_PORT}")
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-w", "-t", "60",
         "-o", f"-c listen_addresses=127.0.0.1 -c port={PG_PORT} -c unix_socket_directories=/tmp"
               " -c fsync=off -c max_connections=200",
         "start"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not _port_open(PG_PORT):
        if time.monotonic() > deadline:
            raise BootstrapError(f"PostgreSQL did not start; see {logfile}")
        time.sleep(0.2)


MARIADB_PORT = int(os.environ.get("TRUSTLAB_TEST_MARIADB_PORT", "53306"))
MARIADB_URL = f"mysql+pymysql://trustlab:trustlab@127.0.0.1:{MARIADB_PORT}/mysql"
REDIS_PORT = int(os.environ.get("TRUSTLAB_TEST_REDIS_PORT", "56379"))
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


def _service_dir(name: str, user: str) -> tuple[Path, str | None]:
    """The directory of test service ``name`` and the system user to run it as (None: you).

    It is ``$TRUSTLAB_CACHE/<name>``. As root the daemon runs as the Debian package's
    system ``user`` instead (a test server with well-known credentials must not run as
    root); when that user cannot reach the cache (root's home is 0700), the directory is
    ``/var/lib/trustlab-test/<name>``, as PostgreSQL's is under /var/lib/postgresql.
    """
    base = CACHE / name
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o700)
    if not is_root():
        return base, None
    shutil.chown(base, user, user)
    if subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(base)]).returncode != 0:
        with contextlib.suppress(OSError):
            base.rmdir()  # only when empty: nothing of ours was ever there
        base = Path("/var/lib/trustlab-test") / name
        base.mkdir(parents=True, exist_ok=True)
        shutil.chown(base, user, user)
        base.chmod(0o700)
    return base, user


def _wait_for_port(port: int, what: str, logfile: Path, proc: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + 60
    while not _port_open(port):
        if proc is not None and proc.poll() is not None:
            raise BootstrapError(f"{what} exited with {proc.returncode}; see {logfile}")
        if time.monotonic() > deadline:
            raise BootstrapError(f"{what} did not start within 60 s; see {logfile}")
        time.sleep(0.2)


def mariadb() -> None:
    """A private MariaDB server on 127.0.0.1:$TRUSTLAB_TEST_MARIADB_PORT for the test lane.

    User ``trustlab``/``trustlab`` holds every privilege (tests create databases and
    read-only users). Debian's own instance (/etc/mysql, port 3306) is never used:
    ``--no-defaults`` keeps its option files out.
    """
    if _port_open(MARIADB_PORT):
        return
    if not Path("/usr/sbin/mariadbd").exists():
        apt_install(["mariadb-server"], "the MariaDB test lane")
    base, user = _service_dir("mariadb", "mysql")
    data = base / "data"  # only databases in here: every directory in it is one
    files = base / "files"  # the only place SELECT ... INTO OUTFILE / LOAD DATA may touch
    logfile = base / "mariadbd.log"
    init = base / "init.sql"
    if not (data / "mysql").is_dir():
        log(f"initializing a MariaDB test server in {data}")
        as_user = ["runuser", "-u", user, "--"] if user else []
        subprocess.run(
            [*as_user, "mariadb-install-db", "--no-defaults", f"--datadir={data}",
             "--auth-root-authentication-method=socket", "--skip-test-db",
             "--skip-name-resolve"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    # Run at every start (idempotent), so the account exists however the last start ended.
    init.write_text(
        "".join(
            f"CREATE USER IF NOT EXISTS 'trustlab'@'{host}' IDENTIFIED BY 'trustlab';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO 'trustlab'@'{host}' WITH GRANT OPTION;\n"
            for host in ("127.0.0.1", "localhost")
        )
    )
    files.mkdir(exist_ok=True)
    if user:
        shutil.chown(init, user, user)
        shutil.chown(files, user, user)
    log(f"starting MariaDB on 127.0.0.1:{MARIADB_PORT}")
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(
            ["/usr/sbin/mariadbd", "--no-defaults", *([f"--user={user}"] if user else []),
             f"--datadir={data}", f"--port={MARIADB_PORT}", "--bind-address=127.0.0.1",
             "--skip-name-resolve", f"--socket={base / 'mariadbd.sock'}",
             f"--pid-file={base / 'mariadbd.pid'}", f"--log-error={logfile}",
             f"--init-file={init}", f"--secure-file-priv={files}",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
             "--innodb-flush-log-at-trx-commit=2", "--max-connections=200"],
            stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True,
        )  # fmt: skip
    _wait_for_port(MARIADB_PORT, "MariaDB", logfile, proc)


def redis() -> None:
    """A private Redis server on 127.0.0.1:$TRUSTLAB_TEST_REDIS_PORT for the test lane
    (no persistence; Debian's own instance, port 6379, is never used)."""
    if _port_open(REDIS_PORT):
        return
    if not Path("/usr/bin/redis-server").exists():
        apt_install(["redis-server"], "the Redis test lane")
    base, user = _service_dir("redis", "redis")
    logfile = base / "redis.log"
    log(f"starting Redis on 127.0.0.1:{REDIS_PORT}")
    # No config file: Debian's /etc/redis/redis.conf is its own instance's.
    subprocess.run(
        [*(["runuser", "-u", user, "--"] if user else []), "/usr/bin/redis-server",
         "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--protected-mode", "yes",
         "--daemonize", "yes", "--dir", str(base), "--pidfile", str(base / "redis.pid"),
         "--logfile", str(logfile), "--save", "", "--appendonly", "no", "--databases", "16"],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for_port(REDIS_PORT, "Redis", logfile, None)


def java() -> None:
    """A Java 17+ runtime for Spark (local mode runs inside this machine's JVM)."""
    exe = shutil.which("java")
    if exe:
        out = subprocess.run([exe, "-version"], capture_output=True, text=True)
        match = re.search(r'version "(\d+)', out.stderr)
        if match and int(match.group(1)) >= 17:
            return
    apt_install(["openjdk-17-jre-headless"], "Spark")


DOCKER_SOCKET = Path("/var/run/docker.sock")


def _docker_ping() -> bool:
    if not DOCKER_SOCKET.exists():
        return False
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(2)
        try:
            s.connect(str(DOCKER_SOCKET))
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"OK" in s.recv(256)
        except OSError:
            return False


def docker() -> None:
    """A reachable Docker engine: Debian's docker.io, started here when none runs."""
    if os.environ.get("DOCKER_HOST") or _docker_ping():
        return
    if not Path("/usr/bin/dockerd").exists() and not shutil.which("dockerd"):
        apt_install(["docker.io"], "sandboxes (Docker engine)")
    if not is_root():
        raise BootstrapError(
            "no Docker engine is reachable; start it (sudo systemctl start docker) and add "
            "yourself to the docker group, or set DOCKER_HOST"
        )
    dockerd = shutil.which("dockerd") or "/usr/bin/dockerd"
    logfile = Path("/var/log/trustlab-dockerd.log")
    log(f"starting dockerd (log: {logfile})")
    with open(logfile, "ab") as out:
        subprocess.Popen(
            [dockerd], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while not _docker_ping():
        if time.monotonic() > deadline:
            raise BootstrapError(f"dockerd did not come up within 60 s; see {logfile}")
        time.sleep(0.3)


def debootstrap() -> None:
    """debootstrap, to build the base image locally when no registry is reachable."""
    if not shutil.which("debootstrap") and not Path("/usr/sbin/debootstrap").exists():
        apt_install(["debootstrap"], "building the base image without a registry")


def chromium() -> None:
    """Debian's Chromium for browser tests (Playwright drives it; it never downloads one),
    with CJK fonts so Chinese pages render as text, not boxes."""
    apt_install(["chromium", "fonts-noto-cjk"], "browser tests")


def proxy() -> None:
    """configurable-http-proxy (npm) for JupyterHub, installed under the cache."""
    prefix = CACHE / "node"
    exe = prefix / "bin" / "configurable-http-proxy"
    if exe.exists():
        return
    if not shutil.which("npm"):
        apt_install(["npm"], "JupyterHub's proxy")
    log(f"installing configurable-http-proxy into {prefix}")
    subprocess.run(
        ["npm", "install", "--global", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--loglevel=error", f"configurable-http-proxy@{CHP_VERSION}"],
        check=True,
    )  # fmt: skip


CHP_VERSION = "5.1.0"
SWAGGER_UI_VERSION = "5.32.0"


def swagger() -> None:
    """Swagger UI's static files (npm swagger-ui-dist, OpenAPI 3.1) for the gateway's pages."""
    prefix = CACHE / "node"
    marker = prefix / "lib" / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js"
    if marker.exists():
        return
    if not shutil.which("npm"):
        apt_install(["npm"], "the gateway's Swagger UI")
    log(f"installing swagger-ui-dist {SWAGGER_UI_VERSION} into {prefix}")
    subprocess.run(
        ["npm", "install", "--global", "--prefix", str(prefix), "--no-audit", "--no-fund",
         "--loglevel=error", f"swagger-ui-dist@{SWAGGER_UI_VERSION}"],
        check=True,
    )  # fmt: skip


def wrk() -> None:
    """Debian's wrk, the gateway benchmark's load generator."""
    if not shutil.which("wrk"):
        apt_install(["wrk"], "the gateway benchmark")


SERVICES = {
    "wrk": wrk,
    "swagger": swagger,
    "postgres": postgres,
    "mariadb": mariadb,
    "redis": redis,
    "java": java,
    "uv": uv,
    "docker": docker,
    "debootstrap": debootstrap,
    "chromium": chromium,
    "proxy": proxy,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["platform"],
                        help=f"any of: {', '.join([*ENVIRONMENTS, *SERVICES])}")  # fmt: skip
    parser.add_argument("--print-path", metavar="ENV", help="print an environment's path and exit")
    args = parser.parse_args(argv)
    if args.print_path:
        print(ENVIRONMENTS[args.print_path].path)
        return 0
    try:
        for target in args.targets:
            if target in ENVIRONMENTS:
                sync_environment(ENVIRONMENTS[target])
            elif target in SERVICES:
                SERVICES[target]()
            else:
                raise BootstrapError(
                    f"unknown bootstrap target {target!r}; choose from "
                    f"{', '.join([*ENVIRONMENTS, *SERVICES])}"
                )
    except BootstrapError as exc:
        print(f"bootstrap: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"bootstrap: error: command failed ({exc.returncode}): {' '.join(map(str, exc.cmd))}",
              file=sys.stderr)  # fmt: skip
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
