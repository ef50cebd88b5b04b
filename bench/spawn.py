"""Spawn benchmark: JupyterHub + trustlab's spawner against a bare ``docker run`` floor.

    make bench-spawn                   # or: python bench/spawn.py [--runs 10]

trustlab: from ``POST /hub/api/users/NAME/server`` until the server answers through the
proxy (``GET /user/NAME/api`` → 200), 10 sequential spawns (each stopped after), then 10
users spawning at once. Floor: ``docker run`` of the same image (same hardening and
limits, no hub, no grants, no ledger) until its Jupyter server answers on a published
port, the same number of times, sequentially and concurrently.

The benchmark runs its own platform (demo data, sample, users) in a private home, on its
own ports and Docker network, and removes the network, containers and volumes after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
import httpx

TRUSTLAB = str(Path(sys.executable).with_name("trustlab"))
PORTS = {"HUB_PORT": 28000, "HUB_API_PORT": 28081, "AUDIT_PORT": 28101, "PROXY_API_PORT": 28001,
         "CONSOLE_PORT": 28100}  # fmt: skip
NETWORK, SUBNET = "trustlab-bench-sbx", "172.29.242.0/24"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class Platform:
    def __init__(self, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
        self.env.update({f"TRUSTLAB_{k}": str(v) for k, v in PORTS.items()})
        self.env.update(
            TRUSTLAB_HOME=str(home), TRUSTLAB_SANDBOX_NETWORK=NETWORK,
            TRUSTLAB_SANDBOX_SUBNET=SUBNET, TRUSTLAB_DEMO_ROWS="5000",
            TRUSTLAB_SAMPLE_ROWS="2000",
        )  # fmt: skip
        self.home = home
        self.url = f"http://127.0.0.1:{PORTS['HUB_PORT']}"

    def cli(self, *args: str) -> str:
        out = subprocess.run([TRUSTLAB, *args], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"trustlab {' '.join(args)} failed:\n{out.stderr}")
        return out.stdout

    def client(self) -> httpx.Client:
        token = (self.home / "hub" / "admin-api-token").read_text().strip()
        return httpx.Client(headers={"Authorization": f"token {token}"}, timeout=300)

    def spawn(self, user: str) -> float:
        """Seconds from the spawn request until the server answers through the proxy."""
        with self.client() as c:
            start = time.perf_counter()
            resp = c.post(f"{self.url}/hub/api/users/{user}/server", json={"project": "demo"})
            resp.raise_for_status()
            while True:
                r = c.get(f"{self.url}/user/{user}/api", follow_redirects=False)
                if r.status_code == 200:
                    return time.perf_counter() - start
                time.sleep(0.05)

    def stop(self, user: str) -> None:
        with self.client() as c:
            c.delete(f"{self.url}/hub/api/users/{user}/server").raise_for_status()
            while c.get(f"{self.url}/hub/api/users/{user}").json()["servers"]:
                time.sleep(0.1)


class Floor:
    """``docker run`` the sandbox image with the same hardening; no hub."""

    def __init__(self, image: str) -> None:
        self.client = docker.from_env()
        self.image = image
        self.lock = threading.Lock()
        self.port = 28500

    def run(self) -> float:
        with self.lock:
            self.port += 1
            port = self.port
        start = time.perf_counter()
        container = self.client.containers.run(
            self.image,
            ["jupyter", "server", "--ip=0.0.0.0", "--port=8888", "--IdentityProvider.token=bench",
],
            detach=True, remove=True, user="1000:1000", ports={"8888/tcp": ("127.0.0.1", port)},
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"], read_only=True,
            tmpfs={"/tmp": "rw,exec,nosuid,nodev,size=1g"}, pids_limit=512,
            mem_limit="2G", nano_cpus=1_000_000_000,
            environment={"JUPYTER_RUNTIME_DIR": "/tmp/rt", "HOME": "/tmp"},
        )  # fmt: skip
        try:
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/api", timeout=2)
                    if r.status_code == 200:
                        return time.perf_counter() - start
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        finally:
            container.remove(force=True)


def row(name: str, ours: list[float], floor: list[float]) -> list[str]:
    return [
        name,
        f"{statistics.median(ours):.2f}", f"{percentile(ours, 95):.2f}",
        f"{statistics.median(floor):.2f}", f"{percentile(floor, 95):.2f}",
        f"{statistics.median(ours) / statistics.median(floor):.2f}×",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trustlab-bench-spawn-") as tmp:
        p = Platform(Path(tmp) / "home")
        print("setting up: trustlab up (demo data, sample, images, hub) …", flush=True)
        p.cli("up")
        users = [f"bench-{i:02d}" for i in range(args.runs)]
        for user in users:
            p.cli("user", "add", user, "--role", "developer")
            p.cli("project", "add-member", "demo", user)
        with p.client() as c:
            for user in users:
                c.post(f"{p.url}/hub/api/users/{user}")
        image = json.loads(p.cli("config", "--format", "json"))
        image = next(s["value"] for s in image if s["env"] == "TRUSTLAB_SANDBOX_IMAGE")
        floor = Floor(image)
        try:
            floor.run()  # warm the page cache for both sides
            p.spawn(users[0])
            p.stop(users[0])

            print(f"sequential: {args.runs} spawns each …", flush=True)
            seq_ours, seq_floor = [], []
            for user in users:
                seq_ours.append(p.spawn(user))
                p.stop(user)
                seq_floor.append(floor.run())

            print(f"concurrent: {args.runs} at once …", flush=True)
            with ThreadPoolExecutor(args.runs) as pool:
                conc_ours = list(pool.map(p.spawn, users))
            for user in users:
                p.stop(user)
            with ThreadPoolExecutor(args.runs) as pool:
                conc_floor = list(pool.map(lambda _: floor.run(), users))
        finally:  # whatever `up` started is stopped before its home goes away
            p.cli("hub", "stop")
            p.cli("airflow", "stop")
            from hub.network import SandboxNetwork

            client = docker.from_env()
            for container in client.containers.list(all=True, filters={"network": NETWORK}):
                container.remove(force=True)
            SandboxNetwork(NETWORK, SUBNET, ()).remove(client)
            for volume in client.volumes.list():
                if volume.name.startswith(f"{NETWORK}-work-"):
                    volume.remove(force=True)

    header = ["spawn → server answers (s)", "trustlab p50", "trustlab p95", "docker run p50",
              "docker run p95", "ratio p50"]  # fmt: skip
    rows = [
        row(f"{args.runs} sequential", seq_ours, seq_floor),
        row(f"{args.runs} concurrent", conc_ours, conc_floor),
    ]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nmachine: {os.cpu_count()} cores; image {image}")


if __name__ == "__main__":
    main()
