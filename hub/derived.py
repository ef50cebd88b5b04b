"""Derived datasets: versions the platform itself makes (samples, products), registered in
the catalog in the caller's transaction, so the version, its column classes and the ledger
entry that records it commit together or not at all.

Feature packages call ``add_derived_version`` instead of writing catalog tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InvalidState, NotFound
from hub.models import ColumnClass, Dataset, DatasetVersion, Organisation


@dataclass(frozen=True)
class DerivedColumn:
    name: str
    type: str
    pii: str = "none"
    level: int = 1
    quasi_identifier: bool = False
    evidence: str = ""


@dataclass(frozen=True)
class DerivedVersion:
    """What a derived version is: its data, where it lies, and how it was made."""

    content_hash: str
    hash_algorithm: str
    location: str
    rows: int | None
    size_bytes: int | None
    columns: list[DerivedColumn] = field(default_factory=list)
    lineage: dict[str, Any] | None = None


def add_derived_version(
    session: Session,
    name: str,
    kind: str,
    owner: str,
    version: DerivedVersion,
    actor: str,
    confirmed_by: str,
    sample_of: str | None = None,
) -> int:
    """Add ``version`` as the next version of derived dataset ``name`` (of ``kind`` sample
    or product, created on first use, owned by organisation ``owner``); its number.

    The dataset's column classes become the version's (stale ones removed): a derived
    dataset's classification is what the platform derived, confirmed by ``confirmed_by``.
    """
    if kind not in ("sample", "product", "media"):
        raise ValueError(f"a derived dataset is a sample, product or media, not {kind!r}")
    ds = session.scalar(select(Dataset).where(Dataset.name == name))
    if ds is not None and ds.kind != kind:
        raise InvalidState(f"{name!r} is a {ds.kind} in the catalog, not a {kind}")
    if ds is None:
        org = session.scalar(select(Organisation).where(Organisation.name == owner))
        if org is None:
            org = Organisation(name=owner)
            session.add(org)
            session.flush()
        source_id = None
        if sample_of is not None:
            source = session.scalar(select(Dataset).where(Dataset.name == sample_of))
            if source is None:
                raise NotFound(f"no dataset {sample_of!r} to be a sample of")
            source_id = source.id
        ds = Dataset(
            name=name, kind=kind, owner_id=org.id, source_format="parquet",
            source_uri=version.location.rsplit("/", 1)[0], source_options="{}",
            classification_status="confirmed", confirmed_by=confirmed_by,
            confirmed_at=datetime.now(UTC), sample_of_id=source_id, created_by=actor,
        )  # fmt: skip
        session.add(ds)
        session.flush()
    existing = {c.name: c for c in session.scalars(
        select(ColumnClass).where(ColumnClass.dataset_id == ds.id))}  # fmt: skip
    for stale in set(existing) - {c.name for c in version.columns}:
        session.delete(existing[stale])
    for pos, col in enumerate(version.columns):
        row = existing.get(col.name) or ColumnClass(dataset_id=ds.id, name=col.name)
        row.position, row.data_type = pos, col.type
        row.pii_type = row.proposed_pii_type = col.pii
        row.level = row.proposed_level = col.level
        row.quasi_identifier = col.quasi_identifier
        row.confidence = 1.0
        row.evidence = col.evidence
        session.add(row)
    last = session.scalars(
        select(DatasetVersion.number).where(DatasetVersion.dataset_id == ds.id)
        .order_by(DatasetVersion.number.desc()).limit(1)
    ).first()  # fmt: skip
    number = (last or 0) + 1
    session.add(
        DatasetVersion(
            dataset_id=ds.id, number=number, content_hash=version.content_hash,
            hash_algorithm=version.hash_algorithm,
            schema_json=json.dumps([{"name": c.name, "type": c.type} for c in version.columns],
                                   ensure_ascii=False),
            row_count=version.rows, size_bytes=version.size_bytes, location=version.location,
            lineage=json.dumps(version.lineage, ensure_ascii=False) if version.lineage else None,
            created_by=actor,
        )
    )  # fmt: skip
    session.flush()
    return number


def owner_of(session: Session, datasets: list[str]) -> set[str]:
    """The owning organisations of ``datasets``."""
    return {
        o
        for (o,) in session.execute(
            select(Organisation.name)
            .join(Dataset, Dataset.owner_id == Organisation.id)
            .where(Dataset.name.in_(datasets))
        )
    }


def column_classes(session: Session, datasets: list[str]) -> dict[tuple[str, str], tuple]:
    """(dataset, column) → (PII type, level) of every column of ``datasets``."""
    return {
        (cc.dataset.name, cc.name): (cc.pii_type, cc.level)
        for cc in session.scalars(
            select(ColumnClass).join(Dataset).where(Dataset.name.in_(datasets))
        )
    }
