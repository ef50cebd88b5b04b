"""The hub's risk rules (``trustlab.risk_rules``): refusals, working hours, daily limits."""

from __future__ import annotations

import json
from datetime import time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.models import Contract
from hub.risk import Context, Finding, Rule, entry_time
from hub.terms import day, document, in_force, used_today

# What a person was refused: an API call, a spawn, a use outside a contract.
REFUSALS = ("access.refused", "sandbox.refused", "contract.refuse", "sandbox.download.refused")


class RepeatedRefusals(Rule):
    """Many refusals of one user in a short window: probing for what is not theirs
    (越权访问尝试). Refused production runs count against their project."""

    name = "repeated_refusals"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "high",
        "count": 5,
        "window_minutes": 10,
        "run_count": 3,
    }

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        since = entry_time(entry) - timedelta(minutes=float(self["window_minutes"]))
        if entry["action"] in REFUSALS and ctx.is_user(entry["actor"]):
            n = ctx.count(since, REFUSALS, actor=entry["actor"], upto=entry["seq"])
            if n >= int(self["count"]):
                return [Finding("user", entry["actor"],
                                f"{n} refusals within {self['window_minutes']} minutes",
                                {"count": n, "last": _brief(entry)})]  # fmt: skip
        if entry["action"] == "pipeline.run.refused" and entry["payload"].get("project"):
            project = entry["payload"]["project"]
            n = sum(1 for e in ctx.recent(("pipeline.run.refused",), entry["actor"],
                                          entry["seq"] + 1, 200)
                    if e["payload"].get("project") == project
                    and entry_time(e) >= since)  # fmt: skip
            if n >= int(self["run_count"]):
                return [Finding("project", project,
                                f"{n} production runs refused within "
                                f"{self['window_minutes']} minutes",
                                {"count": n, "last": _brief(entry)})]  # fmt: skip
        return []


class OffHours(Rule):
    """Data work outside working hours in the platform's time zone (非工作时间操作)."""

    name = "off_hours"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "low", "start": "08:00", "end": "20:00", "weekdays": [1, 2, 3, 4, 5],
        "quiet_minutes": 720,
        "actions": ["sandbox.spawn", "sandbox.cell", "pipeline.submit", "pipeline.trigger",
                    "contract.import"],
    }  # fmt: skip

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        if entry["action"] not in self["actions"] or not ctx.is_user(entry["actor"]):
            return []
        local = entry_time(entry).astimezone(ZoneInfo(ctx.settings.timezone))
        start, end = (time.fromisoformat(self[k]) for k in ("start", "end"))
        if local.isoweekday() in self["weekdays"] and start <= local.time() < end:
            return []
        what = (f"{entry['action']} at {local:%a %H:%M} ({ctx.settings.timezone}), outside "
                f"{self['start']}-{self['end']}")  # fmt: skip
        return [Finding("user", entry["actor"], what, {"entry": _brief(entry)})]


class LimitPressure(Rule):
    """A contract's daily limits approached (``approach`` of a limit used) or exceeded (a
    run refused for a limit) (超出限定频次)."""

    name = "limit_pressure"
    defaults: ClassVar[dict[str, Any]] = {
        "severity": "medium",
        "approach": 0.8,
        "quiet_minutes": 720,
    }

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        refusal = entry["payload"].get("contract") or entry["payload"].get("evidence") or {}
        if entry["action"] not in ("pipeline.run.refused", "access.refused", "contract.refuse"):
            return []
        if not isinstance(refusal, dict) or refusal.get("reason") != "limit":
            return []
        return [Finding("contract", refusal["contract"],
                        f"daily limit {refusal['limit']} ({refusal['allowed']:,}) exceeded: "
                        f"{refusal['used']:,} used, {refusal['requested']:,} more asked",
                        {"refusal": refusal, "entry": _brief(entry)})]  # fmt: skip

    def sweep(self, ctx: Context) -> list[Finding]:
        found = []
        tz = ctx.settings.timezone
        for c in ctx.session.scalars(select(Contract).where(Contract.state == "active")):
            if not in_force(c, ctx.now):
                continue
            limits = document(ctx.session, c).get("limits") or {}
            used = used_today(ctx.session, c.ref, ctx.now, tz)
            for key, limit_key in (("runs", "runs_per_day"), ("rows", "rows_per_day"),
                                   ("calls", "calls_per_day")):  # fmt: skip
                limit = limits.get(limit_key)
                if limit and used[key] >= float(self["approach"]) * limit:
                    found.append(Finding(
                        "contract", c.ref, f"{used[key]:,} of {limit:,} {limit_key} used on "
                        f"{day(ctx.now, tz)}", {"used": used, "limits": limits},
                        severity="low"))  # fmt: skip
                    break
        return found


def _brief(entry: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps(entry["payload"], ensure_ascii=False, default=str)
    return {"seq": entry["seq"], "time": entry["time"], "action": entry["action"],
            "subject": entry["subject"], "payload": payload[:600]}  # fmt: skip
