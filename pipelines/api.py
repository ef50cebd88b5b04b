"""Pipeline routes of the platform API: submit, scan, dry-run, review, deploy, runs.

Who may do what is decided here and in ``pipelines.review`` / ``pipelines.production``,
from the caller's hub identity: submit (a developer member of the project, inputs under contract
to it), dry-run (its submitter, a developer of the project, an operator), waive (an
operator, not the submitter), approve/reject (a provider reviewer of an input's owner, an
operator; never the submitter), deploy/rollback/retire/trigger (operators); reading a
version (members of its project, provider reviewers, operators, auditors, admins).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.api.deps import Caller, CallerDep, PlatformDep
from hub.errors import TrustlabError
from hub.identity import PermissionDenied
from hub.platform import Platform

router = APIRouter(prefix="/pipelines", tags=["pipelines"])
REVIEWERS = ("provider", "operator", "auditor", "admin")


class Upload(BaseModel):
    files: dict[str, str] = Field(description="relative path -> base64 of the bytes")
    skipped: dict[str, str] = Field(default_factory=dict, description="left out, and why")


class Submission(Upload):
    project: str | None = Field(None, description="Default: the caller's only project.")


class Decision(BaseModel):
    role: str | None = Field(None, description="provider or operator (default: any you hold)")
    reason: str | None = Field(None, max_length=4000)


class WaiverIn(BaseModel):
    rule: str
    file: str
    line: int
    reason: str = Field(max_length=4000)


class DeployIn(BaseModel):
    wait: bool = True


class RollbackIn(DeployIn):
    to: str | None = None


class TriggerIn(BaseModel):
    params: dict[str, str] = Field(default_factory=dict)


def _review(p: Platform) -> Any:
    from pipelines.review import Review

    return Review(p)


def _production(p: Platform) -> Any:
    from pipelines.production import Production

    return Production(p)


def _readable(who: Caller, status: dict[str, Any], p: Platform) -> dict[str, Any]:
    """``status`` if the caller may read it: a member of its project, or a reviewer."""
    if any(who.has(r) for r in REVIEWERS) or who.name == status["submitted_by"]:
        return status
    from hub.identity import Directory

    if (
        status.get("project")
        and who.name in Directory(p).show_project(status["project"])["members"]
    ):
        return status
    raise PermissionDenied(f"{who.name!r} may not read pipeline versions of another project")


def _project_of(who: Caller, requested: str | None, p: Platform) -> str:
    if requested:
        return requested
    from hub.identity import Directory

    mine = Directory(p).show_user(who.name)["projects"]
    if len(mine) == 1:
        return str(mine[0])
    raise TrustlabError(
        f"name the project (--project; yours: {', '.join(mine) or 'none'}); a pipeline "
        "belongs to one"
    )


@router.post("/scan")
def scan(body: Upload, who: CallerDep, p: PlatformDep) -> dict:
    """Scan a folder without submitting it (any signed-in user)."""
    from pipelines.upload import unpack

    with tempfile.TemporaryDirectory(prefix="trustlab-scan-") as tmp:
        unpack(body.files, Path(tmp))
        return _review(p).scan_folder(Path(tmp), body.skipped)


@router.post("/versions", status_code=201)
def submit(body: Submission, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Submit a folder as a new version of a pipeline of ``project``; scanned at once."""
    from pipelines.upload import unpack

    project = _project_of(who, body.project, p)
    with tempfile.TemporaryDirectory(prefix="trustlab-submit-") as tmp:
        unpack(body.files, Path(tmp))
        return _review(p).submit(Path(tmp), who.name, project, body.skipped)


@router.get("/versions")
def list_versions(who: CallerDep, p: PlatformDep, name: str | None = None) -> list[dict[str, Any]]:
    """Versions newest first: all of them for reviewers, else the caller's projects'."""
    rows = _review(p).list(name)
    if any(who.has(r) for r in REVIEWERS):
        return rows
    from hub.identity import Directory

    mine = set(Directory(p).show_user(who.name)["projects"])
    return [r for r in rows if r["project"] in mine or r["submitted_by"] == who.name]


@router.get("/versions/{ref}")
def status(ref: str, who: CallerDep, p: PlatformDep) -> dict:
    """State, scan findings, dry-run result, lineage and review decisions."""
    return _readable(who, _review(p).status(ref), p)


