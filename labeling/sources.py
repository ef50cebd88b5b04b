"""Where labeling tasks may come from: only masked samples, approved products and made-safe
media — never a raw source. A source dataset's name resolves to its newest published
(gate-passed) masked sample; the contract is checked on the dataset it names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import NotFound, TrustlabError
from hub.models import Dataset, DatasetVersion

MAX_TASKS = 100_000


@dataclass(frozen=True)
class Source:
    contract_dataset: str  # what the contract must name
    name: str  # the catalog dataset the tasks are read from
    kind: str  # sample | product | media
    version_id: int
    version: int
    location: str
    columns: list[str]
    media: str | None  # for media datasets: image | audio | video | pointcloud
    content_hash: str


def _latest(session: Session, ds: Dataset) -> DatasetVersion:
    v = session.scalars(
        select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
        .order_by(DatasetVersion.number.desc()).limit(1)
    ).first()  # fmt: skip
    if v is None or not v.location:
        raise NotFound(f"{ds.name!r} has no version to label yet")
    return v


def resolve(session: Session, dataset: str) -> Source:
    ds = session.scalar(select(Dataset).where(Dataset.name == dataset))
    if ds is None:
        raise NotFound(f"no dataset {dataset!r}; `trustlab dataset list` shows the catalog")
    named = ds
    if ds.kind == "sample":
        named = session.get(Dataset, ds.sample_of_id)
    elif ds.kind == "source":
        sample = session.scalar(select(Dataset).where(Dataset.sample_of_id == ds.id,
                                                      Dataset.kind == "sample"))  # fmt: skip
        if sample is None:
            raise TrustlabError(
                f"{dataset!r} is raw data, which never reaches annotators; build its masked "
                f"sample first (`trustlab sample build {dataset}`) and label that"
            )
        ds = sample
    elif ds.kind not in ("product", "media"):
        raise TrustlabError(f"{dataset!r} is a {ds.kind}: label a sample, product or media")
    v = _latest(session, ds)
    lineage = json.loads(v.lineage) if v.lineage else {}
    return Source(
        contract_dataset=named.name, name=ds.name, kind=ds.kind, version_id=v.id,
        version=v.number, location=v.location or "",
        columns=[c["name"] for c in json.loads(v.schema_json)],
        media=(lineage.get("media") or {}).get("type") if ds.kind == "media" else None,
        content_hash=v.content_hash,
    )  # fmt: skip


def read_rows(src: Source, columns: list[str]) -> list[dict[str, Any]]:
    """The version's rows (only ``columns``), in stored order."""
    import pyarrow.parquet as pq

    table = pq.read_table(src.location, columns=columns)
    if table.num_rows > MAX_TASKS:
        raise TrustlabError(
            f"{src.name} v{src.version} has {table.num_rows:,} rows; a project takes at most "
            f"{MAX_TASKS:,} tasks: label a sample of it"
        )
    return table.to_pylist()
