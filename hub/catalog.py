"""The catalog: register sources, propose and confirm column classification, version by content.

Every change is one metadata-DB transaction that also appends its ledger entry, so either
both happen or neither does. Long work (probing, hashing) happens before the transaction.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from hub.classification import PII_TYPES, TEXT_PII, ColumnProfile, Level, Proposal
from hub.errors import (
    AlreadyExists,
    ConfigError,
    InvalidSource,
    InvalidState,
    NotFound,
    TrustlabError,
)
from hub.hashing import canonical_json, digest
from hub.models import ColumnClass, Dataset, DatasetVersion, Organisation
from hub.platform import Platform
from hub.sources import Fingerprint, Probe, Progress, open_source

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,99}")
ORG_RE = re.compile(r"[^\s/\\]{1,200}")


@dataclass(frozen=True)
class Registration:
    """What ``register`` needs that is not the dataset's name and owner."""

    location: str
    table: str | None = None
    fmt: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


def _check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise TrustlabError(
            f"invalid dataset name {name!r}: start with a letter, then letters, digits, _ or -"
            " (at most 100 characters)"
        )


def _version_hash(algorithm: str, fingerprint: Fingerprint, probe: Probe) -> str:
    """The version name: content fingerprint plus schema, so a retyped column is a new version."""
    schema = [[c.name, c.data_type] for c in probe.columns]
    return digest(algorithm, canonical_json([fingerprint.content_hash, schema])).hex()


