"""Users, roles, projects and members — the facts the hub and the CLI both act on.

Roles: ``developer``, ``provider`` (per organisation: reviews that owner's data),
``operator``, ``auditor``, ``admin``. JupyterHub mirrors them as groups (see
``hub.auth``); this module is the one place that decides who may do what.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import NotFound, TrustlabError
from hub.models import Organisation, Project, ProjectMember, User, UserRole
from hub.platform import Platform

ROLES = ("developer", "provider", "operator", "auditor", "admin", "annotator")
# The ledger's actor for what the platform host itself sets up (``trustlab up``'s demo
# data, the first admin): steps that run on the host before any person can log in.
HOST = "platform-host"
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class PermissionDenied(TrustlabError):
    """The acting user lacks the role this needs."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${key.hex()}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or not password:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got.hex(), key)


def check_name(kind: str, name: str) -> None:
    if not NAME.match(name):
        raise TrustlabError(
            f"invalid {kind} name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting with a letter"
        )


@dataclass(frozen=True)
class Role:
    role: str
    org: str | None = None

    def __str__(self) -> str:
        return f"{self.role}:{self.org}" if self.org else self.role


def hub_groups(roles: list[Role]) -> list[str]:
    """The JupyterHub groups that mirror ``roles``."""
    groups = set()
    for r in roles:
        groups.add(f"{r.role}s")
        if r.role == "provider" and r.org:
            groups.add(f"provider-{r.org}")
    return sorted(groups)


