"""The contract monitor: a JupyterHub service that enforces contracts on what already runs.

Every ``monitor_interval`` seconds (one *tick*):

1. contracts whose end passed are recorded as expired (``Contracts.sweep``);
2. running sandboxes whose mounts lapsed are stopped (``hub.enforce``);
3. each feature's enforcer runs (``trustlab.enforcers``: pipelines pauses deployments
   whose inputs lapsed and resumes them after a renewal);
4. the risk rules read the ledger entries written since the last tick (``hub.risk``);
   a high alert freezes its subject, which the next tick enforces.

Why a hub service and not an Airflow job: it must act within a minute (a scheduler's
parse-and-queue cycle is slower and is itself one of the things it controls), it stops
servers through the hub's API with its own service token, and it runs exactly while the
hub does — sandboxes exist only then. A tick that fails (the DB or Airflow briefly away)
is logged and retried at the next one; nothing it does is lost, since each tick starts
from the current state of the metadata DB.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from hub.contracts import Contracts
from hub.enforce import HubServers, enforce_sandboxes
from hub.platform import Platform, plugins
from hub.risk import evaluate

log = logging.getLogger("trustlab.monitor")


def tick(platform: Platform, servers: HubServers | None) -> dict[str, Any]:
    """One pass of enforcement; returns what changed."""
    done: dict[str, Any] = {"expired": Contracts(platform).sweep()}
    done["stopped"] = enforce_sandboxes(platform, servers)
    for name, ep in sorted(plugins("trustlab.enforcers").items()):
        try:
            done[name] = ep.load()(platform)
        except Exception as exc:  # one feature's fault must not stop the others
            log.warning("enforcer %s failed this tick: %s", name, exc)
            done[name] = {"error": str(exc)}
    done["alerts"] = evaluate(platform)
    return done


def servers_from_env() -> HubServers | None:
    api, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    return HubServers(api, token) if api and token else None


def main() -> None:
    from hub.orphan import exit_with_parent

    exit_with_parent()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s monitor %(message)s")
    platform = Platform()
    platform.init()
    servers = servers_from_env()
    from hub.risk import rules

    rules(platform)  # a rule named in TRUSTLAB_RISK_RULES that is not installed: refused now
    every = platform.settings.monitor_interval
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # the hub's cleanup sends SIGINT first
        signal.signal(sig, lambda *_: stop.set())
    log.info("enforcing contracts every %ss", every)
    while not stop.is_set():
        try:
            changed = tick(platform, servers)
            if any(changed.values()):
                log.info("tick: %s", changed)
        except Exception as exc:  # the DB away for a moment: try again next tick
            log.warning("tick failed: %s", exc)
        stop.wait(every)
    platform.close()


if __name__ == "__main__":
    main()
