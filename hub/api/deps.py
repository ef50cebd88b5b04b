"""What a route needs: the platform, and the authenticated caller with trustlab's roles.

Feature routers declare ``who: CallerDep`` and ``p: PlatformDep`` (and use ``Caller``'s
``has``/``require``); this module is the platform API's public surface for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from hub.errors import TrustlabError
from hub.identity import PermissionDenied, Role
from hub.platform import Platform


class Unauthenticated(TrustlabError):
    """No token, or one the hub does not accept (missing, expired, revoked)."""


@dataclass(frozen=True)
class Caller:
    """A hub user, as the hub identified the request's token, with trustlab's roles."""

    name: str
    roles: tuple[Role, ...]

    def has(self, role: str, org: str | None = None) -> bool:
        return any(r.role == role and (org is None or r.org == org) for r in self.roles)

    def require(self, *roles: str) -> None:
        """Refuse (403) unless the caller holds one of ``roles``."""
        if not any(self.has(r) for r in roles):
            held = ", ".join(map(str, self.roles)) or "no roles"
            raise PermissionDenied(
                f"{self.name!r} needs the {' or '.join(roles)} role for this (has: {held})"
            )


def platform(request: Request) -> Platform:
    return request.app.state.platform


def caller(request: Request) -> Caller:
    """The request's caller (a FastAPI dependency): 401 without a good token, 403 for a
    token that is not a person's or may not use this API, or a user trustlab does not know."""
    from hub.identity import Directory

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("token", "bearer") or not token.strip():
        raise Unauthenticated("no hub token: run `trustlab login` (or set TRUSTLAB_TOKEN)")
    identity: dict[str, Any] | None = request.app.state.identify(token.strip())
    if identity is None:
        raise Unauthenticated(
            "the hub does not accept this token (expired or revoked): run `trustlab login`"
        )
    if identity.get("kind") != "user":
        raise PermissionDenied("only hub users act on the platform; a service token cannot")
    if not request.app.state.may_use(identity):
        raise PermissionDenied(
            f"this token of {identity.get('name')!r} may not use the platform API (it lacks "
            "the scope access:services!service=trustlab-api); create one with `trustlab login`"
        )
    roles = Directory(platform(request)).roles(identity["name"])
    if not roles:
        raise PermissionDenied(_inactive(platform(request), identity["name"]))
    who = Caller(identity["name"], tuple(roles))
    request.state.caller = who
    return who


# Route parameters: ``who: CallerDep`` (authenticated, roles loaded), ``p: PlatformDep``.
CallerDep = Annotated[Caller, Depends(caller)]
PlatformDep = Annotated[Platform, Depends(platform)]


def _inactive(p: Platform, name: str) -> str:
    """Why ``name`` may not act: frozen after an alert, or simply not an active user."""
    from sqlalchemy import select

    from hub.models import Freeze

    with p.db.session() as session:
        row = session.scalars(select(Freeze).where(
            Freeze.kind == "user", Freeze.target == name, Freeze.lifted_at.is_(None))
            .order_by(Freeze.id.desc()).limit(1)).first()  # fmt: skip
        if row is not None:
            return (
                f"{name!r} is frozen (freeze {row.id}: {row.reason}); an operator lifts "
                f"it with `trustlab alerts unfreeze {row.id} --reason TEXT` (账户已冻结)"
            )
    return f"{name!r} is not an active trustlab user"
