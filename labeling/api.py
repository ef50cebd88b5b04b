"""Labeling routes of the platform API (``/labeling``).

Who may do what, from the caller's hub identity: create a project, change its
specification, sync and export it (developer members of its trustlab project; operators
may sync); read its status (those
members, its annotators and reviewer, operators, auditors); read one's own Label Studio
login (annotators, for themselves only).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.api.deps import Caller, CallerDep, PlatformDep
from hub.identity import Directory, PermissionDenied
from hub.platform import Platform

router = APIRouter(prefix="/labeling", tags=["labeling"])


class ProjectIn(BaseModel):
    name: str
    project: str
    dataset: str
    template: str
    labels: list[str]
    annotators: list[str] = Field(min_length=1, max_length=100)
    fields: dict[str, str] = Field(default_factory=dict)
    key: str | None = None
    overlap: int = Field(1, ge=1, le=10)
    gold: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)
    gold_share: float = Field(0.0, ge=0, lt=1)
    threshold: float = Field(0.8, ge=0, le=1)
    reviewer: str | None = None
    guidelines: str = Field("", max_length=20_000)
    seed: int = 0


class ExportIn(BaseModel):
    format: str


def _projects(p: Platform) -> Any:
    from labeling.projects import Projects

    return Projects(p)


def _may_read(p: Platform, who: Caller, name: str) -> dict[str, Any]:
    info = _projects(p).show(name)
    if who.has("operator") or who.has("auditor") or who.has("admin"):
        return info
    if who.name in info["annotators"] or who.name == info["reviewer"]:
        return info
    Directory(p).require_member(who.name, info["project"])
    return info


@router.get("/templates")
def templates_list(who: CallerDep) -> list[dict[str, Any]]:
    from labeling.formats import fitting
    from labeling.templates import TEMPLATES

    return [{"name": t.name, "media": t.media, "result": t.result, "fields": list(t.fields),
             "description": t.description, "formats": fitting(t.name)}
            for t in TEMPLATES.values()]  # fmt: skip


@router.get("/server")
def server_status(who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    from labeling.server import LabelStudioServer

    s = LabelStudioServer(p.settings)
    return {"url": s.url, "healthy": s.healthy()}


@router.get("/me")
def my_login(who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """The caller's own Label Studio login (made on first use); annotators only."""
    who.require("annotator")
    studio = _projects(p).studio()
    account = studio.account(who.name)
    return {"url": studio.url, "email": account["email"], "password": account["password"],
            "token": account["token"]}  # fmt: skip


@router.get("/projects")
def project_list(who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    mine = []
    for info in _projects(p).list():
        try:
            mine.append(_may_read(p, who, info["name"]))
        except PermissionDenied:
            continue
    return mine


@router.post("/projects")
def project_create(body: ProjectIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    from labeling.projects import ProjectRequest

    return _projects(p).create(ProjectRequest(**body.model_dump()), who.name)


@router.get("/projects/{name}")
def project_show(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _may_read(p, who, name)


@router.get("/projects/{name}/status")
def project_status(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    from labeling.progress import Progress

    _may_read(p, who, name)
    return Progress(p).status(name)


@router.post("/projects/{name}/sync")
def project_sync(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    from labeling.progress import Progress

    info = _projects(p).show(name)
    if not who.has("operator"):
        Directory(p).require_member(who.name, info["project"])
    return Progress(p).sync(name, who.name)


@router.post("/projects/{name}/export")
def project_export(name: str, body: ExportIn, who: CallerDep, p: PlatformDep) -> dict:
    from labeling.exports import Exports

    return Exports(p).export(name, body.format, who.name)


class SpecIn(BaseModel):
    labels: list[str] | None = None
    guidelines: str | None = Field(None, max_length=20_000)


@router.get("/projects/{name}/specs")
def spec_history(name: str, who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    from labeling import specs

    _may_read(p, who, name)
    return specs.history(p, name)


@router.post("/projects/{name}/specs")
def spec_revise(name: str, body: SpecIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """The next specification version (developer members of the trustlab project)."""
    from labeling import specs

    return specs.revise(p, name, who.name, body.labels, body.guidelines)


class PredictIn(BaseModel):
    model: str = Field(min_length=1, max_length=100, description="The model version.")
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=100_000)
    product: str | None = Field(None, description="Or: a product with columns key, result.")


@router.post("/projects/{name}/predictions")
def project_predict(name: str, body: PredictIn, who: CallerDep, p: PlatformDep) -> dict:
    from labeling import predictions

    items = predictions.from_product(p, body.product) if body.product else body.items
    return predictions.add(p, name, items, body.model, who.name)


@router.post("/projects/{name}/suggestions")
def project_suggest(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Connect trustlab's ML backend to the project's annotator projects (members)."""
    from labeling import predictions

    return predictions.connect(p, name, who.name)


class MediaIn(BaseModel):
    name: str
    folder: str = Field(description="A folder under HOME/ingest or TRUSTLAB_SOURCE_ROOTS.")
    type: str = Field(description="image, audio, video or pointcloud")
    owner: str


@router.post("/media", status_code=201)
def media_register(body: MediaIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Register a folder of media, made safe, as a media dataset (the owner's provider
    reviewers, operators, admins)."""
    from pathlib import Path

    from hub.api.datasets import allowed_source, require_owner_reviewer
    from labeling.media import Media

    require_owner_reviewer(who, body.owner, also=("operator", "admin"))
    allowed_source(p, body.folder)
    return Media(p).register(body.name, Path(body.folder), body.type, body.owner, who.name)
