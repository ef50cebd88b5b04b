"""Exports: a project's final labels become a version of the catalog dataset
``<project>-labels`` (kind product, owned by the source's owner), with provenance.

Each version is one immutable folder in the products zone: ``table/labels.parquet`` (one
row per final task: key, data, label, state, agreement, annotators — what pipelines read
and APIs serve) and ``files/`` in the requested format, all named by one content hash.
The lineage records the source dataset version, the labeling specification version and
hash, the annotators, agreement and gold figures. Written to a staging folder, renamed
into place and registered in one transaction; on any error nothing remains.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.derived import DerivedColumn, DerivedVersion, add_derived_version
from hub.errors import TrustlabError
from hub.hashing import hasher
from hub.identity import Directory
from hub.models import Dataset, DatasetVersion
from hub.platform import Platform
from labeling import formats, templates
from labeling.models import LabelAssignment, LabelExport, LabelSpec, LabelTask
from labeling.progress import Progress
from labeling.projects import Projects

FINAL = ("agreed", "reviewed", "gold")
COLUMNS = [
    DerivedColumn("key", "string"),
    DerivedColumn("data", "string", evidence="task data shown to annotators (made safe)"),
    DerivedColumn("label", "string", evidence="final label (Label Studio result JSON)"),
    DerivedColumn("state", "string"),
    DerivedColumn("agreement", "double"),
    DerivedColumn("annotators", "string"),
]


def folder_hash(algorithm: str, root: Path) -> tuple[str, int]:
    h, size = hasher(algorithm)(), 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        size += len(data)
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(_digest(algorithm, data))
    return h.hexdigest(), size


def _digest(algorithm: str, data: bytes) -> bytes:
    h = hasher(algorithm)()
    h.update(data)
    return h.digest()


class Exports:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.projects = Projects(platform)

    def export(self, name: str, fmt: str, actor: str) -> dict[str, Any]:
        writer = formats.get(fmt)
        with self.platform.db.session() as session:
            p = self.projects.get(session, name)
            Directory(self.platform).require_member(actor, p.project, session=session)
            tpl = templates.get(p.template)
            if "*" not in writer.templates and tpl.name not in writer.templates:
                raise TrustlabError(
                    f"{fmt} does not fit template {tpl.name}; choose from "
                    f"{', '.join(formats.fitting(tpl.name))}"
                )
            spec = session.scalars(select(LabelSpec).where(LabelSpec.project_id == p.id)
                                   .order_by(LabelSpec.version.desc()).limit(1)).one()  # fmt: skip
            tasks = session.scalars(select(LabelTask).where(
                LabelTask.project_id == p.id, LabelTask.state.in_(FINAL))
                .order_by(LabelTask.id)).all()  # fmt: skip
            if not tasks:
                raise TrustlabError(
                    f"{name} has no final labels yet; label, then `trustlab label sync {name}`"
                )
            who: dict[int, list[str]] = {}
            for a in session.scalars(select(LabelAssignment).where(
                    LabelAssignment.task_id.in_([t.id for t in tasks]))):  # fmt: skip
                who.setdefault(a.task_id, []).append(a.annotator)
            src = session.get(DatasetVersion, p.dataset_version_id)
            owner = session.get(Dataset, src.dataset_id).owner.name
            records = [{"key": t.key, "data": json.loads(t.data), "label": json.loads(t.final),
                        "state": t.state, "agreement": t.agreement,
                        "annotators": sorted(who.get(t.id, []))} for t in tasks]  # fmt: skip
            context = {"project": p.name, "template": tpl.name, "labels": json.loads(spec.labels),
                       "source_location": src.location, "media_root":
                       str(self.projects.server.document_root)}  # fmt: skip
            spec_version, spec_hash = spec.version, spec.hash
            source = {"dataset": p.source, "version": src.number,
                      "content_hash": src.content_hash}  # fmt: skip
        status = Progress(self.platform).status(name)
        product = f"{name}-labels"
        root = Path(self.platform.settings.lake) / "products" / product
        stage = root / f".stage-{uuid.uuid4().hex}"
        try:
            (stage / "table").mkdir(parents=True)
            _table(records, stage / "table" / "labels.parquet")
            writer.write(records, context, stage / "files")
            digest, size = folder_hash(self.platform.settings.hash_algorithm, stage)
            final = root / digest[:16]
            if not final.exists():
                stage.rename(final)
            lineage = {
                "made_by": "labeling", "format": fmt, "files": str(final / "files"),
                "labeling_project": name, "source": source,
                "spec": {"version": spec_version, "hash": spec_hash},
                "annotators": sorted(status["annotators"]),
                "agreement": status["agreement"],
                "gold_accuracy": {k: v["gold_accuracy"] for k, v in status["annotators"].items()},
                "states": status["states"], "tasks": len(records),
            }  # fmt: skip
            with self.platform.db.session() as session:
                same = session.scalars(select(DatasetVersion).join(Dataset).where(
                    Dataset.name == product).order_by(DatasetVersion.number.desc()).limit(1)
                ).first()  # fmt: skip
                if same is not None and same.content_hash == digest:
                    shutil.rmtree(stage, ignore_errors=True)
                    return {"dataset": product, "version": same.number, "format": fmt,
                            "rows": len(records), "content_hash": digest, "unchanged": True,
                            "files": str(final / "files"), "table": str(final / "table"),
                            "lineage": json.loads(same.lineage or "{}")}  # fmt: skip
                number = add_derived_version(session, product, "product", owner, DerivedVersion(
                    content_hash=digest, hash_algorithm=self.platform.settings.hash_algorithm,
                    location=str(final / "table"), rows=len(records), size_bytes=size,
                    columns=COLUMNS, lineage=lineage), actor, f"labeling:{name}")  # fmt: skip
                version_id = session.scalar(select(DatasetVersion.id).join(Dataset).where(
                    Dataset.name == product, DatasetVersion.number == number))  # fmt: skip
                pid = self.projects.get(session, name).id
                session.add(LabelExport(project_id=pid, format=fmt, dataset=product,
                                        dataset_version_id=version_id,
                                        spec_version=spec_version, created_by=actor))  # fmt: skip
                self.platform.ledger.append(session, actor, "label.export", f"dataset:{product}",
                                            {"version": number, "content_hash": digest,
                                             **lineage}, seal=True)  # fmt: skip
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        shutil.rmtree(stage, ignore_errors=True)
        return {"dataset": product, "version": number, "format": fmt, "rows": len(records),
                "content_hash": digest, "files": str(final / "files"),
                "table": str(final / "table"), "lineage": lineage}  # fmt: skip


def _table(records: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def js(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, sort_keys=True)

    table = pa.table({
        "key": [r["key"] for r in records],
        "data": [js(r["data"]) for r in records],
        "label": [js(r["label"]) for r in records],
        "state": [r["state"] for r in records],
        "agreement": pa.array([r["agreement"] for r in records], pa.float64()),
        "annotators": [js(r["annotators"]) for r in records],
    })  # fmt: skip
    pq.write_table(table, path)
