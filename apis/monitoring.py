"""Monitoring (监控): per API version and per application, over a recent window — calls,
client errors (4xx), server errors (5xx), error rate, p50/p95 latency, rows — and each
application's quota use today.

Read from the metering log (``api_calls``), so it shows what the gateway has flushed:
at most ``GATEWAY_METER_FLUSH`` seconds behind the calls. Quota use counts the calls
charged since midnight in ``TRUSTLAB_TIMEZONE``, as the gateway's limits do.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from apis.models import ApiCall
from hub.models import Contract, ContractVersion
from hub.platform import Platform

MAX_HOURS = 24 * 31


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    return values[max(0, math.ceil(q * len(values)) - 1)]


class _Totals:
    def __init__(self) -> None:
        self.calls = self.client = self.server = self.rows = 0
        self.latency: list[float] = []

    def add(self, status: int, rows: int, latency: float) -> None:
        self.calls += 1
        self.client += 400 <= status < 500
        self.server += status >= 500
        self.rows += rows
        self.latency.append(latency)

    def report(self) -> dict[str, Any]:
        self.latency.sort()
        return {
            "calls": self.calls,
            "client_errors": self.client,
            "server_errors": self.server,
            "error_rate": round((self.client + self.server) / self.calls, 4) if self.calls else 0,
            "p50_ms": percentile(self.latency, 0.50),
            "p95_ms": percentile(self.latency, 0.95),
            "rows": self.rows,
        }


def overview(platform: Platform, hours: float = 24, now: datetime | None = None) -> dict:
    if not 0 < hours <= MAX_HOURS:
        raise ValueError(f"give a window of more than 0 and at most {MAX_HOURS} hours")
    now = now or datetime.now(UTC)
    start = now - timedelta(hours=hours)
    tz = ZoneInfo(platform.settings.timezone)
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), datetime.min.time(), tz).astimezone(UTC)
    per_api: dict[tuple[str, int], _Totals] = {}
    per_app: dict[str, _Totals] = {}
    charged: dict[tuple[str, str, str], int] = {}  # (application, api, contract) → today
    with platform.db.session() as session:
        q = select(ApiCall.application, ApiCall.api, ApiCall.version, ApiCall.status,
                   ApiCall.rows, ApiCall.latency_ms, ApiCall.charged, ApiCall.contract,
                   ApiCall.at).where(ApiCall.at >= min(start, midnight))  # fmt: skip
        for app, api, version, status, rows, latency, paid, refs, at in session.execute(q):
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            if at >= start:
                per_api.setdefault((api, version), _Totals()).add(status, rows, latency)
                per_app.setdefault(app, _Totals()).add(status, rows, latency)
            if paid and at >= midnight:
                for ref in (refs or "").split(","):
                    if ref:
                        charged[(app, api, ref)] = charged.get((app, api, ref), 0) + 1
        quotas = _quotas(session)
    apps = []
    for name in sorted(set(per_app) | {k[0] for k in quotas} | {k[0] for k in charged}):
        use = [
            {"api": api, "contract": ref, "used": charged.get((app, api, ref), 0),
             "quota": quotas.get((app, api, ref))}
            for app, api, ref in sorted(set(quotas) | set(charged))
            if app == name
        ]  # fmt: skip
        apps.append({"application": name, **per_app.get(name, _Totals()).report(),
                     "quota_today": use})  # fmt: skip
    return {
        "from": start.isoformat(),
        "to": now.isoformat(),
        "day_started": midnight.isoformat(),
        "apis": [
            {"api": api, "version": v, **t.report()} for (api, v), t in sorted(per_api.items())
        ],
        "applications": apps,
    }


def _quotas(session: Any) -> dict[tuple[str, str, str], int]:
    """(application, api, contract) → the daily quota of each active contract's terms."""
    out: dict[tuple[str, str, str], int] = {}
    rows = session.execute(
        select(Contract.party, Contract.ref, ContractVersion.document)
        .join(
            ContractVersion,
            (ContractVersion.contract_id == Contract.id)
            & (ContractVersion.number == Contract.version),
        )
        .where(Contract.party_kind == "application", Contract.state == "active")
    )
    for party, ref, text in rows:
        for terms in json.loads(text).get("apis", []):
            out[(party, terms["api"], ref)] = int(terms["quota_per_day"])
    return out
