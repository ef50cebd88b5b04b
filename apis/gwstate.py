"""What the gateway knows: published API versions, keys, applications, contracts in force.

Loaded from the metadata database in one go and kept until something changes. Every state
change that matters here — a publication, a key issued or revoked, a contract approved,
suspended, revoked or expired, an application frozen — is a ledger entry, so the gateway
compares the ledger's head with the one it loaded from on **every call** (one indexed
lookup) and reloads when it moved: a revocation takes effect on the next call, in every
gateway worker. Time-based changes (a contract's end, a key's rotation overlap, a
contract starting later) are compared with the clock on every call as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from apis import spec
from apis.access import Access, narrow
from apis.models import Api, ApiKey, ApiVersion, Application, ServingTable
from apis.serving import sql_name
from hub.models import Contract, ContractVersion, LedgerEntry
from hub.terms import aware


@dataclass(frozen=True)
class Endpoint:
    api: str
    number: int
    state: str  # published | offline (410)
    definition: spec.AnyDefinition
    types: dict[str, str]  # served column / output field → API type
    view: str | None  # wizard: the serving view
    sql: str | None = None  # script: the checked statement (physical names)
    order: tuple[tuple[str, bool], ...] = ()  # script: its ORDER BY (apis.sqlsafe)


@dataclass(frozen=True)
class Key:
    key_id: str
    secret_hash: str
    application: str
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class Held:
    """One application contract in force (or starting later)."""

    ref: str
    start: datetime | None
    end: datetime | None
    limits: dict[str, Any]
    apis: dict[str, dict[str, Any]]


@dataclass
class State:
    head: int
    endpoints: dict[tuple[str, int], Endpoint] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)  # name → state
    held: dict[str, list[Held]] = field(default_factory=dict)  # application → contracts
    _access: dict[tuple[str, str, int], Access | None] = field(default_factory=dict)

    def access(self, application: str, ep: Endpoint, at: datetime) -> Access | None:
        """The narrowed terms for ``application`` on ``ep`` at ``at``; None: no contract."""
        key = (application, ep.api, ep.number)
        cached = self._access.get(key, _MISSING)
        if cached is _MISSING or (
            cached is not None and cached.until is not None and at >= cached.until
        ):
            found = []
            for h in self.held.get(application, []):
                terms = h.apis.get(ep.api)
                if terms is None or (h.start is not None and at < h.start):
                    continue
                ends = [
                    h.end,
                    aware(datetime.fromisoformat(terms["valid_until"]))
                    if terms.get("valid_until")
                    else None,
                ]
                if all(e is None or at < e for e in ends):
                    found.append((h.ref, h.end, h.limits, terms))
            cached = narrow(application, ep.api, found, list(ep.definition.fields))
            self._access[key] = cached
        return cached  # type: ignore[return-value]


_MISSING: Any = object()


def head(session: Session) -> int:
    return int(session.scalar(select(func.max(LedgerEntry.seq))) or 0)


class HeadWatch:
    """The ledger's head, read on every call on one autocommit connection kept for it (a
    pool checkout and SQLAlchemy's execution path would cost more than the read). On SQLite,
    ``PRAGMA data_version`` tells without a query whether anything was committed since.
    Used from one thread (the gateway's event loop); a failed read drops the connection."""

    HEAD = "SELECT max(seq) FROM ledger_entries"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Any = None
        self.version: Any = None
        self.value = 0

    def head(self) -> int:
        if self.conn is None:
            self.conn = self.engine.raw_connection()
            self.engine.dialect.set_isolation_level(self.conn.dbapi_connection, "AUTOCOMMIT")
            self.version = None
        try:
            cur = self.conn.cursor()
            try:
                if self.engine.dialect.name == "sqlite":
                    cur.execute("PRAGMA data_version")
                    version = cur.fetchone()[0]
                    if version == self.version:
                        return self.value
                    self.version = version
                cur.execute(self.HEAD)
                self.value = int(cur.fetchone()[0] or 0)
                return self.value
            finally:
                cur.close()
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.invalidate()


def load(session: Session, dialect: str) -> State:
    state = State(head=head(session))
    schemas = {
        t.name: {c["name"]: spec.arrow_to_type(c["type"]) for c in json.loads(t.schema_json)}
        for t in session.scalars(select(ServingTable).where(ServingTable.state == "current"))
    }
    rows = session.execute(
        select(ApiVersion, Api.name)
        .join(Api, Api.id == ApiVersion.api_id)
        .where(ApiVersion.state.in_(("published", "offline")))
    ).all()
    for v, name in rows:
        d = spec.parse(json.loads(v.definition))
        if isinstance(d, spec.Wizard):
            types = schemas.get(d.source.serving, {})
            state.endpoints[(name, v.number)] = Endpoint(
                name, v.number, v.state, d, types, sql_name(d.source.serving)
            )
        elif isinstance(d, spec.Registered | spec.Orchestrated):
            types = spec.output_types(d, {})
            state.endpoints[(name, v.number)] = Endpoint(name, v.number, v.state, d, types, None)
        else:
            from apis.sqlsafe import check_script

            checked = check_script(
                d.sql, dialect=dialect, tables={s: sql_name(s) for s in d.sources()}
            )
            state.endpoints[(name, v.number)] = Endpoint(
                name, v.number, v.state, d, dict(d.fields), None, checked.sql, checked.order
            )
    for app in session.scalars(select(Application)):
        state.apps[app.name] = app.state
    for k, app_name in session.execute(
        select(ApiKey, Application.name).join(Application, Application.id == ApiKey.application_id)
    ).all():
        state.keys[k.key_id] = Key(
            k.key_id, k.secret_hash, app_name, aware(k.expires_at), k.revoked_at is not None
        )
    for c, text in session.execute(
        select(Contract, ContractVersion.document)
        .join(
            ContractVersion,
            (ContractVersion.contract_id == Contract.id)
            & (ContractVersion.number == Contract.version),
        )
        .where(Contract.party_kind == "application", Contract.state == "active")
    ).all():
        doc = json.loads(text)
        state.held.setdefault(c.party, []).append(
            Held(
                c.ref,
                aware(c.valid_from),
                aware(c.valid_until),
                doc.get("limits", {}),
                {a["api"]: a for a in doc.get("apis", [])},
            )
        )
    return state


def next_start(state: State, at: datetime) -> datetime | None:
    """The earliest later start of a held contract (the state must be recomputed then)."""
    later = [h.start for hs in state.held.values() for h in hs if h.start and h.start > at]
    return min(later) if later else None