class Catalog:
    """The catalog; ``actor`` is who writes (the authenticated caller), reads need none."""

    def __init__(self, platform: Platform, actor: str | None = None) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.actor = actor

    def _actor(self) -> str:
        if not self.actor:
            raise ConfigError("a catalog change needs the acting user (through the platform API)")
        return self.actor

    # -- helpers -----------------------------------------------------------------------
    def _get(self, session: Session, name: str) -> Dataset:
        ds = session.scalars(
            select(Dataset)
            .where(Dataset.name == name)
            .options(
                selectinload(Dataset.versions),
                selectinload(Dataset.columns),
                selectinload(Dataset.sample_of),
            )
        ).first()
        if ds is None:
            raise NotFound(f"no dataset named {name!r}; `trustlab dataset list` shows the catalog")
        return ds

    def _org(self, session: Session, name: str, actor: str) -> Organisation:
        org = session.scalars(select(Organisation).where(Organisation.name == name)).first()
        if org is None:
            org = Organisation(name=name)
            session.add(org)
            session.flush()
            self.platform.ledger.append(session, actor, "org.create", f"org:{name}", {})
        return org

    def _propose(self, probe: Probe) -> list[tuple[int, str, str, Proposal]]:
        classifier = self.platform.classifier
        out = []
        for i, col in enumerate(probe.columns):
            profile = ColumnProfile(col.name, col.data_type, probe.values.get(col.name, []))
            proposal = classifier.propose(profile)
            dtype = "string" if proposal.pii_type in TEXT_PII else col.data_type
            out.append((i, col.name, dtype, proposal))
        return out

    def _scan(self, reg: Registration, progress: Progress | None) -> tuple[Any, Probe, Fingerprint]:
        source = open_source(reg.location, reg.table, reg.fmt, reg.encoding, reg.delimiter)
        probe = source.probe(self.settings.probe_rows)
        if not probe.columns:
            raise InvalidSource(f"{reg.location} has no columns")
        fingerprint = source.fingerprint(self.settings.hash_algorithm, progress)
        return source, probe, fingerprint

    # -- commands ----------------------------------------------------------------------
    def register(
        self,
        reg: Registration,
        name: str,
        owner: str,
        progress: Progress | None = None,
        kind: str = "source",
    ) -> dict[str, Any]:
        """Register a source as dataset ``name`` owned by ``owner``; classification is proposed."""
        _check_name(name)
        if not ORG_RE.fullmatch(owner):
            raise TrustlabError(f"invalid owner {owner!r}: use an organisation name without spaces")
        actor = self._actor()
        with self.platform.db.session() as session:
            if session.scalars(select(Dataset.id).where(Dataset.name == name)).first():
                raise AlreadyExists(
                    f"dataset {name!r} already exists; choose another --name, or run "
                    f"`trustlab dataset refresh {name}` to record a new version"
                )
        source, probe, fingerprint = self._scan(reg, progress)
        proposals = self._propose(probe)
        uri = source.safe_url if reg.table is not None or reg.fmt == "sql" else _abs(reg.location)
        try:
            with self.platform.db.session() as session:
                org = self._org(session, owner, actor)
                ds = Dataset(
                    name=name,
                    kind=kind,
                    owner=org,
                    source_format=source.format,
                    source_uri=uri,
                    source_table=reg.table,
                    source_options=json.dumps(source.options()),
                    classification_status="proposed",
                    created_by=actor,
                )
                session.add(ds)
                session.flush()
                version = self._add_version(session, ds, probe, fingerprint, actor)
                for pos, col, dtype, p in proposals:
                    session.add(_column(ds, pos, col, dtype, p))
                self.platform.ledger.append(
                    session,
                    actor,
                    "dataset.register",
                    f"dataset:{name}",
                    {
                        "owner": owner,
                        "kind": kind,
                        "format": source.format,
                        "source": uri,
                        "table": reg.table,
                        "version": version.number,
                        "content_hash": version.content_hash,
                        "columns": [
                            {"name": c, "type": t, "pii": p.pii_type, "level": int(p.level)}
                            for _, c, t, p in proposals
                        ],
                    },
                )
            if reg.table is not None:
                self._store_source_secret(name, source)
        except IntegrityError:
            raise AlreadyExists(
                f"dataset {name!r} was registered concurrently; pick another name"
            ) from None
        return self.show(name)

    def _add_version(
        self, session: Session, ds: Dataset, probe: Probe, fp: Fingerprint, actor: str
    ) -> DatasetVersion:
        number = (ds.latest.number + 1) if ds.latest else 1
        version = DatasetVersion(
            dataset=ds,
            number=number,
            content_hash=_version_hash(self.settings.hash_algorithm, fp, probe),
            hash_algorithm=self.settings.hash_algorithm,
            schema_json=json.dumps([{"name": c.name, "type": c.data_type} for c in probe.columns]),
            row_count=fp.row_count,
            size_bytes=fp.size_bytes,
            created_by=actor,
        )
        session.add(version)
        session.flush()
        return version

    def registration(self, name: str) -> Registration:
        """How to read ``name``'s source, credentials included (never print this)."""
        with self.platform.db.session() as session:
            ds = self._get(session, name)
            if ds.source_format not in ("csv", "parquet", "sql") or ds.kind != "source":
                raise InvalidState(f"{name!r} is a {ds.kind}, not a registered source")
            return Registration(
                location=self._source_location(ds),
                table=ds.source_table,
                fmt=ds.source_format,
                **json.loads(ds.source_options),
            )

    def check_unchanged(self, name: str, progress: Progress | None = None) -> dict[str, Any]:
        """The latest version, after re-hashing the source to prove it is still that version."""
        _, probe, fingerprint = self._scan(self.registration(name), progress)
        info = self.show(name)
        latest = info["versions"][-1]
        current = _version_hash(self.settings.hash_algorithm, fingerprint, probe)
        if current != latest["content_hash"]:
            raise InvalidState(
                f"the source of {name!r} changed since version {latest['number']}; record the "
                f"new version with `trustlab dataset refresh {name}` (and confirm it) first"
            )
        return latest

    def refresh(self, name: str, progress: Progress | None = None) -> dict[str, Any]:
        """Re-read the source; record a new version when its content or schema changed.

        New columns get proposals and removed ones are dropped; either resets the
        classification to *proposed*, so the owner must confirm again before any use.
        """
        actor = self._actor()
        reg = self.registration(name)
        _, probe, fingerprint = self._scan(reg, progress)
        new_hash = _version_hash(self.settings.hash_algorithm, fingerprint, probe)
        with self.platform.db.session() as session:
            ds = self._get(session, name)
            if ds.latest and ds.latest.content_hash == new_hash:
                return {"changed": False, **self._describe(ds)}
            version = self._add_version(session, ds, probe, fingerprint, actor)
            known = {c.name: c for c in ds.columns}
            names = [c.name for c in probe.columns]
            added = [c for c in probe.columns if c.name not in known]
            removed = [n for n in known if n not in names]
            for col in removed:
                session.delete(known[col])
            for col in probe.columns:
                if col.name in known:
                    known[col.name].position = names.index(col.name)
                    known[col.name].data_type = col.data_type
            for _, col, dtype, p in self._propose(Probe(added, probe.values)):
                session.add(_column(ds, names.index(col), col, dtype, p))
            if added or removed:
                ds.classification_status = "proposed"
                ds.confirmed_by = None
                ds.confirmed_at = None
            self.platform.ledger.append(
                session,
                actor,
                "dataset.version",
                f"dataset:{name}",
                {
                    "version": version.number,
                    "content_hash": version.content_hash,
                    "added_columns": [c.name for c in added],
                    "removed_columns": removed,
                    "classification": ds.classification_status,
                },
            )
        return {"changed": True, **self.show(name)}

    def classify(
        self,
        name: str,
        column: str,
        pii: str | None = None,
        level: str | int | None = None,
        quasi_identifier: bool | None = None,
    ) -> dict[str, Any]:
        """Set a column's classification; any edit returns the dataset to *proposed*."""
        if pii is None and level is None and quasi_identifier is None:
            raise TrustlabError("nothing to change: pass --pii, --level and/or --qi/--no-qi")
        if pii is not None and pii not in PII_TYPES:
            raise TrustlabError(f"unknown PII type {pii!r}; choose from {', '.join(PII_TYPES)}")
        try:
            lvl = Level.parse(level) if level is not None else None
        except ValueError as exc:
            raise TrustlabError(str(exc)) from None
        actor = self._actor()
        with self.platform.db.session() as session:
            ds = self._get(session, name)
            col = next((c for c in ds.columns if c.name == column), None)
            if col is None:
                raise NotFound(
                    f"dataset {name!r} has no column {column!r}; columns: "
                    f"{', '.join(c.name for c in ds.columns)}"
                )
            before = {"pii": col.pii_type, "level": col.level, "qi": col.quasi_identifier}
            if pii is not None:
                col.pii_type = pii
                if pii in TEXT_PII:
                    col.data_type = "string"
            if lvl is not None:
                col.level = int(lvl)
            if quasi_identifier is not None:
                col.quasi_identifier = quasi_identifier
            col.edited_by = actor
            after = {"pii": col.pii_type, "level": col.level, "qi": col.quasi_identifier}
            ds.classification_status = "proposed"
            ds.confirmed_by = None
            ds.confirmed_at = None
            self.platform.ledger.append(
                session,
                actor,
                "dataset.classify",
                f"dataset:{name}",
                {"column": column, "before": before, "after": after},
            )
        return self.show(name)

    def confirm(self, name: str) -> dict[str, Any]:
        """Accept the classification as it now stands (the owner's decision, ledgered)."""
        actor = self._actor()
        with self.platform.db.session() as session:
            ds = self._get(session, name)
            if ds.confirmed:
                raise InvalidState(f"the classification of {name!r} is already confirmed")
            ds.classification_status = "confirmed"
            ds.confirmed_by = actor
            ds.confirmed_at = datetime.now(UTC)
            snapshot = _classification(ds)
            self.platform.ledger.append(
                session,
                actor,
                "dataset.confirm",
                f"dataset:{name}",
                {
                    "version": ds.latest.number if ds.latest else None,
                    "classification_hash": digest(
                        self.settings.hash_algorithm, canonical_json(snapshot)
                    ).hex(),
                    "classification": snapshot,
                },
            )
        return self.show(name)

    def require_confirmed(self, name: str) -> dict[str, Any]:
        """The dataset, or an error when its classification is not confirmed (downstream gate)."""
        info = self.show(name)
        if info["classification_status"] != "confirmed":
            raise InvalidState(
                f"dataset {name!r} has an unconfirmed classification; its owner "
                f"({info['owner']}) must review it and run `trustlab dataset confirm {name}`"
            )
        return info

    def show(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            return self._describe(self._get(session, name))

    def list(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            rows = session.scalars(
                select(Dataset)
                .order_by(Dataset.name)
                .options(selectinload(Dataset.versions), selectinload(Dataset.owner))
            ).all()
            return [
                {
                    "name": ds.name,
                    "kind": ds.kind,
                    "owner": ds.owner.name,
                    "format": ds.source_format,
                    "classification_status": ds.classification_status,
                    "versions": len(ds.versions),
                    "latest_hash": ds.latest.content_hash if ds.latest else None,
                    "rows": ds.latest.row_count if ds.latest else None,
                }
                for ds in rows
            ]

    def _describe(self, ds: Dataset) -> dict[str, Any]:
        return {
            "name": ds.name,
            "kind": ds.kind,
            "owner": ds.owner.name,
            "source": {
                "format": ds.source_format,
                "uri": ds.source_uri,
                "table": ds.source_table,
                "options": json.loads(ds.source_options),
            },
            "sample_of": ds.sample_of.name if ds.sample_of else None,
            "classification_status": ds.classification_status,
            "confirmed_by": ds.confirmed_by,
            "confirmed_at": ds.confirmed_at.isoformat() if ds.confirmed_at else None,
            "columns": [
                {
                    "name": c.name,
                    "type": c.data_type,
                    "pii": c.pii_type,
                    "level": f"L{c.level}",
                    "quasi_identifier": c.quasi_identifier,
                    "proposed": {"pii": c.proposed_pii_type, "level": f"L{c.proposed_level}"},
                    "confidence": round(c.confidence, 3),
                    "evidence": c.evidence,
                    "edited_by": c.edited_by,
                }
                for c in ds.columns
            ],
            "versions": [
                {
                    "number": v.number,
                    "content_hash": v.content_hash,
                    "hash_algorithm": v.hash_algorithm,
                    "rows": v.row_count,
                    "size_bytes": v.size_bytes,
                    "schema": json.loads(v.schema_json),
                    "location": v.location,
                    "lineage": json.loads(v.lineage) if v.lineage else None,
                    "created_by": v.created_by,
                    "created_at": v.created_at.isoformat(),
                }
                for v in ds.versions
            ],
        }

    # -- SQL source credentials ---------------------------------------------------------
    # The catalog stores SQL URLs without passwords; the password lives in a 0600 file
    # under TRUSTLAB_HOME so it never appears in `dataset show`, the console or the ledger.
    @property
    def _secrets_path(self) -> Path:
        return self.settings.home / "secrets" / "sources.json"

    def _store_source_secret(self, name: str, source: Any) -> None:
        password = source.url.password
        if not password:
            return
        path = self._secrets_path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = password
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)

    def _source_location(self, ds: Dataset) -> str:
        if ds.source_format != "sql":
            return ds.source_uri
        from sqlalchemy.engine import make_url

        secrets: dict[str, str] = (
            json.loads(self._secrets_path.read_text()) if self._secrets_path.exists() else {}
        )
        url = make_url(ds.source_uri)
        if ds.name in secrets:
            url = url.set(password=secrets[ds.name])
        return url.render_as_string(hide_password=False)


def _abs(location: str) -> str:
    return str(Path(location).expanduser().resolve())


def _column(ds: Dataset, pos: int, name: str, dtype: str, p: Proposal) -> ColumnClass:
    return ColumnClass(
        dataset=ds,
        position=pos,
        name=name,
        data_type=dtype,
        pii_type=p.pii_type,
        level=int(p.level),
        quasi_identifier=p.quasi_identifier,
        proposed_pii_type=p.pii_type,
        proposed_level=int(p.level),
        confidence=p.confidence,
        evidence=p.evidence,
    )


def _classification(ds: Dataset) -> list[dict[str, Any]]:
    return [
        {"column": c.name, "pii": c.pii_type, "level": c.level, "qi": c.quasi_identifier}
        for c in ds.columns
    ]
