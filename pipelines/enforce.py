"""The pipelines enforcer the contract monitor runs each tick (``trustlab.enforcers``).

An active deployment whose project no longer holds a contract in force allowing pipeline
use of every input is **paused** in Airflow (its schedule stops; a run triggered anyway
is refused by ``verify``, and one in progress is not published), with the reason recorded
on the deployment and in the ledger. When the inputs are covered again (a renewal, a
resumed contract) the monitor unpauses exactly the deployments it paused itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select

from hub.platform import Platform
from hub.terms import terms
from pipelines.airflowctl import Airflow, AirflowError
from pipelines.models import Deployment

ACTOR = "contract-monitor"
log = logging.getLogger("trustlab.monitor")


def _lapsed(session: Any, dep: Deployment) -> list[str]:
    project = dep.version.project or ""
    inputs = json.loads(dep.version.manifest)["inputs"]
    return [name for name in inputs if terms(session, project, name, "pipeline") is None]


def enforce(platform: Platform, client: Any = None) -> list[str]:
    """Pause deployments whose inputs lapsed, resume those whose inputs are covered again;
    returns ``pause:<dag>`` / ``resume:<dag>`` for what changed."""
    with platform.db.session() as session:
        due = []
        for dep in session.scalars(select(Deployment).where(Deployment.state == "active")):
            lapsed = _lapsed(session, dep)
            if lapsed and dep.paused_reason is None:
                reason = (f"no contract in force allows pipeline use of {', '.join(lapsed)} "
                          f"for project {dep.version.project}")  # fmt: skip
                due.append(("pause", dep.id, dep.dag_id, dep.name, reason))
            elif not lapsed and dep.paused_reason is not None:
                due.append(("resume", dep.id, dep.dag_id, dep.name, dep.paused_reason))
    if not due:
        return []
    client = client or Airflow(platform.settings).client()
    changed = []
    for action, dep_id, dag_id, name, reason in due:
        try:
            client.request("PATCH", f"/dags/{dag_id}", json={"is_paused": action == "pause"})
        except AirflowError as exc:  # Airflow away: try again next tick
            log.warning("cannot %s DAG %s: %s", action, dag_id, exc)
            continue
        with platform.db.session() as session:
            dep = session.get(Deployment, dep_id)
            assert dep is not None
            dep.paused_reason = reason if action == "pause" else None
            platform.ledger.append(session, ACTOR, f"pipeline.deployment.{action}",
                                   f"pipeline:{name}",
                                   {"deployment": dep_id, "dag_id": dag_id,
                                    "reason": reason})  # fmt: skip
        changed.append(f"{action}:{dag_id}")
    return changed
