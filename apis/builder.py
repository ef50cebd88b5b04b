"""The API lifecycle: draft → submitted → approved → published → offline.

A developer of a project creates a version from a definition (``apis.spec``); the
serving zone must hold what it reads. The version is named by the hash of its definition.
Approval binds that hash: an operator always, and a provider reviewer of each owner
whose PII-classified columns the API returns (a registered API: its provider; an
orchestrated one: every provider its steps needed). A published version is what the gateway
serves; ``offline`` ends a version for good (the gateway answers 410). A new version of a
published API goes through review again; the published one keeps serving meanwhile.
Every transition is ledgered under ``api:<name>``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from apis import spec
from apis.egress import Resolver
from apis.models import Api, ApiDecision, ApiVersion, ServingTable
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, PermissionDenied
from hub.models import ColumnClass, Dataset, DatasetVersion
from hub.platform import Platform
from hub.terms import now

LIVE = ("approved", "published")


def _current_table(session: Session, name: str) -> ServingTable | None:
    return session.scalar(
        select(ServingTable).where(ServingTable.name == name, ServingTable.state == "current")
    )


def serving_schema(session: Session, name: str) -> dict[str, str]:
    """Column → Arrow type of what ``name`` serves now; NotFound when it is not served."""
    t = _current_table(session, name)
    if t is None:
        raise NotFound(
            f"{name!r} is not served; an operator runs `trustlab api serve-product {name}` first"
        )
    return {c["name"]: c["type"] for c in json.loads(t.schema_json)}


def columns_read(session: Session, d: spec.AnyDefinition) -> dict[str, set[str]]:
    """Per serving source, the columns the definition reads (NotFound: one is not served)."""
    if isinstance(d, spec.Wizard):
        return {d.source.serving: set(d.fields)}
    if isinstance(d, spec.Registered):
        return {}
    if isinstance(d, spec.Orchestrated):
        from apis.kindchecks import reads

        return reads(session, d)
    from apis.scriptcols import referenced_columns

    return referenced_columns(d.sql, {s: serving_schema(session, s) for s in d.sources()})


def serving_indexes(session: Session, name: str) -> list[list[str]]:
    """Indexes the approved and published wizard versions over ``name`` filter and look up by."""
    out: list[list[str]] = []
    for v in session.scalars(select(ApiVersion).where(ApiVersion.state.in_(LIVE))):
        d = spec.parse(json.loads(v.definition))
        if isinstance(d, spec.Wizard) and d.source.serving == name:
            # Pages are ordered by the key after the caller's sort: a filter's index carries
            # the key too, so a filtered page is read in order instead of sorted.
            wanted = [[d.key]] if d.key else []
            wanted += [[f.field, d.key] if d.key and f.field != d.key else [f.field]
                       for f in d.filters]  # fmt: skip
            wanted += [[s] for s in d.sort]
            for ix in wanted:
                if ix not in out:
                    out.append(ix)
    return out


def serving_columns_used(session: Session, name: str) -> dict[str, set[str]]:
    """API name → columns of ``name`` its approved or published versions read."""
    used: dict[str, set[str]] = {}
    for v in session.scalars(select(ApiVersion).where(ApiVersion.state.in_(LIVE))):
        d = spec.parse(json.loads(v.definition))
        if name not in d.sources():
            continue
        try:
            cols = columns_read(session, d).get(name)
        except NotFound:
            continue
        if cols:
            used.setdefault(f"{d.name} v{v.number}", set()).update(cols)
    return used


class Builder:
    def __init__(self, platform: Platform, resolver: Resolver | None = None) -> None:
        self.platform = platform
        self.directory = Directory(platform)
        self.resolver = resolver  # registered APIs' hosts (None: the system's resolver)

    # --- versions ---------------------------------------------------------------------------

    def create(self, data: Any, actor: str, project: str) -> dict[str, Any]:
        """A new draft version of the API the definition names."""
        d = data if isinstance(data, spec.AnyDefinition) else spec.parse(data)
        algorithm = self.platform.settings.hash_algorithm
        digest = spec.definition_hash(d, algorithm)
        with self.platform.db.session() as session:
            self.directory.require_member(actor, project, session=session)
            providers = self._check_sources(session, d)
            api = session.scalar(select(Api).where(Api.name == d.name))
            if api is None:
                api = Api(name=d.name, project=project, created_by=actor)
                session.add(api)
                session.flush()
            elif api.project != project:
                raise PermissionDenied(f"API {d.name} belongs to project {api.project}")
            if any(v.hash == digest and v.state != "rejected" for v in api.versions):
                raise InvalidState(f"API {d.name} already has this exact definition")
            number = (api.versions[-1].number if api.versions else 0) + 1
            table = _current_table(session, d.sources()[0]) if d.sources() else None
            v = ApiVersion(
                api_id=api.id,
                number=number,
                kind=d.kind,
                definition=json.dumps(spec.to_json(d), ensure_ascii=False),
                hash=digest,
                state="draft",
                providers=json.dumps(sorted(providers)),
                serving_table_id=table.id if table else None,
                created_by=actor,
            )
            session.add(v)
            session.flush()
            self._ledger(
                session,
                actor,
                "api.create",
                v,
                {
                    "project": project,
                    "kind": d.kind,
                    "sources": d.sources(),
                    "providers": sorted(providers),
                },
            )
            return self._describe(v)

    def _check_sources(self, session: Session, d: spec.AnyDefinition) -> set[str]:
        """Refuse what the serving zone contradicts; the owners whose PII the API returns."""
        from apis import kindchecks

        if isinstance(d, spec.Registered):
            return kindchecks.check_registered(session, self.platform, d, self.resolver)
        if isinstance(d, spec.Orchestrated):
            return kindchecks.check_orchestrated(session, d)
        if isinstance(d, spec.Script):
            from apis.sqlsafe import check_script

            tables = {s: s for s in d.sources()}
            checked = check_script(d.sql, dialect="sqlite", tables=tables)
            if set(checked.columns) != set(d.fields):
                raise spec.InvalidDefinition(
                    f"API definition field fields: the script returns "
                    f"{', '.join(checked.columns)}; declare exactly those"
                )
            missing = [p for p in checked.parameters if p not in d.parameters]
            if missing:
                raise spec.InvalidDefinition(
                    f"API definition field parameters: declare {', '.join(missing)}"
                )
        providers: set[str] = set()
        for source, cols in columns_read(session, d).items():
            schema = serving_schema(session, source)
            lacking = sorted(cols - set(schema))
            if lacking:
                raise spec.InvalidDefinition(
                    f"API definition: {source} has no column {', '.join(lacking)}"
                )
            ds = session.scalar(select(Dataset).where(Dataset.name == source))
            assert ds is not None
            pii = set(
                session.scalars(
                    select(ColumnClass.name).where(
                        ColumnClass.dataset_id == ds.id, ColumnClass.pii_type != "none"
                    )
                )
            )
            if cols & pii:
                providers.add(ds.owner.name)
        return providers

    def _version(self, session: Session, name: str, number: int | None) -> ApiVersion:
        api = session.scalar(select(Api).where(Api.name == name))
        if api is None or not api.versions:
            raise NotFound(f"no API {name!r}; see `trustlab api list`")
        if number is None:
            return api.versions[-1]
        for v in api.versions:
            if v.number == number:
                return v
        raise NotFound(f"API {name} has no version {number}")

    def _move(self, v: ApiVersion, allowed: tuple[str, ...], to: str) -> None:
        if v.state not in allowed:
            raise InvalidState(
                f"API {v.api.name} v{v.number} is {v.state}; it must be "
                f"{' or '.join(allowed)} to become {to}"
            )
        v.state = to

    def submit(self, name: str, actor: str, number: int | None = None) -> dict[str, Any]:
        with self.platform.db.session() as session:
            v = self._version(session, name, number)
            self.directory.require_member(actor, v.api.project, session=session)
            self._move(v, ("draft",), "submitted")
            self._ledger(session, actor, "api.submit", v, {})
            return self._describe(v)

    def decide(
        self,
        name: str,
        number: int | None,
        role: str,
        actor: str,
        decision: str,
        reason: str | None = None,
    ) -> dict[str, Any]:
        if decision not in ("approve", "reject"):
            raise TrustlabError("decide approve or reject")
        if decision == "reject" and not reason:
            raise TrustlabError("a rejection needs a reason (--reason) the developer can act on")
        with self.platform.db.session() as session:
            v = self._version(session, name, number)
            if v.state != "submitted":
                raise InvalidState(f"API {name} v{v.number} is {v.state}, not submitted")
            org = self._reviewer(session, v, role, actor)
            for d in v.decisions:
                if d.reviewer == actor:
                    raise PermissionDenied(
                        f"{actor} already decided API {name} v{v.number} "
                        f"as {d.role}; no one fills two places"
                    )
                if d.role == role and d.org == org:
                    raise InvalidState(
                        f"the {role} decision{' of ' + org if org else ''} on "
                        f"API {name} v{v.number} is already made"
                    )
            session.add(
                ApiDecision(
                    version_id=v.id,
                    version_hash=v.hash,
                    role=role,
                    org=org,
                    reviewer=actor,
                    decision=decision,
                    reason=reason,
                )
            )
            session.flush()
            session.refresh(v)
            if decision == "reject":
                v.state = "rejected"
            elif self._approved(v):
                v.state = "approved"
            self._ledger(
                session,
                actor,
                f"api.{decision}",
                v,
                {"role": role, "org": org, "reason": reason, "state": v.state},
                seal=v.state == "approved",
            )
            return self._describe(v)

    def _reviewer(self, session: Session, v: ApiVersion, role: str, actor: str) -> str:
        if actor in (v.created_by,):
            raise PermissionDenied(
                f"{actor} wrote API {v.api.name} v{v.number}; another person reviews it"
            )
        if role == "operator":
            self.directory.require(actor, "operator", session=session)
            return ""
        if role != "provider":
            raise TrustlabError("review as provider or operator")
        needed = json.loads(v.providers)
        mine = [
            r.org
            for r in self.directory.roles(actor, session)
            if r.role == "provider" and r.org in needed
        ]
        if not mine:
            raise PermissionDenied(
                f"API {v.api.name} v{v.number} needs provider review by "
                f"{', '.join(needed) or 'no provider (it returns no PII)'}; {actor} is not one"
            )
        return str(mine[0])

    def _approved(self, v: ApiVersion) -> bool:
        ok = [d for d in v.decisions if d.decision == "approve" and d.version_hash == v.hash]
        orgs = {d.org for d in ok if d.role == "provider"}
        return any(d.role == "operator" for d in ok) and set(json.loads(v.providers)) <= orgs

    def publish(self, name: str, actor: str, number: int | None = None) -> dict[str, Any]:
        with self.platform.db.session() as session:
            self.directory.require(actor, "operator", session=session)
            v = self._version(session, name, number)
            if v.state == "approved" and not self._approved(v):
                raise InvalidState(f"API {name} v{v.number}'s approvals do not match its hash")
            d = spec.parse(json.loads(v.definition))
            self._check_sources(session, d)  # the serving zone may have moved since review
            self._move(v, ("approved",), "published")
            v.published_at = now()
            table = _current_table(session, d.sources()[0]) if d.sources() else None
            v.serving_table_id = table.id if table else None
            self._ledger(
                session,
                actor,
                "api.publish",
                v,
                {"serving_table": table.physical if table else None},
                seal=True,
            )
            described = self._describe(v)
        from apis.serving import Serving

        for source in d.sources():  # the lookups, filters and sorts it serves get indexes
            Serving(self.platform).ensure_indexes(source)
        return described

    def offline(self, name: str, actor: str, number: int, reason: str) -> dict[str, Any]:
        if not reason:
            raise TrustlabError("taking an API offline needs a reason (--reason)")
        with self.platform.db.session() as session:
            self.directory.require(actor, "operator", session=session)
            v = self._version(session, name, number)
            self._move(v, ("published", "approved", "submitted", "draft"), "offline")
            self._ledger(session, actor, "api.offline", v, {"reason": reason})
            return self._describe(v)

    # --- reading ----------------------------------------------------------------------------

    def show(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            api = session.scalar(select(Api).where(Api.name == name))
            if api is None:
                raise NotFound(f"no API {name!r}; see `trustlab api list`")
            return {
                "name": api.name,
                "project": api.project,
                "versions": [self._describe(v) for v in api.versions],
            }

    def list(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            out = []
            for api in session.scalars(select(Api).order_by(Api.name)):
                latest = api.versions[-1] if api.versions else None
                published = [v.number for v in api.versions if v.state == "published"]
                out.append(
                    {
                        "name": api.name,
                        "project": api.project,
                        "latest": latest.number if latest else None,
                        "state": latest.state if latest else None,
                        "published": published,
                    }
                )
            return out

    def definition(self, name: str, number: int) -> tuple[spec.AnyDefinition, str]:
        with self.platform.db.session() as session:
            v = self._version(session, name, number)
            return spec.parse(json.loads(v.definition)), v.state

    def _describe(self, v: ApiVersion) -> dict[str, Any]:
        return {
            "api": v.api.name,
            "version": v.number,
            "kind": v.kind,
            "state": v.state,
            "hash": v.hash,
            "providers": json.loads(v.providers),
            "definition": json.loads(v.definition),
            "created_by": v.created_by,
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "decisions": [
                {
                    "role": d.role,
                    "org": d.org,
                    "reviewer": d.reviewer,
                    "decision": d.decision,
                    "reason": d.reason,
                    "at": d.decided_at.isoformat(),
                }
                for d in v.decisions
            ],
        }

    def _ledger(
        self,
        session: Session,
        actor: str,
        action: str,
        v: ApiVersion,
        payload: dict[str, Any],
        seal: bool = False,
    ) -> None:
        self.platform.ledger.append(
            session,
            actor,
            action,
            f"api:{v.api.name}",
            {"version": v.number, "hash": v.hash, **payload},
            seal=seal,
        )


def product_version_of(session: Session, table_id: int | None) -> int | None:
    if table_id is None:
        return None
    t = session.get(ServingTable, table_id)
    dv = session.get(DatasetVersion, t.dataset_version_id) if t else None
    return dv.number if dv else None
