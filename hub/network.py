"""The sandbox network: a Docker bridge marked ``internal`` whose only reachable peer is the hub.

Docker's ``internal`` flag drops traffic forwarded out of the network, ``enable_icc=false``
stops sandboxes reaching each other, and host firewall rules on the bridge interface admit
exactly the hub API, the cell-audit service and the platform API (plus replies): a sandbox
cannot reach any other port of the host, another container, or anything beyond.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass

from hub.errors import TrustlabError


@dataclass(frozen=True)
class SandboxNetwork:
    name: str
    subnet: str
    allowed_ports: tuple[int, ...]

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))

    @property
    def bridge(self) -> str:  # Linux interface names are at most 15 characters
        return "tl-" + hashlib.sha256(self.name.encode()).hexdigest()[:10]

    @property
    def chain(self) -> str:
        return "TL-" + hashlib.sha256(self.name.encode()).hexdigest()[:10].upper()

    @classmethod
    def from_settings(cls, settings) -> SandboxNetwork:
        return cls(
            settings.sandbox_network,
            settings.sandbox_subnet,
            (settings.hub_api_port, settings.audit_port, settings.api_port),
        )

    # --- docker --------------------------------------------------------------------------

    def ensure(self, client) -> None:
        """Create the network (if missing) and the firewall rules; idempotent."""
        import docker.errors
        import docker.types

        try:
            net = client.networks.get(self.name)
            opts = net.attrs.get("Options") or {}
            if not net.attrs.get("Internal") or opts.get(
                "com.docker.network.bridge.enable_icc"
            ) != ("false"):
                raise TrustlabError(
                    f"Docker network {self.name} exists but is not internal with ICC off; "
                    f"remove it (docker network rm {self.name}) and retry"
                )
        except docker.errors.NotFound:
            pool = docker.types.IPAMPool(subnet=self.subnet, gateway=self.gateway)
            try:
                client.networks.create(
                    self.name,
                    driver="bridge",
                    internal=True,
                    ipam=docker.types.IPAMConfig(pool_configs=[pool]),
                    options={
                        "com.docker.network.bridge.enable_icc": "false",
                        "com.docker.network.bridge.name": self.bridge,
                    },
                    labels={"org.trustlab.role": "sandbox-network"},
                )
            except docker.errors.APIError as exc:
                raise TrustlabError(
                    f"cannot create the sandbox network {self.name} on {self.subnet}: "
                    f"{exc.explanation}; pick a free subnet with TRUSTLAB_SANDBOX_SUBNET"
                ) from exc
        self.firewall()

    def remove(self, client) -> None:
        import docker.errors

        self.unfirewall()
        with contextlib.suppress(docker.errors.NotFound):
            client.networks.get(self.name).remove()

    # --- host firewall -------------------------------------------------------------------

    def _rules(self) -> list[list[str]]:
        ports = ",".join(str(p) for p in self.allowed_ports)
        return [
            ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            ["-p", "tcp", "-d", self.gateway, "-m", "multiport", "--dports", ports, "-j", "ACCEPT"],
            ["-j", "DROP"],
        ]

    def firewall(self) -> None:
        ipt = _iptables()
        if subprocess.run([ipt, "-n", "-L", self.chain], capture_output=True).returncode == 0:
            subprocess.run([ipt, "-F", self.chain], check=True)
        else:
            _run([ipt, "-N", self.chain])
        for rule in self._rules():
            _run([ipt, "-A", self.chain, *rule])
        jump = ["INPUT", "-i", self.bridge, "-j", self.chain]
        if subprocess.run([ipt, "-C", *jump], capture_output=True).returncode != 0:
            _run([ipt, "-I", *jump])

    def unfirewall(self) -> None:
        ipt = shutil.which("iptables")
        if ipt is None:
            return
        jump = ["INPUT", "-i", self.bridge, "-j", self.chain]
        while subprocess.run([ipt, "-D", *jump], capture_output=True).returncode == 0:
            pass
        subprocess.run([ipt, "-F", self.chain], capture_output=True)
        subprocess.run([ipt, "-X", self.chain], capture_output=True)


def _iptables() -> str:
    ipt = shutil.which("iptables") or "/usr/sbin/iptables"
    if not shutil.which(ipt):
        raise TrustlabError("iptables is missing; install Debian's iptables (docker.io needs it)")
    return ipt


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise TrustlabError(
            f"firewall rule failed ({' '.join(cmd)}): {result.stderr.strip()}; the sandbox "
            "network needs root (or CAP_NET_ADMIN) to isolate sandboxes"
        )
