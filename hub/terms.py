"""What the contracts in force allow, at one point of use: the check every feature calls.

``terms(session, party, dataset, mode)`` gathers the contracts of ``party`` (a project)
that are in force now and allow ``mode`` on ``dataset``. When several do, **the narrower
wins**: the columns are the intersection of theirs, the end is the earliest, and every
contract's own daily limits apply (a use is counted against each of them). ``require``
refuses, naming what is missing; ``charge`` counts a use and refuses one that would go
beyond a daily limit. A refusal raises ``ContractRefused`` (a 403 in the platform API,
which ledgers it as ``access.refused`` with the evidence); callers outside an API request
ledger it themselves with the context they know (``ledger_refusal``).

A contract is in force when its state is ``active``, a version is approved and
``valid_from <= now < valid_until``: an expiry takes effect at these checks the moment it
passes, before the monitor records the state change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.identity import PermissionDenied
from hub.models import Contract, ContractUsage, ContractVersion, Dataset


class ContractRefused(PermissionDenied):
    """No contract in force allows this use, or a use beyond a contract's limits."""

    def __init__(self, message: str, evidence: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.evidence = evidence or {}


@dataclass(frozen=True)
class Terms:
    """The narrowed terms of the contracts in force for one (party, dataset, mode)."""

    party: str
    dataset: str
    mode: str
    columns: tuple[str, ...]  # allowed, in the dataset's order
    all_columns: bool  # every column the dataset has is allowed
    until: datetime | None
    contracts: tuple[str, ...]  # refs
    limits: dict[str, dict[str, int | None]] = field(default_factory=dict)  # ref -> limits

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "mode": self.mode, "columns": list(self.columns),
                "all_columns": self.all_columns, "contracts": list(self.contracts),
                "until": self.until.isoformat() if self.until else None}  # fmt: skip


def now() -> datetime:
    return datetime.now(UTC)