@router.get("/versions/{ref}/diff")
def diff(ref: str, who: CallerDep, p: PlatformDep) -> dict:
    review = _review(p)
    _readable(who, review.status(ref), p)
    return {"diff": review.diff(ref)}


@router.get("/versions/{ref}/files")
def files(ref: str, who: CallerDep, p: PlatformDep) -> dict[str, str]:
    """The version's files as text (relative path -> content), for reviewers' pages."""
    review = _review(p)
    _readable(who, review.status(ref), p)
    return review.files(ref)


@router.post("/versions/{ref}/dry-run")
def dry_run(ref: str, who: CallerDep, p: PlatformDep) -> dict:
    """Run the version on the samples in the runner container (takes a minute or so)."""
    log: list[str] = []
    return {**_review(p).dry_run(ref, who.name, log=log.append), "log": log}


@router.post("/versions/{ref}/approve")
def approve(ref: str, body: Decision, who: CallerDep, p: PlatformDep) -> dict:
    return _review(p).approve(ref, body.role, who.name)


@router.post("/versions/{ref}/reject")
def reject(ref: str, body: Decision, who: CallerDep, p: PlatformDep) -> dict:
    return _review(p).reject(ref, who.name, body.reason or "", body.role)


@router.post("/versions/{ref}/waivers")
def waive(ref: str, body: WaiverIn, who: CallerDep, p: PlatformDep) -> dict:
    review = _review(p)
    review.waive(ref, body.rule, body.file, body.line, body.reason, who.name)
    return review.status(ref)


@router.post("/versions/{ref}/deploy")
def deploy(ref: str, body: DeployIn, who: CallerDep, p: PlatformDep) -> dict:
    log: list[str] = []
    return {**_production(p).deploy(ref, who.name, wait=body.wait, log=log.append), "log": log}


@router.post("/{name}/rollback")
def rollback(name: str, body: RollbackIn, who: CallerDep, p: PlatformDep) -> dict:
    log: list[str] = []
    prod = _production(p)
    return {**prod.rollback(name, who.name, body.to, wait=body.wait, log=log.append), "log": log}


@router.post("/{name}/retire")
def retire(name: str, who: CallerDep, p: PlatformDep) -> dict:
    return _production(p).retire(name, who.name)


@router.get("/deployments")
def deployments(who: CallerDep, p: PlatformDep, name: str | None = None) -> list[dict[str, Any]]:
    who.require(*REVIEWERS, "developer")
    return _production(p).deployments(name)


@router.post("/{name}/trigger")
def trigger(name: str, body: TriggerIn, who: CallerDep, p: PlatformDep) -> dict:
    """Start a production run of the live version now (operators)."""
    return _production(p).trigger(name, who.name, body.params)


runs = APIRouter(prefix="/runs", tags=["runs"])
RUN_READERS = ("operator", "auditor", "admin", "provider")


@runs.get("")
def list_runs(who: CallerDep, p: PlatformDep, name: str | None = None) -> list[dict[str, Any]]:
    who.require(*RUN_READERS)
    return _production(p).runs(name)


@runs.get("/{ref}")
def show_run(ref: str, who: CallerDep, p: PlatformDep) -> dict:
    """A run by trustlab number or Airflow run id: tasks, validation, products, log tail."""
    who.require(*RUN_READERS)
    return _production(p).run_info(ref)


@runs.get("/airflow/{dag_id}/{run_id}")
def airflow_run(dag_id: str, run_id: str, who: CallerDep, p: PlatformDep) -> dict:
    """The Airflow state of a triggered run and its tasks (for `trigger --wait`)."""
    who.require(*RUN_READERS)
    client = _production(p).airflow.client()
    run = client.dag_run(dag_id, run_id) or {}
    tasks = client.task_instances(dag_id, run_id)
    return {"state": run.get("state"),
            "tasks": {t["task_id"]: t.get("state") or "none" for t in tasks}}  # fmt: skip


def routers() -> APIRouter:
    """Both routers, for the ``trustlab.api`` entry point."""
    both = APIRouter()
    both.include_router(router)
    both.include_router(runs)
    return both
