"""Labeling work as evidence: each sync's metered rows (``label_work``: tasks labeled or
reviewed and seconds, per person) are digested into that sync's ledger entry, so a
provider and the labeling party can settle work from evidence; ``trustlab audit verify``
recomputes every digest (``trustlab.verifiers``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.hashing import canonical_json, digest
from hub.models import LedgerEntry
from hub.platform import Platform
from labeling.models import LabelWork

FIELDS = ("id", "project_id", "person", "kind", "tasks", "seconds")


def work_digest(algorithm: str, rows: list[LabelWork]) -> str:
    lines = [canonical_json({k: getattr(r, k) for k in FIELDS}) for r in rows]
    return digest(algorithm, b"\n".join(lines)).hex()


def evidence(platform: Platform, rows: list[LabelWork]) -> dict[str, Any]:
    """What a sync's ledger entry says of its work rows (flushed: ids assigned)."""
    alg = platform.settings.hash_algorithm
    return {"work_ids": [r.id for r in rows], "work_digest": work_digest(alg, rows),
            "algorithm": alg}  # fmt: skip


def verify(session: Session) -> tuple[int, list[str]]:
    problems: list[str] = []
    covered: set[int] = set()
    checked = 0
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.action == "label.sync"))
    for e in entries:
        claim = json.loads(e.payload)
        ids = claim.get("work_ids") or []
        if not ids:
            continue
        checked += 1
        rows = list(session.scalars(select(LabelWork).where(LabelWork.id.in_(ids))
                                    .order_by(LabelWork.id)))  # fmt: skip
        if len(rows) != len(ids):
            problems.append(f"labeling work of ledger entry {e.seq}: {len(ids) - len(rows)} "
                            "metered rows are missing")  # fmt: skip
        elif work_digest(claim.get("algorithm", "sha256"), rows) != claim["work_digest"]:
            problems.append(f"labeling work of ledger entry {e.seq} differs from its digest "
                            "(a row was changed)")  # fmt: skip
        covered.update(ids)
    stray = session.scalars(select(LabelWork.id).where(LabelWork.id.not_in(covered))).all()
    if stray:
        problems.append(f"{len(stray)} metered labeling rows are in no ledgered sync")
    return checked, problems


def verifier(platform: Platform) -> dict[str, Any]:
    with platform.db.session() as session:
        checked, problems = verify(session)
    return {"checked": checked, "what": "labeling work digests", "problems": problems}
