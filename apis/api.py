"""API-builder routes of the platform API: serving, API versions and review, applications.

Who may do what is decided in ``apis.serving`` / ``apis.builder`` / ``apis.apps`` from
the caller's hub identity: serve a product, publish, take offline, manage applications
and keys (operators); create and submit versions (developer members of the API's project);
approve or reject (an operator, and a provider reviewer of each owner whose PII an API
returns; never its author); read (any hub user with a role).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.api.deps import CallerDep, PlatformDep
from hub.errors import TrustlabError

router = APIRouter(prefix="/apis", tags=["apis"])
apps = APIRouter(prefix="/applications", tags=["applications"])


class ServeIn(BaseModel):
    version: int | None = Field(None, description="Default: the product's latest version.")
    indexes: list[list[str]] = Field(default_factory=list, description="Extra indexes.")


class CreateIn(BaseModel):
    project: str
    definition: dict[str, Any]


class DecideIn(BaseModel):
    role: str = Field(description="provider or operator")
    reason: str | None = Field(None, max_length=4000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=4000)


class AppIn(BaseModel):
    name: str
    org: str
    contact: str | None = None


def _serving(p: Any) -> Any:
    from apis.serving import Serving

    return Serving(p)


def _builder(p: Any) -> Any:
    from apis.builder import Builder

    return Builder(p)


def _apps(p: Any) -> Any:
    from apis.apps import Applications

    return Applications(p)


@router.get("/serving")
def serving_list(who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    return _serving(p).tables()


@router.post("/serving/{name}")
def serving_serve(name: str, body: ServeIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _serving(p).serve_product(name, who.name, version=body.version, indexes=body.indexes)


@router.get("")
def api_list(who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    return _builder(p).list()


@router.post("")
def api_create(body: CreateIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _builder(p).create(body.definition, who.name, body.project)


@router.get("/usage")
def api_usage(
    who: CallerDep,
    p: PlatformDep,
    start: datetime,
    end: datetime,
    application: str | None = None,
) -> list[dict[str, Any]]:
    who.require("operator", "auditor", "admin")
    if start.tzinfo is None or end.tzinfo is None:
        raise TrustlabError("give --from and --to with a time zone, e.g. 2027-01-01T00:00+08:00")
    from apis.metering import usage

    return usage(p, application, start.astimezone(UTC), end.astimezone(UTC))


@router.get("/monitor")
def api_monitor(who: CallerDep, p: PlatformDep, hours: float = 24) -> dict[str, Any]:
    """Calls, errors, p50/p95 latency per API version and application; quota use today."""
    who.require("operator", "auditor", "admin")
    from apis.monitoring import MAX_HOURS, overview

    if not 0 < hours <= MAX_HOURS:
        raise TrustlabError(f"give --hours more than 0 and at most {MAX_HOURS}")
    return overview(p, hours)


@router.get("/{name}")
def api_show(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _builder(p).show(name)


@router.post("/{name}/submit")
def api_submit(name: str, who: CallerDep, p: PlatformDep, version: int | None = None) -> dict:
    return _builder(p).submit(name, who.name, version)


@router.post("/{name}/versions/{number}/approve")
def api_approve(name: str, number: int, body: DecideIn, who: CallerDep, p: PlatformDep) -> dict:
    return _builder(p).decide(name, number, body.role, who.name, "approve", body.reason)


@router.post("/{name}/versions/{number}/reject")
def api_reject(name: str, number: int, body: DecideIn, who: CallerDep, p: PlatformDep) -> dict:
    return _builder(p).decide(name, number, body.role, who.name, "reject", body.reason)


@router.post("/{name}/versions/{number}/publish")
def api_publish(name: str, number: int, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _builder(p).publish(name, who.name, number)


@router.post("/{name}/versions/{number}/offline")
def api_offline(name: str, number: int, body: ReasonIn, who: CallerDep, p: PlatformDep) -> dict:
    return _builder(p).offline(name, who.name, number, body.reason)


# --- applications ---------------------------------------------------------------------------


@apps.get("")
def app_list(who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    who.require("operator", "auditor", "admin")
    return _apps(p).list()


@apps.post("")
def app_create(body: AppIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    return _apps(p).create(body.name, body.org, who.name, body.contact)


@apps.get("/{name}")
def app_show(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    who.require("operator", "auditor", "admin")
    return _apps(p).show(name)


@apps.post("/{name}/keys")
def app_key(name: str, who: CallerDep, p: PlatformDep, rotate: bool = False) -> dict[str, Any]:
    return _apps(p).issue_key(name, who.name, rotate=rotate)


@apps.post("/{name}/keys/{key_id}/revoke")
def app_key_revoke(
    name: str, key_id: str, body: ReasonIn, who: CallerDep, p: PlatformDep
) -> dict[str, Any]:
    return _apps(p).revoke_key(name, key_id, who.name, body.reason)


def routers() -> APIRouter:
    both = APIRouter()
    both.include_router(router)
    both.include_router(apps)
    both.include_router(secrets_router)
    return both


# --- credentials of registered APIs (values go in, names come out) ---------------------------

secrets_router = APIRouter(prefix="/api-secrets", tags=["apis"])


class SecretIn(BaseModel):
    value: str = Field(min_length=1, max_length=8192, description="Never returned or logged.")


@secrets_router.get("")
def api_secret_list(who: CallerDep, p: PlatformDep) -> list[str]:
    from apis.secrets import Secrets

    return Secrets(p).names(who.name)


@secrets_router.put("/{name}")
def api_secret_set(name: str, body: SecretIn, who: CallerDep, p: PlatformDep) -> dict[str, str]:
    from apis.secrets import Secrets

    return Secrets(p).set(name, body.value, who.name)


# --- a consumer's generated client, for operators (``apis.sdk``) ---------------------------


@apps.get("/{name}/client")
def app_client(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """The application's Python client as the gateway would generate it: its files."""
    who.require("operator", "admin")
    from apis import sdk

    doc = sdk.application_document(p, name)
    filename, data = sdk.client_zip(doc, name, p.settings.home / "cache" / "api-clients")
    return {"package": sdk.package_name(name), "zip": filename, "files": sdk.unzip_text(data)}
