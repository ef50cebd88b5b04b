"""Metering (计量): every gateway call, written in batches, digested into the ledger.

The gateway ``record``s a call in memory (no I/O on the call's path); a background task
``flush``es the batch every ``GATEWAY_METER_FLUSH`` seconds in one insert. Every
``GATEWAY_DIGEST_INTERVAL`` seconds ``digest`` hashes the rows written since the last
digest — their settlement fields, in id order — and appends the hash to the ledger
(sealed by a signed checkpoint), so a provider and a consumer can settle usage from
evidence: ``verify`` recomputes every digest from the rows and compares it with the
ledger's copy, and finds rows inside digested ranges that no digest covers.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from apis.models import ApiCall, MeterDigest
from hub.hashing import canonical_json, digest
from hub.platform import Platform

SETTLED = (
    "id",
    "at",
    "application",
    "api",
    "version",
    "contract",
    "status",
    "rows",
    "bytes",
    "charged",
)


def _utc(t: datetime) -> str:
    t = t if t.tzinfo else t.replace(tzinfo=UTC)
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def row_digest(algorithm: str, rows: list[ApiCall]) -> str:
    lines = []
    for r in rows:
        values = {k: getattr(r, k) for k in SETTLED}
        values["at"] = _utc(r.at)
        values["charged"] = bool(r.charged)
        lines.append(canonical_json(values))
    return digest(algorithm, b"\n".join(lines)).hex()


class Meter:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.pending: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def record(self, **call: Any) -> None:
        call["at"] = datetime.now(UTC).replace(microsecond=0)
        with self.lock:
            self.pending.append(call)

    def flush(self) -> int:
        with self.lock:
            batch, self.pending = self.pending, []
        if not batch:
            return 0
        with self.platform.db.session() as session:
            session.execute(insert(ApiCall), batch)
        return len(batch)

    def digest(self, actor: str = "gateway") -> dict[str, Any] | None:
        """Digest the rows written since the last digest; None when there are none."""
        algorithm = self.platform.settings.hash_algorithm
        with self.platform.db.session() as session:
            last = session.scalar(select(func.max(MeterDigest.last_id))) or 0
            rows = list(
                session.scalars(
                    select(ApiCall).where(ApiCall.id > last).order_by(ApiCall.id).limit(100_000)
                )
            )
            if not rows:
                return None
            value = row_digest(algorithm, rows)
            per_app: dict[str, int] = {}
            for r in rows:
                per_app[r.application] = per_app.get(r.application, 0) + 1
            payload = {
                "first_id": last + 1,
                "last_id": rows[-1].id,
                "count": len(rows),
                "digest": value,
                "algorithm": algorithm,
                "calls": per_app,
                "consumption": consumption(rows, self.platform.settings.timezone),
            }
            entry = self.platform.ledger.append(
                session, actor, "api.meter.digest", "metering", payload, seal=True
            )
            session.add(
                MeterDigest(
                    first_id=last + 1,
                    last_id=rows[-1].id,
                    count=len(rows),
                    digest=value,
                    ledger_seq=entry.seq,
                )
            )
            return payload


def consumption(rows: list[ApiCall], timezone: str) -> dict[str, dict[str, Any]]:
    """Per ``application/api``, what the consumption rules read from a digest: calls and
    rows, rows of list calls and how deep they paged, the integer keys looked up (how many,
    the longest run of consecutive ones) and rows per local hour and on weekends."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    out: dict[str, dict[str, Any]] = {}
    keys: dict[str, set[int]] = {}
    for r in rows:
        name = f"{r.application}/{r.api}"
        c = out.setdefault(
            name,
            {
                "application": r.application,
                "api": r.api,
                "calls": 0,
                "rows": 0,
                "list_rows": 0,
                "deepest": 0,
                "keys": 0,
                "key_run": 0,
                "hours": [0] * 24,
                "weekend_rows": 0,
            },
        )
        c["calls"] += 1
        c["rows"] += r.rows
        detail = json.loads(r.detail) if r.detail else {}
        if "key" in detail:
            if detail["key"] is not None and r.status in (200, 404):  # hits and misses
                keys.setdefault(name, set()).add(int(detail["key"]))
        elif r.status == 200:
            c["list_rows"] += r.rows
            c["deepest"] = max(c["deepest"], detail.get("offset", 0) + r.rows)
        at = (r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)).astimezone(tz)
        c["hours"][at.hour] += r.rows
        if at.isoweekday() > 5:
            c["weekend_rows"] += r.rows
    for name, found in keys.items():
        out[name]["keys"] = len(found)
        out[name]["key_run"] = _longest_run(sorted(found))
    return out


