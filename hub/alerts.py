"""Alerts and freezes as people read them, and the violation report (违规行为报告).

The report is a Markdown document an operator files: who, what, when, the evidence, and
the actions taken (the freeze, what it changed, the sandboxes stopped, its lifting), each
with the ledger entry that proves it (sequence and hash: `trustlab audit proof SEQ`).
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.errors import NotFound
from hub.freeze import describe
from hub.models import Freeze, LedgerEntry, RiskAlert
from hub.platform import Platform
from hub.risk import as_dict
from hub.terms import aware


def alert_row(a: RiskAlert) -> dict[str, Any]:
    return {"id": a.id, "rule": a.rule, "severity": a.severity, "subject_kind": a.subject_kind,
            "subject": a.subject, "summary": a.summary, "evidence": json.loads(a.evidence),
            "time": aware(a.created_at).isoformat(), "ledger_seq": a.ledger_seq,  # type: ignore[union-attr]
            "trigger_seq": a.trigger_seq, "freeze": a.freeze_id}  # fmt: skip


def list_alerts(platform: Platform, limit: int = 100, subject: str | None = None) -> list[dict]:
    with platform.db.session() as session:
        query = select(RiskAlert).order_by(RiskAlert.id.desc()).limit(limit)
        if subject:
            query = query.where(RiskAlert.subject == subject)
        return [alert_row(a) for a in session.scalars(query)]


def list_freezes(platform: Platform, open_only: bool = False) -> list[dict[str, Any]]:
    with platform.db.session() as session:
        query = select(Freeze).order_by(Freeze.id.desc())
        if open_only:
            query = query.where(Freeze.lifted_at.is_(None))
        return [describe(f) for f in session.scalars(query)]


def report(platform: Platform, alert_id: int) -> dict[str, Any]:
    """Everything the violation report says, as data (``render`` makes the document)."""
    with platform.db.session() as session:
        a = session.get(RiskAlert, alert_id)
        if a is None:
            raise NotFound(f"no alert {alert_id}; see `trustlab alerts list`")
        info = alert_row(a)
        seqs = [s for s in (a.trigger_seq, a.ledger_seq) if s]
        entries = {e.seq: as_dict(e) for e in session.scalars(
            select(LedgerEntry).where(LedgerEntry.seq.in_(seqs)))}  # fmt: skip
        f = session.get(Freeze, a.freeze_id) if a.freeze_id else None
        subject = f"{a.subject_kind}:{a.subject}"
        after = [as_dict(e) for e in session.scalars(
            select(LedgerEntry).where(LedgerEntry.seq > (a.ledger_seq or 0),
                                      LedgerEntry.action.in_(("risk.freeze", "risk.unfreeze",
                                                              "contract.suspend",
                                                              "contract.resume",
                                                              "sandbox.enforce")))
            .order_by(LedgerEntry.seq).limit(200))]  # fmt: skip
        changed = json.loads(f.changed) if f else []
        related = {subject, *changed}
        if a.subject_kind == "user":
            related.add(f"user:{a.subject}")
        actions = [e for e in after if e["subject"] in related
                   and (e["action"] != "risk.freeze"
                        or e["payload"].get("alert") == a.id)]  # fmt: skip
        return {"alert": info, "trigger": entries.get(a.trigger_seq) if a.trigger_seq else None,
                "entry": entries.get(a.ledger_seq), "freeze": describe(f) if f else None,
                "actions": actions, "timezone": platform.settings.timezone}  # fmt: skip


def render(data: dict[str, Any]) -> str:
    """The violation report as Markdown (English with the source's Chinese terms)."""
    a, tz = data["alert"], ZoneInfo(data["timezone"])
    from datetime import datetime

    local = datetime.fromisoformat(a["time"]).astimezone(tz)
    lines = [
        f"# Violation report 违规行为报告 — alert {a['id']}",
        "",
        "| | |",
        "|---|---|",
        f"| who 涉事主体 | {a['subject_kind']} `{a['subject']}` |",
        f"| what 异常特征 | {a['summary']} (rule `{a['rule']}`) |",
        f"| severity 严重程度 | {a['severity']} |",
        f"| when 发生时间 | {a['time']} ({local:%Y-%m-%d %H:%M:%S} {data['timezone']}) |",
        f"| ledger 存证 | alert entry #{a['ledger_seq']}"
        + (f", triggered by entry #{a['trigger_seq']}" if a["trigger_seq"] else "") + " |",
        "",
        "## Evidence 证据",
        "",
        "```json",
        json.dumps(a["evidence"], ensure_ascii=False, indent=2, default=str),
        "```",
    ]  # fmt: skip
    if data["trigger"]:
        t = data["trigger"]
        lines += ["", f"Triggering entry #{t['seq']} ({t['time']}): `{t['action']}` by "
                  f"`{t['actor']}` on `{t['subject']}`, hash `{t['hash']}`."]  # fmt: skip
    lines += ["", "## Actions taken 处置措施", ""]
    f = data["freeze"]
    if f:
        what = ", ".join(f["changed"]) or "nothing was active"
        lines.append(f"- Frozen 权限冻结 (freeze {f['id']}) at {f['frozen_at']} by "
                     f"`{f['frozen_by']}`: {what}.")  # fmt: skip
    for e in data["actions"]:
        why = e["payload"].get("reason") or ""
        lines.append(f"- #{e['seq']} {e['time']} `{e['action']}` on `{e['subject']}` by "
                     f"`{e['actor']}`{': ' + why if why else ''}")  # fmt: skip
    if f and f["lifted_at"]:
        lines.append(f"- Lifted 解除冻结 at {f['lifted_at']} by `{f['lifted_by']}`: "
                     f"{f['lift_reason']}")  # fmt: skip
    elif f:
        lines.append("- The freeze is still in place; an operator lifts it with "
                     f"`trustlab alerts unfreeze {f['id']} --reason TEXT`.")  # fmt: skip
    if not f and not data["actions"]:
        lines.append("- None: the alert's severity does not freeze; an operator decides.")
    lines += ["", "Each entry above is in the tamper-evident ledger; verify one with "
              "`trustlab audit proof SEQ`.", ""]  # fmt: skip
    return "\n".join(lines)
