"""Enforcement of contracts on what already runs: sandboxes whose mounts lapsed are stopped.

A running sandbox (a ``SandboxSession`` without ``stopped_at``) keeps its mounts only while
a contract in force still allows sandbox use of each mounted object and every mounted
column, its user is active and still a member of its project. Otherwise the monitor asks
the hub to stop the server (its work volume is kept: ``remove`` deletes the container,
never the named volume), ledgers ``sandbox.enforce`` under ``user:<name>`` with the
reason, and the hub's spawn page tells the user why (``notice``).

Feature packages add their own enforcers (``trustlab.enforcers`` entry points: a callable
``(platform) -> list[str]``); pipelines pauses the deployments whose inputs lapsed.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from sqlalchemy import select

from hub.models import LedgerEntry, Project, ProjectMember, SandboxSession, User
from hub.platform import Platform
from hub.terms import now, terms

log = logging.getLogger("trustlab.monitor")
ACTOR = "contract-monitor"


def lapsed(session: Any, row: SandboxSession) -> str | None:
    """Why ``row`` may no longer run, or None."""
    user = session.scalar(select(User).where(User.name == row.user))
    if user is None or not user.active:
        return f"user {row.user} is no longer active"
    member = session.scalar(
        select(ProjectMember).join(Project).where(Project.name == row.project,
                                                  ProjectMember.user_id == user.id))  # fmt: skip
    if member is None:
        return f"{row.user} is no longer a member of project {row.project}"
    for mount in json.loads(row.mounts or "[]"):
        t = terms(session, row.project, mount["dataset"], "sandbox")
        if t is None:
            refs = ", ".join(mount.get("contracts") or []) or "its contract"
            return (f"no contract in force allows sandbox use of {mount['dataset']} any more "
                    f"({refs} expired, was suspended or revoked)")  # fmt: skip
        outside = set(mount.get("columns") or []) - set(t.columns)
        if outside:
            return (f"contract {', '.join(t.contracts)} no longer allows column(s) "
                    f"{', '.join(sorted(outside))} of {mount['dataset']}")  # fmt: skip
    return None


class HubServers:
    """Stops servers through the hub's REST API, with the monitor service's own token."""

    def __init__(self, api_url: str, token: str, transport: Any = None) -> None:
        self.http = httpx.Client(base_url=api_url.rstrip("/"), timeout=30, transport=transport,
                                 headers={"Authorization": f"token {token}"})  # fmt: skip

    def stop(self, user: str, server: str) -> bool:
        path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
        resp = self.http.delete(path)
        if resp.status_code in (202, 204):
            return True
        if resp.status_code in (400, 404):  # not running (already stopped) or gone
            return False
        resp.raise_for_status()
        return False


def enforce_sandboxes(platform: Platform, servers: HubServers | None) -> list[str]:
    """Stop every running sandbox whose mounts lapsed; returns ``user/server`` stopped."""
    with platform.db.session() as session:
        running = session.scalars(
            select(SandboxSession).where(SandboxSession.stopped_at.is_(None))
        ).all()
        due = [(r.id, r.user, r.server_name, r.project, why) for r in running
               if (why := lapsed(session, r)) is not None]  # fmt: skip
    stopped = []
    for sid, user, server, project, why in due:
        if servers is None:
            log.warning("sandbox %s/%s should stop (%s) but no hub API is configured",
                        user, server, why)  # fmt: skip
            continue
        with platform.db.session() as session:
            platform.ledger.append(session, ACTOR, "sandbox.enforce", f"user:{user}",
                                   {"session": sid, "server": server, "project": project,
                                    "reason": why, "action": "stop"})  # fmt: skip
        if not servers.stop(user, server):  # not running in the hub: close the record
            with platform.db.session() as session:
                row = session.get(SandboxSession, sid)
                if row is not None and row.stopped_at is None:
                    row.stopped_at = now()
        stopped.append(f"{user}/{server}")
        log.info("stopped sandbox %s/%s: %s", user, server, why)
    return stopped


def notice(platform: Platform, user: str) -> str | None:
    """Why ``user``'s last sandbox was stopped by the monitor, if it was since their last
    spawn (shown on the hub's spawn page)."""
    with platform.db.session() as session:
        entry = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.subject == f"user:{user}", LedgerEntry.action == "sandbox.enforce")
            .order_by(LedgerEntry.seq.desc())
            .limit(1)
        ).first()
        if entry is None:
            return None
        spawned = session.scalars(
            select(LedgerEntry.seq)
            .where(LedgerEntry.actor == user, LedgerEntry.action == "sandbox.spawn")
            .order_by(LedgerEntry.seq.desc())
            .limit(1)
        ).first()
        if spawned is not None and spawned > entry.seq:
            return None
        payload = json.loads(entry.payload)
        return (f"{entry.time[:19].replace('T', ' ')} UTC: your sandbox in project "
                f"{payload.get('project')} was stopped: {payload.get('reason')}")  # fmt: skip
