"""The embedded Label Studio server of a trustlab home.

``trustlab label server start`` runs ``label-studio start`` from the ``labelstudio``
environment (built by ``scripts/bootstrap.py labelstudio``; its own Django, pyarrow and
SDK pins) on 127.0.0.1:LABELSTUDIO_PORT in a process group of its own, with its data
under ``HOME/labelstudio``. The admin account and its API token are created
non-interactively from secrets generated once (mode 0600); outbound telemetry, version
checks and error reporting are off; sign-up needs the organisation's invite link (which
trustlab rotates after each account it creates). Media are served from the platform's
media zone through Label Studio's local-files storage only.

An external server (``TRUSTLAB_LABELSTUDIO_URL``) is used as it is: trustlab reads its
admin token from ``HOME/labelstudio/admin-token`` and starts nothing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from hub.errors import TrustlabError
from hub.settings import Settings
from labeling import ssrf

ADMIN_EMAIL = "trustlab-admin@labelstudio.local"
# Variables Label Studio reads under short names; a user's shell must not leak them in.
SCRUB = ("USERNAME", "PASSWORD", "HOST", "PORT", "USER_TOKEN", "DJANGO_DB", "DATABASE_URL")


class LabelStudioError(TrustlabError):
    """Label Studio is unreachable, not installed, or refused trustlab; the message says
    what to do."""


def env_path() -> Path:
    cache = Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab")
    return cache / "envs" / "labelstudio"


def _secret_file(path: Path, make: Any) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


@dataclass
class LabelStudioServer:
    settings: Settings

    @property
    def home(self) -> Path:
        return self.settings.home / "labelstudio"

    @property
    def url(self) -> str:
        return self.settings.labelstudio_base_url

    @property
    def embedded(self) -> bool:
        return self.settings.labelstudio_url is None

    @property
    def media_root(self) -> Path:
        """What Label Studio may serve as local files: the platform's made-safe media."""
        return self.settings.media

    @property
    def document_root(self) -> Path:
        """What Label Studio serves local files from; task URLs are relative to it."""
        return self.settings.labelstudio_document_root or self.media_root

    @property
    def pidfile(self) -> Path:
        return self.home / "trustlab-labelstudio.pid"

    def admin_token(self) -> str:
        path = self.home / "admin-token"
        if self.embedded:
            return _secret_file(path, lambda: secrets.token_hex(20))
        if not path.exists():
            raise LabelStudioError(
                f"no admin token for the Label Studio at {self.url}: write it to {path} (mode 0600)"
            )
        return path.read_text().strip()

    def install_id(self) -> str:
        """This trustlab home's mark on the accounts it makes (several homes may share one
        Label Studio)."""
        return _secret_file(self.home / "install-id", lambda: secrets.token_hex(4))

    def admin_password(self) -> str:
        return _secret_file(self.home / "admin-password", lambda: secrets.token_urlsafe(18))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUB and k != "VIRTUAL_ENV"}
        data = self.home / "data"
        self.media_root.mkdir(parents=True, exist_ok=True)
        env.update({
            "LABEL_STUDIO_BASE_DATA_DIR": str(data),
            "LABEL_STUDIO_USERNAME": ADMIN_EMAIL,
            "LABEL_STUDIO_PASSWORD": self.admin_password(),
            "LABEL_STUDIO_USER_TOKEN": self.admin_token(),
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "DISABLE_SIGNUP_WITHOUT_LINK": "true",
            "LOCAL_FILES_SERVING_ENABLED": "true",
            "LOCAL_FILES_DOCUMENT_ROOT": str(self.document_root),
            # Nothing leaves the machine: no analytics, version checks or error reports.
            "COLLECT_ANALYTICS": "false",
            "LATEST_VERSION_CHECK": "false",
            "SENTRY_DSN": "",
            "FRONTEND_SENTRY_DSN": "",
            "SENTRY_RATE": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        })  # fmt: skip
        env.update(self._database_env())
        env.update(ssrf.env(self.settings.labeling_ml_host))
        return env

    def _database_env(self) -> dict[str, str]:
        url = self.settings.labelstudio_database_url
        if url is None:
            return {"DJANGO_DB": "sqlite"}  # LABEL_STUDIO_BASE_DATA_DIR/label_studio.sqlite3
        u = make_url(url)
        if not u.drivername.startswith("postgresql"):
            raise LabelStudioError(
                f"Label Studio's database must be PostgreSQL (or the SQLite default), not "
                f"{u.drivername}; set TRUSTLAB_LABELSTUDIO_DATABASE_URL=postgresql://…"
            )
        return {
            "DJANGO_DB": "default",
            "POSTGRE_NAME": u.database or "labelstudio",
            "POSTGRE_USER": u.username or "",
            "POSTGRE_PASSWORD": u.password or "",
            "POSTGRE_HOST": u.host or "127.0.0.1",
            "POSTGRE_PORT": str(u.port or 5432),
        }

    # --- process ------------------------------------------------------------------------

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            if b"label-studio" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except (OSError, ValueError):
            pass
        return None

    def healthy(self, timeout: float = 3) -> bool:
        try:
            resp = httpx.get(f"{self.url}/health", timeout=timeout)
        except httpx.HTTPError:
            return False
        return resp.status_code == 200 and resp.json().get("status") == "UP"

    def start(self, log: Any = print, timeout: float = 240, tied: bool = False) -> int | None:
        """Start the embedded server (idempotent); wait until it answers as trustlab's.

        ``tied``: the server ends when the calling process does, however it ends (tests).
        """
        if not self.embedded:
            if not self.healthy():
                raise LabelStudioError(f"the Label Studio at {self.url} does not answer")
            log(f"Label Studio (external) at {self.url}")
            return None
        running = self.pid()
        if running and self.healthy():
            log(f"Label Studio already running at {self.url}")
            return running
        exe = env_path() / "bin" / "label-studio"
        if not exe.exists():
            raise LabelStudioError(
                f"Label Studio is not installed ({exe} missing); run `python3 "
                "scripts/bootstrap.py labelstudio` (make up does this)"
            )
        port = self.settings.labelstudio_port
        if _port_busy(port):
            # Label Studio would silently move to another port; say so instead.
            raise LabelStudioError(
                f"port {port} on 127.0.0.1 is taken by another program; stop it or set "
                "TRUSTLAB_LABELSTUDIO_PORT"
            )
        env = self.env()
        self.home.mkdir(parents=True, exist_ok=True)
        logfile = self.home / "label-studio.log"
        cmd = [str(exe), "start", "--no-browser", "--internal-host", "127.0.0.1",
               "--port", str(port), "--data-dir", str(self.home / "data"),
               "--enable-legacy-api-token"]  # fmt: skip
        if tied:
            cmd = [sys.executable, "-m", "hub.orphan", *cmd]
        log(f"starting Label Studio on {self.url} (first start migrates its database, ~30 s)")
        with open(logfile, "ab") as out:
            proc = subprocess.Popen(
                cmd, env=env, cwd=self.home, stdout=out, stderr=out,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = logfile.read_text(errors="replace").splitlines()[-15:]
                raise LabelStudioError(
                    f"Label Studio did not come up (log {logfile}):\n" + "\n".join(tail)
                )
            time.sleep(0.5)
        self._check_admin()
        log(f"Label Studio running at {self.url} (log {logfile})")
        return proc.pid

    def _check_admin(self) -> None:
        resp = httpx.get(
            f"{self.url}/api/current-user/whoami",
            headers={"Authorization": f"Token {self.admin_token()}"},
            timeout=10,
        )
        if resp.status_code != 200:
            raise LabelStudioError(
                f"Label Studio at {self.url} refuses trustlab's admin token "
                f"({resp.status_code}); is another server on that port?"
            )

    def stop(self, timeout: float = 20) -> bool:
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
                if not _alive(pid):
                    break
                time.sleep(0.2)
            else:
                continue
            break
        self.pidfile.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "embedded": self.embedded,
            "pid": self.pid(),
            "healthy": self.healthy(),
            "media_root": str(self.media_root),
            "database": "sqlite" if self.settings.labelstudio_database_url is None
            else make_url(self.settings.labelstudio_database_url).render_as_string(),
        }  # fmt: skip


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0
