"""Consumption rules (``trustlab.risk_rules``): an application crawling within its quota.

They read the gateway's metering digests (``api.meter.digest``), whose ``consumption``
says per application and API how many calls and rows, how deep list calls paged, how many
integer keys were looked up and the longest run of consecutive ones, and rows per local
hour. A finding is about the application; a high one freezes it (its contracts are
suspended, so the gateway refuses its next call).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy import select

from hub.risk import Context, Finding, Rule, entry_time

DIGEST = ("api.meter.digest",)


def _consumption(entry: dict[str, Any]) -> list[dict[str, Any]]:
    if entry["action"] != "api.meter.digest":
        return []
    return list((entry["payload"].get("consumption") or {}).values())


def _window(entry: dict[str, Any], ctx: Context, minutes: float) -> list[dict[str, Any]]:
    """This digest and the gateway's earlier ones within ``minutes``."""
    since = entry_time(entry) - timedelta(minutes=minutes)
    earlier = [
        e for e in ctx.recent(DIGEST, entry["actor"], entry["seq"], 200) if entry_time(e) >= since
    ]
    return [entry, *earlier]


def _finding(c: dict[str, Any], summary: str, evidence: dict[str, Any]) -> Finding:
    return Finding(
        "application", c["application"], f"{c['api']}: {summary}", {"api": c["api"], **evidence}
    )


class KeyEnumeration(Rule):
    """Consecutive keys looked up one by one: walking a table through its by-key endpoint
    (遍历主键)."""

    name = "key_enumeration"
    defaults: ClassVar[dict[str, Any]] = {"severity": "high", "run": 100, "keys": 5000}

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        out = []
        for c in _consumption(entry):
            if c["key_run"] >= int(self["run"]) or c["keys"] >= int(self["keys"]):
                out.append(
                    _finding(
                        c,
                        f"{c['keys']} keys looked up, {c['key_run']} of them consecutive",
                        {"keys": c["keys"], "run": c["key_run"]},
                    )
                )
        return out


class BulkPaging(Rule):
    """List calls that page through most of a served table within the window, each call
    inside the quota (批量翻页)."""

    name = "bulk_paging"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "medium",
        "share": 0.5,
        "min_rows": 1000,
        "window_minutes": 60,
    }

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        out = []
        for c in _consumption(entry):
            rows = sum(
                d["list_rows"]
                for e in _window(entry, ctx, float(self["window_minutes"]))
                for d in _consumption(e)
                if (d["application"], d["api"]) == (c["application"], c["api"])
            )
            table = _table_rows(ctx, c["api"])
            if table and rows >= int(self["min_rows"]) and rows >= float(self["share"]) * table:
                out.append(
                    _finding(
                        c,
                        f"{rows:,} rows paged of a {table:,}-row table within "
                        f"{self['window_minutes']} minutes",
                        {"rows": rows, "table_rows": table},
                    )
                )
        return out


class CallSpike(Rule):
    """Far more calls than the application's recent digests (突增)."""

    name = "call_spike"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "medium",
        "factor": 10,
        "min_calls": 500,
        "history": 6,
    }

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        out = []
        history = ctx.recent(DIGEST, entry["actor"], entry["seq"], int(self["history"]))
        for c in _consumption(entry):
            before = [
                d["calls"]
                for e in history
                for d in _consumption(e)
                if (d["application"], d["api"]) == (c["application"], c["api"])
            ]
            usual = sum(before) / len(history) if history else 0
            if c["calls"] >= int(self["min_calls"]) and c["calls"] > float(self["factor"]) * max(
                usual, 1
            ):
                out.append(
                    _finding(
                        c,
                        f"{c['calls']} calls against {usual:.0f} per digest before",
                        {"calls": c["calls"], "usual": usual},
                    )
                )
        return out


class OffHoursBulk(Rule):
    """Many rows read outside working hours in the platform's time zone (非工作时间批量读取)."""

    name = "off_hours_bulk"
    defaults: ClassVar[dict[str, Any]] = {"severity": "low", "start": 8, "end": 20, "rows": 5000}

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        out = []
        start, end = int(self["start"]), int(self["end"])
        for c in _consumption(entry):
            night = sum(n for h, n in enumerate(c["hours"]) if not start <= h < end)
            rows = max(night, c["weekend_rows"])
            if rows >= int(self["rows"]):
                out.append(
                    _finding(
                        c,
                        f"{rows:,} rows read outside {start}:00-{end}:00 or on a weekend",
                        {"rows": rows},
                    )
                )
        return out


def _table_rows(ctx: Context, api: str) -> int | None:
    """Rows of the served table the API's newest published wizard version reads."""
    from apis.models import Api, ApiVersion, ServingTable

    cache = ctx.__dict__.setdefault("_api_table_rows", {})
    if api not in cache:
        v = ctx.session.scalar(
            select(ApiVersion)
            .join(Api, Api.id == ApiVersion.api_id)
            .where(Api.name == api, ApiVersion.state == "published")
            .order_by(ApiVersion.number.desc())
            .limit(1)
        )
        source = json.loads(v.definition).get("source") if v else None
        rows = None
        if isinstance(source, dict) and "serving" in source:
            t = ctx.session.scalar(
                select(ServingTable).where(
                    ServingTable.name == source["serving"], ServingTable.state == "current"
                )
            )
            rows = t.rows if t else None
        cache[api] = rows
    return cache[api]