class Directory:
    """Users, roles, projects and members, each change ledgered (contracts: ``hub.contracts``)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    # --- users ---------------------------------------------------------------------------

    def _user(self, session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"no user {name!r}; add one with `trustlab user add {name} --role …`")
        return user

    def _org(self, session: Session, name: str) -> Organisation:
        org = session.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            known = session.scalars(select(Organisation.name)).all()
            raise NotFound(
                f"no organisation {name!r}; known: {', '.join(known) or 'none'} "
                "(organisations appear when they register a dataset)"
            )
        return org

    def add_user(
        self, name: str, roles: list[Role], password: str | None, actor: str
    ) -> dict[str, Any]:
        check_name("user", name)
        with self.platform.db.session() as session:
            if session.scalar(select(User).where(User.name == name)) is not None:
                raise TrustlabError(
                    f"user {name!r} exists; add a role with `trustlab user role {name} ROLE`"
                )
            user = User(
                name=name,
                password_hash=hash_password(password) if password else None,
                created_by=actor,
            )
            session.add(user)
            session.flush()
            for role in roles:
                self._add_role(session, user, role)
            self.platform.ledger.append(
                session, actor, "user.add", f"user:{name}", {"roles": [str(r) for r in roles]}
            )
        return self.show_user(name)

    def _add_role(self, session: Session, user: User, role: Role) -> None:
        if role.role not in ROLES:
            raise TrustlabError(f"unknown role {role.role!r}; choose from {', '.join(ROLES)}")
        if role.role == "provider" and not role.org:
            raise TrustlabError("a provider reviewer belongs to an organisation: add --org ORG")
        if role.role != "provider" and role.org:
            raise TrustlabError(f"--org applies to the provider role only, not {role.role}")
        org_id = self._org(session, role.org).id if role.org else None
        for existing in user.roles:
            if existing.role == role.role and existing.org_id == org_id:
                return
        user.roles.append(UserRole(role=role.role, org_id=org_id))

    def add_role(self, name: str, role: Role, actor: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            user = self._user(session, name)
            self._add_role(session, user, role)
            self.platform.ledger.append(
                session, actor, "user.role.add", f"user:{name}", {"role": str(role)}
            )
        return self.show_user(name)

    def set_password(self, name: str, password: str, actor: str) -> None:
        with self.platform.db.session() as session:
            user = self._user(session, name)
            user.password_hash = hash_password(password)
            self.platform.ledger.append(session, actor, "user.password", f"user:{name}", {})

    def authenticate(self, name: str, password: str) -> dict[str, Any] | None:
        """The user's roles when ``password`` is right and the user active, else None."""
        with self.platform.db.session() as session:
            user = session.scalar(select(User).where(User.name == name))
            if user is None or not user.active or not check_password(user.password_hash, password):
                return None
        return self.show_user(name)

    def roles(self, name: str, session: Session | None = None) -> list[Role]:
        if session is None:
            with self.platform.db.session() as own:
                return self.roles(name, own)
        user = session.scalar(select(User).where(User.name == name))
        if user is None or not user.active:
            return []
        return [Role(r.role, r.org.name if r.org else None) for r in user.roles]

    def show_user(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            user = self._user(session, name)
            roles = [Role(r.role, r.org.name if r.org else None) for r in user.roles]
            projects = session.scalars(
                select(Project.name)
                .join(ProjectMember)
                .where(ProjectMember.user_id == user.id)
                .order_by(Project.name)
            ).all()
            return {
                "name": user.name,
                "active": user.active,
                "roles": [str(r) for r in roles],
                "groups": hub_groups(roles),
                "admin": any(r.role == "admin" for r in roles),
                "projects": list(projects),
                "can_login": user.password_hash is not None,
            }

    def list_users(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            names = session.scalars(select(User.name).order_by(User.name)).all()
        return [self.show_user(n) for n in names]

    def require(
        self, name: str, role: str, org: str | None = None, session: Session | None = None
    ) -> None:
        """Refuse unless ``name`` holds ``role`` (for ``provider``: of ``org``)."""
        have = self.roles(name, session)
        if any(r.role == role and (org is None or r.org == org) for r in have):
            return
        need = f"{role} of {org}" if org else role
        held = ", ".join(map(str, have)) or "no roles"
        article = "an" if need[0] in "aeiou" else "a"
        raise PermissionDenied(
            f"user {name!r} is not {article} {need} (has: {held}); "
            f"an admin can add it with `trustlab user role {name} {role}"
            + (f" --org {org}`" if org else "`")
        )

    def require_member(
        self, name: str, project: str, role: str = "developer", session: Session | None = None
    ) -> None:
        """Refuse unless ``name`` is an active ``role`` and a member of ``project``."""
        if session is None:
            with self.platform.db.session() as own:
                return self.require_member(name, project, role, own)
        self.require(name, role, session=session)
        p = self._project(session, project)
        if not any(m.user.name == name for m in p.members):
            raise PermissionDenied(
                f"{name!r} is not a member of project {project!r}; an operator adds members "
                f"with `trustlab project add-member {project} {name}`"
            )
        return None

    # --- projects ------------------------------------------------------------------------

    def _project(self, session: Session, name: str) -> Project:
        project = session.scalar(select(Project).where(Project.name == name))
        if project is None:
            raise NotFound(f"no project {name!r}; create it with `trustlab project create {name}`")
        return project

    def create_project(
        self, name: str, description: str, members: list[str], actor: str
    ) -> dict[str, Any]:
        check_name("project", name)
        with self.platform.db.session() as session:
            if session.scalar(select(Project).where(Project.name == name)) is not None:
                raise TrustlabError(f"project {name!r} exists")
            project = Project(name=name, description=description, created_by=actor)
            session.add(project)
            for member in members:
                project.members.append(ProjectMember(user=self._user(session, member)))
            session.flush()
            self.platform.ledger.append(
                session,
                actor,
                "project.create",
                f"project:{name}",
                {"description": description, "members": sorted(members)},
            )
        return self.show_project(name)

    def create_org(self, name: str, actor: str) -> dict[str, Any]:
        """An organisation without a dataset yet: the provider of a registered third-party
        API, or a consumer organisation (operators, admins). Owners of datasets appear when
        they register one."""
        check_name("organisation", name)
        with self.platform.db.session() as session:
            if session.scalar(select(Organisation).where(Organisation.name == name)):
                raise TrustlabError(f"organisation {name!r} exists")
            session.add(Organisation(name=name))
            session.flush()
            self.platform.ledger.append(session, actor, "org.create", f"org:{name}", {})
        return {"name": name}

    def list_orgs(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            orgs = session.scalars(select(Organisation).order_by(Organisation.name))
            return [{"name": o.name, "created_at": o.created_at.isoformat()} for o in orgs]

    def add_member(self, project: str, user: str, actor: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            p = self._project(session, project)
            u = self._user(session, user)
            if any(m.user_id == u.id for m in p.members):
                raise TrustlabError(f"{user!r} is already a member of {project!r}")
            p.members.append(ProjectMember(user=u))
            self.platform.ledger.append(
                session, actor, "project.member.add", f"project:{project}", {"user": user}
            )
        return self.show_project(project)

    def show_project(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            p = self._project(session, name)
            return {
                "name": p.name,
                "description": p.description,
                "members": sorted(m.user.name for m in p.members),
                "contracts": _contracts(session, p.name),
            }

    def list_projects(self, user: str | None = None) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            query = select(Project.name).order_by(Project.name)
            if user is not None:
                query = query.join(ProjectMember).join(User).where(User.name == user)
            names = session.scalars(query).all()
        return [self.show_project(n) for n in names]


def _contracts(session: Session, project: str) -> list[dict[str, Any]]:
    """The project's contracts, one line each (``hub.contracts`` has the rest)."""
    from hub.models import Contract
    from hub.terms import document, in_force, now

    rows = []
    for c in session.scalars(select(Contract).where(Contract.party == project,
                                                    Contract.party_kind == "project")
                             .order_by(Contract.ref)):  # fmt: skip
        objects = document(session, c)["objects"] if c.version else []
        until = c.valid_until.isoformat() if c.valid_until else None
        rows.append(
            {
                "ref": c.ref,
                "state": c.state,
                "in_force": in_force(c, now()),
                "datasets": [o["dataset"] for o in objects],
                "valid_until": until,
            }
        )
    return rows