def _longest_run(values: list[int]) -> int:
    best = run = 0
    previous = None
    for v in values:
        run = run + 1 if previous is not None and v == previous + 1 else 1
        best, previous = max(best, run), v
    return best


def verifier(platform: Platform) -> dict[str, Any]:
    """For ``trustlab audit verify`` (``trustlab.verifiers``)."""
    with platform.db.session() as session:
        checked = session.scalar(select(func.count()).select_from(MeterDigest)) or 0
    return {"checked": checked, "what": "metering digests", "problems": verify(platform)}


def verify(platform: Platform) -> list[str]:
    """Problems with the metering evidence (empty: every digest matches its rows)."""
    problems: list[str] = []
    with platform.db.session() as session:
        ledgered = {e["payload"]["last_id"]: e["payload"] for e in _entries(platform, session)}
        covered_to = 0
        for d in session.scalars(select(MeterDigest).order_by(MeterDigest.first_id)):
            claim = ledgered.pop(d.last_id, None)
            if claim is None:
                problems.append(f"metering digest {d.first_id}-{d.last_id} is not in the ledger")
                continue
            if d.first_id != covered_to + 1:
                problems.append(f"metering digests leave a gap before call {d.first_id}")
            covered_to = d.last_id
            rows = list(
                session.scalars(
                    select(ApiCall)
                    .where(ApiCall.id >= d.first_id, ApiCall.id <= d.last_id)
                    .order_by(ApiCall.id)
                )
            )
            if len(rows) != claim["count"]:
                problems.append(
                    f"calls {d.first_id}-{d.last_id}: {len(rows)} rows, the ledger "
                    f"says {claim['count']}"
                )
            elif row_digest(claim.get("algorithm", "sha256"), rows) != claim["digest"]:
                problems.append(
                    f"calls {d.first_id}-{d.last_id} differ from their ledgered "
                    "digest (a row was changed)"
                )
        for last_id in ledgered:
            problems.append(f"the ledger's metering digest up to call {last_id} has no record")
    return problems


def _entries(platform: Platform, session: Session) -> list[dict[str, Any]]:
    from hub.models import LedgerEntry

    rows = session.scalars(select(LedgerEntry).where(LedgerEntry.action == "api.meter.digest"))
    return [{"payload": json.loads(r.payload)} for r in rows]


def usage(
    platform: Platform, application: str | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Per application, API version, contract, day (in ``TRUSTLAB_TIMEZONE``) and status:
    calls, charged calls, rows and bytes."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(platform.settings.timezone)
    q = select(ApiCall).where(ApiCall.at >= start, ApiCall.at < end).order_by(ApiCall.id)
    if application:
        q = q.where(ApiCall.application == application)
    totals: dict[tuple, list[int]] = {}
    with platform.db.session() as session:
        for r in session.scalars(q).yield_per(10_000):
            at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
            key = (
                r.application,
                r.api,
                r.version,
                r.contract or "",
                at.astimezone(tz).date().isoformat(),
                r.status,
            )
            t = totals.setdefault(key, [0, 0, 0, 0])
            t[0] += 1
            t[1] += int(bool(r.charged))
            t[2] += r.rows
            t[3] += r.bytes
    return [
        {
            "application": a,
            "api": api,
            "version": v,
            "contract": c or None,
            "day": d,
            "status": s,
            "calls": n,
            "charged": ch,
            "rows": rows,
            "bytes": b,
        }
        for (a, api, v, c, d, s), (n, ch, rows, b) in sorted(totals.items())
    ]
