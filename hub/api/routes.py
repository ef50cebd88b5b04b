"""The hub's own routes: who am I, users (admins), projects and grants, the ledger (audit).

Role rules live here and in ``hub.identity``; contracts have their own module
(``hub.api.contracts``); feature routes (datasets' samples, pipelines) live in their
packages.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

import httpx
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.api.deps import CallerDep, PlatformDep
from hub.errors import TrustlabError
from hub.identity import Directory, PermissionDenied, Role

router = APIRouter()
READERS = ("auditor", "operator", "admin")  # who may read the ledger


@router.get("/health", tags=["platform"])
def health() -> dict[str, str]:
    """Liveness (no token needed)."""
    return {"status": "ok"}


@router.get("/me", tags=["platform"])
def me(who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """The caller as the hub identified the token, with trustlab's roles and projects."""
    return Directory(p).show_user(who.name)


# --- users (admins) ---------------------------------------------------------------------------


class NewUser(BaseModel):
    name: str = Field(max_length=63)
    roles: list[str] = Field(min_length=1, max_length=5)
    org: str | None = Field(None, description="Organisation, for the provider role.")
    password: str | None = Field(None, min_length=8, description="Default: generated once.")
    login: bool = Field(True, description="False: no password (an external identity provider).")


class NewRole(BaseModel):
    role: str
    org: str | None = None


class NewPassword(BaseModel):
    password: str | None = Field(None, min_length=8)


def _roles(names: list[str], org: str | None) -> list[Role]:
    if org and "provider" not in names:
        raise TrustlabError("org applies to the provider role only")
    return [Role(r, org if r == "provider" else None) for r in names]


@router.get("/users", tags=["users"])
def list_users(who: CallerDep, p: PlatformDep) -> list[dict]:
    who.require("admin", "operator", "auditor")
    return Directory(p).list_users()


