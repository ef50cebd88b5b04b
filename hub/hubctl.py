"""Start, stop and query the JupyterHub of this trustlab home (``trustlab hub …``)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from hub.errors import TrustlabError
from hub.settings import Settings

CONFIG = Path(__file__).with_name("jupyterhub_config.py")


@dataclass
class Hub:
    settings: Settings

    @property
    def state(self) -> Path:
        return self.settings.home / "hub"

    @property
    def url(self) -> str:
        return f"http://{self.settings.hub_ip}:{self.settings.hub_port}"

    @property
    def api(self) -> str:
        return f"{self.url}/hub/api"

    @property
    def pidfile(self) -> Path:
        return self.state / "trustlab-hub.pid"

    @property
    def logfile(self) -> Path:
        return self.state / "jupyterhub.log"

    def admin_token(self) -> str:
        path = self.state / "admin-api-token"
        if not path.exists():
            self.state.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(
            base_url=self.api,
            headers={"Authorization": f"token {self.admin_token()}"},
            timeout=timeout,
        )

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"jupyterhub" in cmdline else None

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.api}/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def prepare(self, log=print) -> None:
        """Images built, sandbox network and firewall in place (idempotent)."""
        from hub.images import ImageBuilder, docker_client
        from hub.network import SandboxNetwork

        client = docker_client()
        ImageBuilder(client, self.settings, log=log).all()
        SandboxNetwork.from_settings(self.settings).ensure(client)

    def start(self, log=print, timeout: float = 90) -> int:
        if (pid := self.pid()) is not None and self.healthy():
            log(f"JupyterHub already running at {self.url} (pid {pid})")
            return pid
        self.prepare(log)
        self.admin_token()
        env = dict(os.environ)
        env["TRUSTLAB_HOME"] = str(self.settings.home)
        for key, value in self.settings.environment().items():
            env.setdefault(key, value)  # the hub's services get these settings as they are
        bindir = Path(sys.executable).parent
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as out:
            proc = subprocess.Popen(
                [str(bindir / "jupyterhub"), "-f", str(CONFIG)],
                cwd=self.state,
                env=env,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = self.logfile.read_text(errors="replace").splitlines()[-15:]
                if proc.poll() is None:
                    self.stop()
                raise TrustlabError(
                    f"JupyterHub did not come up (see {self.logfile}):\n" + "\n".join(tail)
                )
            time.sleep(0.3)
        log(f"JupyterHub running at {self.url} (pid {proc.pid}; log {self.logfile})")
        return proc.pid

    def _stop_proxy(self) -> None:
        """The proxy the hub started, if the hub died without stopping it (its pid file)."""
        pidfile = self.state / "proxy.pid"
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            pidfile.unlink(missing_ok=True)
            return
        if b"configurable-http-proxy" in cmdline:  # ours, not a reused pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        pidfile.unlink(missing_ok=True)

    def stop(self, timeout: float = 60) -> bool:
        pid = self.pid()
        if pid is None:
            self._stop_proxy()
            return False
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                _reap(pid)
                time.sleep(0.2)
            if not Path(f"/proc/{pid}").exists():
                break
        self.pidfile.unlink(missing_ok=True)
        self._stop_proxy()  # the hub stops it itself; not when it had to be killed
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def up_images(platform) -> None:
    """``trustlab up`` step: the sandbox and runner images, before anything runs in them
    (the demo pipeline's dry run, the hub's sandboxes); cached by content."""
    from hub.images import ImageBuilder, docker_client

    built = ImageBuilder(docker_client(), platform.settings, log=lambda m: print(f"  {m}",
                         flush=True)).all()  # fmt: skip
    for tag, image_id in built.items():
        print(f"  {tag} {image_id[:19]}")


def up(platform) -> None:
    """``trustlab up`` step: start the hub and say how to log in."""

    hub = Hub(platform.settings)
    hub.start(log=lambda m: print(f"  {m}", flush=True))
    creds_file = platform.settings.home / "demo-credentials.json"
    if creds_file.exists():
        password = json.loads(creds_file.read_text()).get("demo-dev")
        if password:
            print(f"  open {hub.url}/ and log in as demo-dev / {password}  (developer)")
            print(f"  other demo roles: {creds_file}; stop with `trustlab hub stop`")
    print(f"  reviewer console: {hub.url}/services/trustlab-console/")
