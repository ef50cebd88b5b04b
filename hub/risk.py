"""Risk-behaviour monitoring (风险行为检测): registered rules over the ledger as it grows.

The contract monitor (``hub.monitor``) reads the ledger entries after the last sequence it
processed (kept in ``platform_state`` as ``risk.seq``, so a monitor that was down resumes
where it stopped and sees every entry once), and hands each to every enabled rule. A rule
is a small class registered under the ``trustlab.risk_rules`` entry points:

    class MyRule(Rule):
        name = "my_rule"
        defaults = {"severity": "medium", ...}
        def observe(self, entry, ctx) -> list[Finding]: ...   # per ledger entry
        def sweep(self, ctx) -> list[Finding]: ...            # once per tick (optional)

Settings per rule come from ``TRUSTLAB_RISK_RULES`` (JSON: ``{"rule": {"key": value,
"enabled": false}}``) over the rule's ``defaults``. A finding becomes an **alert**: a
``risk.alert`` ledger entry carrying its evidence, and a ``risk_alerts`` row. The same
rule does not alert twice on one subject while an earlier alert's ``quiet_minutes`` last.
A ``high`` alert freezes its subject at once (``hub.freeze``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.models import LedgerEntry, PlatformState, RiskAlert, User
from hub.platform import Platform, plugins
from hub.terms import aware

log = logging.getLogger("trustlab.monitor")
SEQ_KEY = "risk.seq"
ACTOR = "risk-monitor"
BATCH = 500
_LOCK = 7_413_002  # PostgreSQL advisory lock: monitors take turns on the cursor
SEVERITIES = ("low", "medium", "high")
LastSeen = dict[tuple[str, str, str], "datetime | None"]  # (rule, kind, subject) -> newest


@dataclass
class Finding:
    """What a rule saw: about whom (a user, project or contract), how bad, and why."""

    subject_kind: str  # user | project | contract
    subject: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    severity: str | None = None  # default: the rule's setting


@dataclass
class Context:
    platform: Platform
    session: Session
    now: datetime

    @property
    def settings(self) -> Any:
        return self.platform.settings

    def is_user(self, name: str) -> bool:
        known = self.__dict__.setdefault("_users", {})
        if name not in known:
            known[name] = self.session.scalar(select(User.id).where(User.name == name)) is not None
        return known[name]

    def count(self, since: datetime, actions: tuple[str, ...], actor: str | None = None,
              subject: str | None = None, upto: int | None = None) -> int:  # fmt: skip
        """Ledger entries of ``actions`` since ``since`` (by actor/subject, up to seq)."""
        query = (
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.action.in_(actions), LedgerEntry.time >= iso(since))
        )
        if actor is not None:
            query = query.where(LedgerEntry.actor == actor)
        if subject is not None:
            query = query.where(LedgerEntry.subject == subject)
        if upto is not None:
            query = query.where(LedgerEntry.seq <= upto)
        return int(self.session.scalar(query) or 0)

    def recent(self, actions: tuple[str, ...], actor: str, before: int,
               limit: int) -> list[dict[str, Any]]:  # fmt: skip
        """The ``limit`` entries of ``actions`` by ``actor`` before seq ``before``."""
        rows = self.session.scalars(
            select(LedgerEntry).where(LedgerEntry.action.in_(actions),
                                      LedgerEntry.actor == actor, LedgerEntry.seq < before)
            .order_by(LedgerEntry.seq.desc()).limit(limit))  # fmt: skip
        return [as_dict(e) for e in rows]


class Rule:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = {"severity": "medium", "quiet_minutes": 60, "enabled": True,
                         **self.defaults, **settings}  # fmt: skip

    def __getitem__(self, key: str) -> Any:
        return self.settings[key]

    def observe(self, entry: dict[str, Any], ctx: Context) -> list[Finding]:
        return []

    def sweep(self, ctx: Context) -> list[Finding]:
        return []


def iso(t: datetime) -> str:
    """The ledger's own time format (so text comparison is time order)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_time(entry: dict[str, Any]) -> datetime:
    return aware(datetime.fromisoformat(entry["time"].replace("Z", "+00:00")))  # type: ignore[return-value]


def as_dict(e: LedgerEntry) -> dict[str, Any]:
    return {"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action,
            "subject": e.subject, "payload": json.loads(e.payload), "hash": e.hash}  # fmt: skip