@router.post("/users", tags=["users"], status_code=201)
def add_user(body: NewUser, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Add a user (admins); a generated password is returned once."""
    who.require("admin")
    password = None if not body.login else body.password or secrets.token_urlsafe(12)
    info = Directory(p).add_user(body.name, _roles(body.roles, body.org), password, who.name)
    _register_with_hub(body.name)
    return {**info, "password": password if body.password is None else None}


def _register_with_hub(name: str) -> None:
    """Let the hub know the user now, so `trustlab login` works before a first web login."""
    api, token = os.environ.get("JUPYTERHUB_API_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    if api and token:  # best effort: the hub creates the user at its first login anyway
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(f"{api}/users/{name}", headers={"Authorization": f"token {token}"},
                       timeout=10)  # fmt: skip


@router.post("/users/{name}/roles", tags=["users"])
def add_role(name: str, body: NewRole, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    who.require("admin")
    return Directory(p).add_role(name, Role(body.role, body.org), who.name)


@router.post("/users/{name}/password", tags=["users"])
def set_password(name: str, body: NewPassword, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Admins set anyone's password; everyone may set their own."""
    if name != who.name:
        who.require("admin")
    password = body.password or secrets.token_urlsafe(12)
    Directory(p).set_password(name, password, who.name)
    return {"name": name, "password": password if body.password is None else None}


# --- projects -------------------------------------------------------------------


class NewProject(BaseModel):
    name: str = Field(max_length=63)
    description: str = Field("", max_length=2000)
    members: list[str] = Field(default_factory=list, max_length=500)


class Member(BaseModel):
    user: str


@router.get("/projects", tags=["projects"])
def list_projects(who: CallerDep, p: PlatformDep) -> list[dict]:
    """Operators, admins, auditors and provider reviewers see every project; others theirs."""
    everyone = any(who.has(r) for r in ("operator", "admin", "auditor", "provider"))
    return Directory(p).list_projects(None if everyone else who.name)


@router.get("/projects/{name}", tags=["projects"])
def show_project(name: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    info = Directory(p).show_project(name)
    if who.name not in info["members"] and not any(
        who.has(r) for r in ("operator", "admin", "auditor", "provider")
    ):
        raise PermissionDenied(f"{who.name!r} is not a member of project {name!r}")
    return info


@router.post("/projects", tags=["projects"], status_code=201)
def create_project(body: NewProject, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    who.require("operator", "admin")
    return Directory(p).create_project(body.name, body.description, body.members, who.name)


@router.post("/projects/{name}/members", tags=["projects"])
def add_member(name: str, body: Member, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    who.require("operator", "admin")
    return Directory(p).add_member(name, body.user, who.name)


class NewOrg(BaseModel):
    name: str = Field(max_length=63)


@router.get("/organisations", tags=["users"])
def list_orgs(who: CallerDep, p: PlatformDep) -> list[dict]:
    return Directory(p).list_orgs()


@router.post("/organisations", tags=["users"], status_code=201)
def create_org(body: NewOrg, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """An organisation with no dataset yet (a registered API's provider, a consumer)."""
    who.require("operator", "admin")
    return Directory(p).create_org(body.name, who.name)


# --- the ledger (auditors, operators, admins) -------------------------------------------------


@router.get("/audit/verify", tags=["audit"])
def audit_verify(who: CallerDep, p: PlatformDep) -> dict:
    who.require(*READERS)
    with p.db.session() as session:
        report = p.ledger.verify(session)
    from hub.plugins import plugins

    # Evidence kept beside the ledger and anchored in it (e.g. the API metering digests).
    evidence = {name: ep.load()(p) for name, ep in sorted(plugins("trustlab.verifiers").items())}
    return {
        "ok": report.ok and not any(e["problems"] for e in evidence.values()),
        "evidence": evidence,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "covered_by_checkpoint": report.covered,
        "newest_checkpoint_time": report.newest_checkpoint_time,
        "first_bad_seq": report.first_bad_seq,
        "problems": report.problems,
    }


@router.get("/audit/entries", tags=["audit"])
def audit_entries(
    who: CallerDep,
    p: PlatformDep,
    limit: int = Query(20, ge=1, le=100_000),
    action: str | None = None,
    subject: str | None = None,
    actor: str | None = None,
    since: str | None = Query(None, description="ISO date or time (UTC when naive)"),
    until: str | None = Query(None, description="ISO date or time, exclusive"),
    before: int | None = Query(None, ge=1, description="Only entries below this seq"),
) -> list[dict[str, Any]]:
    """The newest entries (oldest first), filtered by action, subject, actor, a time range;
    ``before`` pages back."""
    who.require(*READERS)
    with p.db.session() as session:
        return p.ledger.entries(session, limit, action=action, subject=subject, actor=actor,
                                since=since, until=until, before=before)  # fmt: skip


@router.get("/audit/proof/{seq}", tags=["audit"])
def audit_proof(seq: int, who: CallerDep, p: PlatformDep) -> dict:
    """An inclusion proof of entry ``seq`` against the newest signed checkpoint (read only)."""
    who.require(*READERS)
    with p.db.session() as session:
        return p.ledger.proof(session, seq)


@router.post("/audit/checkpoint", tags=["audit"])
def audit_checkpoint(who: CallerDep, p: PlatformDep) -> dict:
    """Sign a checkpoint over every entry now (operators, admins; normally on a timer)."""
    who.require("operator", "admin")
    with p.db.session() as session:
        cp = p.ledger.checkpoint(session)
        return {"tree_size": cp.tree_size, "root": cp.root} if cp else {"tree_size": None}


@router.get("/audit/pubkey", tags=["audit"])
def audit_pubkey(p: PlatformDep) -> dict[str, str]:
    """The platform's checkpoint-signing public key (PEM); public by design."""
    from hub.keys import public_pem

    assert p.ledger.public_key is not None
    return {"pem": public_pem(p.ledger.public_key)}


@router.get("/audit/export", tags=["audit"])
def audit_export(who: CallerDep, p: PlatformDep) -> dict:
    """Every entry and checkpoint, for `trustlab audit verify --file` offline."""
    who.require(*READERS)
    with p.db.session() as session:
        return json.loads(json.dumps(p.ledger.export(session)))