def aware(t: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored in UTC."""
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


def in_force(c: Contract, at: datetime) -> bool:
    start, end = aware(c.valid_from), aware(c.valid_until)
    return (
        c.state == "active"
        and c.version is not None
        and (start is None or start <= at)
        and (end is None or at < end)
    )


def document(session: Session, c: Contract) -> dict[str, Any]:
    """The approved document in force (``c.version``)."""
    v = session.scalar(
        select(ContractVersion).where(
            ContractVersion.contract_id == c.id, ContractVersion.number == c.version
        )
    )
    assert v is not None, f"contract {c.ref} names version {c.version}, which is missing"
    return json.loads(v.document)


def in_force_documents(
    session: Session, party: str, at: datetime, kind: str = "project"
) -> list[tuple[Contract, str]]:
    """The contracts of ``party`` (a ``kind``) in force at ``at``, each with its document
    (one query)."""
    rows = session.execute(
        select(Contract, ContractVersion.document)
        .join(ContractVersion, (ContractVersion.contract_id == Contract.id)
              & (ContractVersion.number == Contract.version))
        .where(Contract.party == party, Contract.party_kind == kind, Contract.state == "active")
    ).all()  # fmt: skip
    return [(c, text) for c, text in rows if in_force(c, at)]


def dataset_columns(session: Session, name: str) -> list[str]:
    ds = session.scalar(select(Dataset).where(Dataset.name == name))
    if ds is None:
        return []
    if ds.columns:
        return [c.name for c in ds.columns]
    latest = ds.latest
    return [c["name"] for c in json.loads(latest.schema_json)] if latest else []


def terms(
    session: Session, party: str, dataset: str, mode: str, at: datetime | None = None
) -> Terms | None:
    """The narrowed terms, or None when no contract in force allows ``mode`` on ``dataset``."""
    at = at or now()
    found: list[tuple[Contract, dict[str, Any]]] = []
    limits: dict[str, dict[str, Any]] = {}
    for c, text in in_force_documents(session, party, at):
        doc = json.loads(text)
        for obj in doc["objects"]:
            if obj["dataset"] == dataset and mode in obj["modes"]:
                found.append((c, obj))
                limits[c.ref] = doc.get("limits") or {}
    if not found:
        return None
    have = dataset_columns(session, dataset)
    allowed = set(have)
    for _, obj in found:
        if obj["columns"] != "*":
            allowed &= set(obj["columns"])
    ends = [aware(c.valid_until) for c, _ in found if c.valid_until is not None]
    return Terms(
        party=party,
        dataset=dataset,
        mode=mode,
        columns=tuple(col for col in have if col in allowed),
        all_columns=allowed == set(have),
        until=min(ends) if ends else None,  # type: ignore[type-var]
        contracts=tuple(sorted(c.ref for c, _ in found)),
        limits=limits,
    )


def require(
    session: Session,
    party: str,
    dataset: str,
    mode: str,
    columns: list[str] | None = None,
    at: datetime | None = None,
) -> Terms:
    """The terms, or ``ContractRefused`` naming the dataset, mode and columns outside them."""
    t = terms(session, party, dataset, mode, at)
    if t is None:
        raise ContractRefused(
            f"project {party!r} has no contract in force that allows {mode} use of "
            f"{dataset!r}; import one with `trustlab contract import FILE` or ask with "
            f"`trustlab contract request {party} {dataset} --mode {mode}`",
            {"party": party, "dataset": dataset, "mode": mode, "reason": "no_contract"},
        )
    outside = [c for c in columns or [] if c not in t.columns]
    if outside:
        raise ContractRefused(
            f"contract {', '.join(t.contracts)} does not allow column(s) "
            f"{', '.join(outside)} of {dataset!r} for {mode} use (allowed: "
            f"{', '.join(t.columns) or 'none'})",
            {"party": party, "dataset": dataset, "mode": mode, "reason": "columns",
             "columns": outside, "contracts": list(t.contracts)},
        )  # fmt: skip
    return t


def day(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).date().isoformat()


def used_today(session: Session, ref: str, at: datetime, tz: str) -> dict[str, int]:
    contract_id = session.scalar(select(Contract.id).where(Contract.ref == ref))
    runs, rows, calls = session.execute(
        select(
            func.coalesce(func.sum(ContractUsage.runs), 0),
            func.coalesce(func.sum(ContractUsage.rows), 0),
            func.coalesce(func.sum(ContractUsage.calls), 0),
        ).where(ContractUsage.contract_id == contract_id, ContractUsage.day == day(at, tz))
    ).one()
    return {"runs": int(runs), "rows": int(rows), "calls": int(calls)}


LIMIT_KEYS = {"runs": "runs_per_day", "rows": "rows_per_day", "calls": "calls_per_day"}


def charge(
    session: Session,
    t: Terms,
    ref: str,
    tz: str,
    runs: int = 0,
    rows: int = 0,
    calls: int = 0,
    at: datetime | None = None,
) -> dict[str, dict[str, int]]:
    """Count one use against every contract of ``t``; refuse (and count nothing) when it
    would take any of them beyond a daily limit. Returns each contract's use today."""
    at = at or now()
    want = {"runs": runs, "rows": rows, "calls": calls}
    totals: dict[str, dict[str, int]] = {}
    for cref in t.contracts:
        used = used_today(session, cref, at, tz)
        limits = t.limits.get(cref, {})
        for key, amount in want.items():
            limit = limits.get(LIMIT_KEYS[key])
            if amount and limit is not None and used[key] + amount > limit:
                raise ContractRefused(
                    f"contract {cref} allows {limit:,} {key.replace('rows', 'input rows')} "
                    f"per day ({day(at, tz)}, {tz}); {used[key]:,} used, this "
                    f"{t.mode} use needs {amount:,} more: it is refused (the limit resets "
                    "at midnight, or the contract can be amended)",
                    {"party": t.party, "dataset": t.dataset, "mode": t.mode,
                     "reason": "limit", "contract": cref, "limit": LIMIT_KEYS[key],
                     "allowed": limit, "used": used[key], "requested": amount},
                )  # fmt: skip
        totals[cref] = {k: used[k] + want[k] for k in want}
    for cref in t.contracts:
        contract_id = session.scalar(select(Contract.id).where(Contract.ref == cref))
        session.add(ContractUsage(contract_id=contract_id, day=day(at, tz), mode=t.mode,
                                  runs=runs, rows=rows, calls=calls, ref=ref, at=at))  # fmt: skip
    return totals


def ledger_refusal(platform: Any, actor: str, exc: ContractRefused, **context: Any) -> None:
    """Record a refusal in its own transaction (the refused work's was rolled back)."""
    party = exc.evidence.get("party") or context.get("party") or "unknown"
    with platform.db.session() as session:
        platform.ledger.append(session, actor, "contract.refuse", f"project:{party}",
                               {**exc.evidence, **context, "message": str(exc)})  # fmt: skip