def rules(platform: Platform) -> list[Rule]:
    """The enabled rules with their settings (unknown names in the settings are refused)."""
    from hub.errors import ConfigError

    found = plugins("trustlab.risk_rules")
    configured = platform.settings.risk_rules
    unknown = sorted(set(configured) - set(found))
    if unknown:
        raise ConfigError(f"TRUSTLAB_RISK_RULES names unknown rule(s) {', '.join(unknown)}; "
                          f"installed: {', '.join(sorted(found))}")  # fmt: skip
    made = [found[name].load()(configured.get(name, {})) for name in sorted(found)]
    return [r for r in made if r["enabled"]]


def _quiet(session: Session, rule: Rule, f: Finding, now: datetime,
           last_seen: LastSeen) -> bool:  # fmt: skip
    """Whether an alert of ``rule`` on this subject is recent (``last_seen`` caches the
    newest alert time per rule and subject for one evaluation)."""
    key = (rule.name, f.subject_kind, f.subject)
    if key not in last_seen:
        last_seen[key] = aware(session.scalar(select(func.max(RiskAlert.created_at)).where(
            RiskAlert.rule == rule.name, RiskAlert.subject_kind == f.subject_kind,
            RiskAlert.subject == f.subject)))  # fmt: skip
    last = last_seen[key]
    return last is not None and last >= now - timedelta(minutes=float(rule["quiet_minutes"]))


def raise_alert(platform: Platform, session: Session, rule: Rule, f: Finding,
                now: datetime, trigger: int | None,
                last_seen: LastSeen) -> RiskAlert | None:  # fmt: skip
    """Record ``f`` as an alert (unless quiet), and freeze its subject when high."""
    from hub.freeze import freeze

    if _quiet(session, rule, f, now, last_seen):
        return None
    last_seen[(rule.name, f.subject_kind, f.subject)] = now
    severity = f.severity or rule["severity"]
    alert = RiskAlert(rule=rule.name, severity=severity, subject_kind=f.subject_kind,
                      subject=f.subject, summary=f.summary,
                      evidence=json.dumps(f.evidence, ensure_ascii=False, default=str),
                      trigger_seq=trigger, created_at=now)  # fmt: skip
    session.add(alert)
    session.flush()
    entry = platform.ledger.append(session, ACTOR, "risk.alert", f"{f.subject_kind}:{f.subject}",
                                   {"alert": alert.id, "rule": rule.name, "severity": severity,
                                    "summary": f.summary, "evidence": f.evidence,
                                    "trigger_seq": trigger}, seal=severity == "high")  # fmt: skip
    alert.ledger_seq = entry.seq
    if severity == "high":
        freeze(
            platform,
            session,
            f.subject_kind,
            f.subject,
            ACTOR,
            f"alert {alert.id} ({rule.name}): {f.summary}",
            alert,
        )
    log.info("alert %s %s %s:%s %s", alert.id, severity, f.subject_kind, f.subject, f.summary)
    return alert


def evaluate(platform: Platform, now: datetime | None = None) -> list[int]:
    """Feed the new ledger entries to the rules, then run their sweeps; returns the ids of
    the alerts raised. Entries the monitor writes itself are not fed back."""
    from hub.terms import now as clock

    now = now or clock()
    active = rules(platform)
    raised: list[int] = []
    last_seen: LastSeen = {}
    while True:
        with platform.db.session() as session:
            if session.get_bind().dialect.name == "postgresql":  # one monitor at a time
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
            state = session.get(PlatformState, SEQ_KEY)
            done = int(state.value) if state else 0
            batch = [as_dict(e) for e in session.scalars(
                select(LedgerEntry).where(LedgerEntry.seq > done)
                .order_by(LedgerEntry.seq).limit(BATCH))]  # fmt: skip
            if not batch:
                break
            ctx = Context(platform, session, now)
            for entry in batch:
                if entry["actor"] in (ACTOR,):
                    continue
                for rule in active:
                    for f in rule.observe(entry, ctx):
                        alert = raise_alert(platform, session, rule, f, now, entry["seq"],
                                            last_seen)  # fmt: skip
                        if alert is not None:
                            raised.append(alert.id)
            last = batch[-1]["seq"]
            if state is None:
                session.add(PlatformState(key=SEQ_KEY, value=str(last)))
            else:
                state.value = str(last)
    with platform.db.session() as session:
        ctx = Context(platform, session, now)
        for rule in active:
            for f in rule.sweep(ctx):
                alert = raise_alert(platform, session, rule, f, now, None, last_seen)
                if alert is not None:
                    raised.append(alert.id)
    return raised
