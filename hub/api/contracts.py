"""Contract routes: import, request, decide, suspend/resume/revoke, read and export.

Who may do what is decided in ``hub.contracts`` (import: operators; decisions: the
owners' provider reviewers and an operator; resume: operators); reading: operators,
admins, auditors and provider reviewers see every contract, a developer those of their
projects.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from hub.api.deps import Caller, CallerDep, PlatformDep
from hub.contract_doc import json_schema
from hub.contracts import Contracts
from hub.identity import Directory, PermissionDenied

router = APIRouter(prefix="/contracts", tags=["contracts"])
EVERYONE = ("operator", "admin", "auditor", "provider")


class Request(BaseModel):
    project: str
    dataset: str
    modes: list[Literal["sandbox", "pipeline", "api", "labeling"]] = Field(
        default_factory=lambda: ["sandbox", "pipeline"], min_length=1
    )
    columns: list[str] | None = Field(None, description="Default: every column.")
    days: int | None = Field(None, ge=1, le=3650)
    purpose: str = Field("", max_length=4000)
    category: str = "product_development"


class Decision(BaseModel):
    reason: str | None = Field(None, max_length=4000)
    role: Literal["provider", "operator"] | None = Field(
        None, description="Which of your roles decides (when you hold both)."
    )


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


def _may_read(who: Caller, p: Any, info: dict[str, Any]) -> None:
    if any(who.has(r) for r in EVERYONE):
        return
    if who.name not in Directory(p).show_project(info["party"])["members"]:
        raise PermissionDenied(f"{who.name!r} is not a member of project {info['party']!r}")


@router.get("/schema")
def schema() -> dict[str, Any]:
    """The JSON Schema of contract documents (also in docs/contract.schema.json)."""
    return json_schema()


@router.get("")
def list_contracts(who: CallerDep, p: PlatformDep, party: str | None = None,
                   state: str | None = None) -> list[dict]:  # fmt: skip
    rows = Contracts(p).list(party, state)
    if any(who.has(r) for r in EVERYONE):
        return rows
    mine = {x["name"] for x in Directory(p).list_projects(who.name)}
    return [r for r in rows if r["party"] in mine]


@router.post("", status_code=201)
def import_contract(who: CallerDep, p: PlatformDep,
                    document: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008 # fmt: skip
    """Import a document from the management system as a draft for approval."""
    return Contracts(p).import_document(document, who.name)


@router.post("/request", status_code=201)
def request_contract(body: Request, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """A project member asks for a dataset on standard terms (a draft for approval)."""
    return Contracts(p).request(body.project, body.dataset, who.name, list(body.modes),
                                body.columns, body.days, body.purpose, body.category)  # fmt: skip


@router.get("/{ref}")
def show_contract(ref: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    info = Contracts(p).show(ref)
    _may_read(who, p, info)
    return info


@router.get("/{ref}/export")
def export_contract(ref: str, who: CallerDep, p: PlatformDep,
                    version: int | None = Query(None, ge=1)) -> dict[str, Any]:  # fmt: skip
    contracts = Contracts(p)
    _may_read(who, p, contracts.show(ref))
    return contracts.export(ref, version)


@router.post("/{ref}/approve")
def approve(ref: str, who: CallerDep, p: PlatformDep,
            body: Decision | None = None) -> dict[str, Any]:  # fmt: skip
    return Contracts(p).decide(ref, who.name, True, body.reason if body else None,
                               body.role if body else None)  # fmt: skip


@router.post("/{ref}/reject")
def reject(ref: str, body: Decision, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return Contracts(p).decide(ref, who.name, False, body.reason, body.role)


@router.post("/{ref}/{action}")
def change_state(ref: str, action: Literal["suspend", "resume", "revoke"], body: Reason,
                 who: CallerDep, p: PlatformDep) -> dict[str, Any]:  # fmt: skip
    return Contracts(p).set_state(ref, who.name, action, body.reason)
