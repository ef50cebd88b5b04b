"""Freezes (权限冻结): a high-severity alert suspends its subject at once; an operator lifts it.

- a **contract** is suspended;
- a **project**: every contract of it in force is suspended;
- a **user** is deactivated: the hub refuses their logins, the platform API their tokens,
  and the monitor stops their sandboxes at its next tick.

A freeze records exactly what it changed, so lifting it (``unfreeze``: an operator, with a
reason) restores exactly that and nothing else — a contract an owner suspended meanwhile
stays suspended. Both are ledgered (``risk.freeze``, ``risk.unfreeze``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory
from hub.models import Contract, Freeze, User
from hub.platform import Platform
from hub.terms import in_force, now

KINDS = ("user", "project", "application", "contract")


def _suspend(platform: Platform, session: Session, c: Contract, actor: str, reason: str) -> None:
    before, c.state = c.state, "suspended"
    c.state_reason, c.state_by, c.state_at = reason, actor, now()
    platform.ledger.append(session, actor, "contract.suspend", f"contract:{c.ref}",
                           {"before": before, "state": c.state, "reason": reason})  # fmt: skip


def freeze(platform: Platform, session: Session, kind: str, target: str, actor: str,
           reason: str, alert: Any = None) -> Freeze:  # fmt: skip
    if kind not in KINDS:
        raise TrustlabError(f"cannot freeze a {kind!r}; one of {', '.join(KINDS)}")
    changed: list[str] = []
    if kind == "user":
        user = session.scalar(select(User).where(User.name == target))
        if user is not None and user.active:
            user.active = False
            changed.append(f"user:{target}")
    else:
        query = select(Contract).where(Contract.state == "active")
        query = query.where(
            Contract.ref == target
            if kind == "contract"
            else (Contract.party == target) & (Contract.party_kind == kind)
        )
        for c in session.scalars(query):
            if kind == "contract" or in_force(c, now()):
                _suspend(platform, session, c, actor, reason)
                changed.append(f"contract:{c.ref}")
    row = Freeze(kind=kind, target=target, reason=reason, alert_id=getattr(alert, "id", None),
                 frozen_by=actor, frozen_at=now(), changed=json.dumps(changed))  # fmt: skip
    session.add(row)
    session.flush()
    if alert is not None:
        alert.freeze_id = row.id
    platform.ledger.append(session, actor, "risk.freeze", f"{kind}:{target}",
                           {"freeze": row.id, "alert": row.alert_id, "reason": reason,
                            "changed": changed}, seal=True)  # fmt: skip
    return row


def unfreeze(platform: Platform, freeze_id: int, operator: str, reason: str) -> dict[str, Any]:
    """Lift freeze ``freeze_id`` (an operator, with a reason): restore what it changed."""
    if not reason.strip():
        raise TrustlabError("lifting a freeze needs a reason: add --reason TEXT")
    with platform.db.session() as session:
        Directory(platform).require(operator, "operator", session=session)
        row = session.get(Freeze, freeze_id)
        if row is None:
            raise NotFound(f"no freeze {freeze_id}; see `trustlab alerts list`")
        if row.lifted_at is not None:
            raise InvalidState(f"freeze {freeze_id} was lifted by {row.lifted_by}")
        restored = []
        for item in json.loads(row.changed):
            kind, _, name = item.partition(":")
            if kind == "user":
                user = session.scalar(select(User).where(User.name == name))
                if user is not None and not user.active:
                    user.active = True
                    restored.append(item)
            else:
                c = session.scalar(select(Contract).where(Contract.ref == name))
                if c is not None and c.state == "suspended" and c.state_by == row.frozen_by:
                    c.state = "active"
                    c.state_reason, c.state_by, c.state_at = reason, operator, now()
                    platform.ledger.append(session, operator, "contract.resume",
                                           f"contract:{name}", {"before": "suspended",
                                           "state": "active", "reason": reason})  # fmt: skip
                    restored.append(item)
        row.lifted_at, row.lifted_by, row.lift_reason = now(), operator, reason
        platform.ledger.append(session, operator, "risk.unfreeze", f"{row.kind}:{row.target}",
                               {"freeze": row.id, "alert": row.alert_id, "reason": reason,
                                "restored": restored}, seal=True)  # fmt: skip
        return {**describe(row), "restored": restored}


def describe(row: Freeze) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "target": row.target, "reason": row.reason,
            "alert": row.alert_id, "frozen_by": row.frozen_by,
            "frozen_at": row.frozen_at.isoformat() if row.frozen_at else None,
            "changed": json.loads(row.changed), "lifted_by": row.lifted_by,
            "lifted_at": row.lifted_at.isoformat() if row.lifted_at else None,
            "lift_reason": row.lift_reason}  # fmt: skip


def manual_freeze(platform: Platform, kind: str, target: str, operator: str,
                  reason: str) -> dict[str, Any]:  # fmt: skip
    """An operator freezes a user, project or contract by hand (with a reason)."""
    if not reason.strip():
        raise TrustlabError("a freeze needs a reason: add --reason TEXT")
    with platform.db.session() as session:
        Directory(platform).require(operator, "operator", session=session)
        return describe(freeze(platform, session, kind, target, operator, reason))
