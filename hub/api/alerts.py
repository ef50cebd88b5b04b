"""Alert and freeze routes: list, the violation report, freeze by hand, lift a freeze.

Operators, admins and auditors read alerts and freezes; only operators freeze by hand and
lift freezes (with a reason). Everything here is ledgered by ``hub.freeze``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from hub.alerts import list_alerts, list_freezes, render, report
from hub.api.deps import CallerDep, PlatformDep
from hub.freeze import manual_freeze, unfreeze

router = APIRouter(tags=["alerts"])
READERS = ("operator", "admin", "auditor")


class NewFreeze(BaseModel):
    kind: Literal["user", "project", "contract"]
    target: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)


class Lift(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


@router.get("/alerts")
def alerts(who: CallerDep, p: PlatformDep, limit: int = Query(100, ge=1, le=10_000),
           subject: str | None = None) -> list[dict]:  # fmt: skip
    who.require(*READERS)
    return list_alerts(p, limit, subject)


@router.get("/alerts/{alert_id}/report")
def alert_report(alert_id: int, who: CallerDep, p: PlatformDep,
                 format: Literal["md", "json"] = "md") -> Any:  # fmt: skip
    """The violation report of one alert (Markdown, or its data as JSON)."""
    who.require(*READERS)
    data = report(p, alert_id)
    return data if format == "json" else PlainTextResponse(render(data), media_type="text/markdown")


@router.get("/freezes")
def freezes(who: CallerDep, p: PlatformDep, open_only: bool = False) -> list[dict]:
    who.require(*READERS)
    return list_freezes(p, open_only)


@router.post("/freezes", status_code=201)
def freeze_now(body: NewFreeze, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return manual_freeze(p, body.kind, body.target, who.name, body.reason)


@router.post("/freezes/{freeze_id}/lift")
def lift(freeze_id: int, body: Lift, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return unfreeze(p, freeze_id, who.name, body.reason)
