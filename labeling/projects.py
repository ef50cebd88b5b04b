"""Labeling projects: created from a safe dataset version under a contract allowing
``labeling``, split into one Label Studio project per annotator (and one for review).

Creation is all or nothing: the Label Studio projects are made first; if anything fails
they are deleted again and nothing is written to the catalog or the ledger.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import NAME, Directory
from hub.platform import Platform
from hub.terms import require
from labeling import templates
from labeling.assign import assign
from labeling.models import LabelAssignment, LabelProject, LabelShard, LabelSpec, LabelTask
from labeling.server import LabelStudioServer
from labeling.sources import Source, read_rows, resolve
from labeling.studio import Studio

MAX_GUIDELINES = 20_000


@dataclass
class ProjectRequest:
    name: str
    project: str  # the trustlab project whose contract allows labeling
    dataset: str
    template: str
    labels: list[str]
    annotators: list[str]
    fields: dict[str, str] = field(default_factory=dict)  # template field → column
    key: str | None = None  # column naming each task; default: the row's position
    overlap: int = 1
    gold: list[dict[str, Any]] = field(default_factory=list)  # [{"key", "result"}]
    gold_share: float = 0.0
    threshold: float = 0.8
    reviewer: str | None = None
    guidelines: str = ""
    seed: int = 0


def spec_hash(spec: dict[str, Any]) -> str:
    body = json.dumps(spec, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


class Projects:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.server = LabelStudioServer(platform.settings)

    def studio(self) -> Studio:
        return Studio(self.server)

    # --- checks --------------------------------------------------------------------------

    def _check(self, req: ProjectRequest, actor: str) -> templates.Template:
        if not NAME.fullmatch(req.name):
            raise TrustlabError(
                f"invalid project name {req.name!r}: lower-case letters, digits, _ or -"
            )
        tpl = templates.get(req.template)
        req.labels = templates.check_labels(req.labels)
        if not 0 <= req.threshold <= 1:
            raise TrustlabError("--threshold is an agreement between 0 and 1")
        if len(req.guidelines) > MAX_GUIDELINES:
            raise TrustlabError(f"guidelines may be at most {MAX_GUIDELINES:,} characters")
        d = Directory(self.platform)
        d.require_member(actor, req.project)
        for person in req.annotators:
            d.require(person, "annotator")
        if req.reviewer:
            d.require(req.reviewer, "annotator")
            if req.reviewer in req.annotators:
                raise TrustlabError(
                    f"{req.reviewer!r} annotates this project; a reviewer must be someone else"
                )
        if req.overlap > 1 and not req.reviewer:
            raise TrustlabError("an overlap above 1 needs a --reviewer for disagreements")
        return tpl

    def _fields(self, req: ProjectRequest, tpl: templates.Template, src: Source) -> dict:
        if src.kind == "media":
            if tpl.media != src.media:
                raise TrustlabError(
                    f"template {tpl.name} labels {tpl.media}, but {src.name} holds "
                    f"{src.media or 'no media'}; choose a {src.media} template"
                )
            req.key = req.key or "item"
            return {tpl.fields[0]: "view"}
        if tpl.media != "text":
            raise TrustlabError(
                f"template {tpl.name} labels {tpl.media}; {src.name} is a table: register "
                "the files as a media dataset (`trustlab dataset register-media`)"
            )
        fields = dict(req.fields)
        if not fields:
            if len(tpl.fields) == 1 and len(src.columns) == 1:
                fields = {tpl.fields[0]: src.columns[0]}
            else:
                raise TrustlabError(
                    f"name the column to label: --field {tpl.fields[0]}=COLUMN (columns of "
                    f"{src.name}: {', '.join(src.columns)})"
                )
        unknown = set(fields) - set(tpl.fields)
        if unknown or set(tpl.fields) - set(fields):
            raise TrustlabError(
                f"template {tpl.name} takes the field(s) {', '.join(tpl.fields)}; "
                f"give --field {tpl.fields[0]}=COLUMN"
            )
        missing = [c for c in fields.values() if c not in src.columns]
        if missing:
            raise TrustlabError(
                f"{src.name} has no column {', '.join(missing)} (has: {', '.join(src.columns)})"
            )
        return fields

    # --- create --------------------------------------------------------------------------

    def create(self, req: ProjectRequest, actor: str, progress: Any = None) -> dict[str, Any]:
        tpl = self._check(req, actor)
        with self.platform.db.session() as session:
            if session.scalar(select(LabelProject.id).where(LabelProject.name == req.name)):
                raise InvalidState(f"labeling project {req.name!r} exists already")
            src = resolve(session, req.dataset)
            fields = self._fields(req, tpl, src)
            used = [c for c in {*fields.values(), *([req.key] if req.key else [])}
                    if src.kind != "media"]  # fmt: skip
            terms = require(session, req.project, src.contract_dataset, "labeling", used)
        tasks = self._tasks(req, src, fields, tpl)
        gold = self._gold(req, tasks)
        queues = assign(list(tasks), req.annotators, req.overlap, list(gold),
                        req.gold_share, req.seed)  # fmt: skip
        config = templates.config(tpl, req.labels)
        spec = {"template": tpl.name, "labels": req.labels, "fields": fields,
                "config": config, "guidelines": req.guidelines}  # fmt: skip
        made: list[int] = []
        studio = self.studio()
        try:
            ls_ids = self._populate(studio, req, src, tasks, queues, config, made, progress)
            info = self._register(req, src, tpl, spec, tasks, gold, queues, ls_ids, made,
                                  terms.contracts, actor)  # fmt: skip
        except BaseException:
            for pid in made:
                studio.delete_project(pid)
            raise
        return info

    def _tasks(self, req: ProjectRequest, src: Source, fields: dict[str, str],
               tpl: templates.Template) -> dict[str, dict[str, Any]]:  # fmt: skip
        cols = list(dict.fromkeys([*fields.values(), *([req.key] if req.key else [])]))
        rows = read_rows(src, cols)
        if not rows:
            raise TrustlabError(f"{src.name} v{src.version} has no rows to label")
        tasks: dict[str, dict[str, Any]] = {}
        for i, row in enumerate(rows):
            key = str(row[req.key]) if req.key else f"row-{i}"
            if key in tasks:
                raise TrustlabError(f"--key {req.key} is not unique ({key!r} repeats)")
            data = {}
            for tfield, col in fields.items():
                value = row[col]
                if src.kind == "media":
                    rel = (Path(src.location).parent / value).relative_to(self.server.document_root)
                    value = f"/data/local-files/?d={rel.as_posix()}"
                elif tpl.media == "text" and not isinstance(value, str):
                    value = "" if value is None else str(value)
                data[tfield] = value
            tasks[key] = data
        return tasks

    def _gold(self, req: ProjectRequest, tasks: dict[str, Any]) -> dict[str, list]:
        gold: dict[str, list] = {}
        for n, item in enumerate(req.gold, 1):
            key, result = str(item.get("key", "")), item.get("result")
            if key not in tasks:
                raise TrustlabError(f"gold task {n}: no task with key {key!r}")
            if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
                raise TrustlabError(f"gold task {n}: 'result' must be a Label Studio result list")
            gold[key] = result
        return gold

    def _populate(self, studio: Studio, req: ProjectRequest, src: Source,
                  tasks: dict[str, dict[str, Any]], queues: dict[str, list[str]], config: str,
                  made: list[int], progress: Any) -> dict[str, list[int]]:  # fmt: skip
        """One Label Studio project per annotator with their queue, and the review project."""
        ids: dict[str, list[int]] = {}
        batch = self.platform.settings.labelstudio_batch
        about = f"trustlab labeling project {req.name} ({src.name} v{src.version})"
        for person, queue in queues.items():
            studio.account(person)
            pid = studio.create_project(f"{req.name} · {person}", config, about,
                                        req.guidelines)  # fmt: skip
            made.append(pid)
            if src.kind == "media":
                studio.allow_local_files(pid, Path(src.location).parent)
            payload = [{"data": tasks[k], "meta": {"trustlab_key": k}} for k in queue]
            report = None
            if progress:

                def report(n: int, p: str = person, total: int = len(queue)) -> None:
                    progress(p, n, total)

            ids[person] = studio.import_tasks(pid, payload, batch, report)
        if req.reviewer:
            studio.account(req.reviewer)
            pid = studio.create_project(f"{req.name} · review", config, f"Review of {about}",
                                        req.guidelines)  # fmt: skip
            made.append(pid)
            if src.kind == "media":
                studio.allow_local_files(pid, Path(src.location).parent)
            ids["\0review"] = [pid]
        return ids

    def _register(self, req: ProjectRequest, src: Source, tpl: templates.Template,
                  spec: dict[str, Any], tasks: dict[str, dict[str, Any]],
                  gold: dict[str, list], queues: dict[str, list[str]],
                  ls_ids: dict[str, list[int]], made: list[int], contracts: tuple[str, ...],
                  actor: str) -> dict[str, Any]:  # fmt: skip
        review = ls_ids.pop("\0review", [None])[0]
        with self.platform.db.session() as session:
            if session.scalar(select(LabelProject.id).where(LabelProject.name == req.name)):
                raise InvalidState(f"labeling project {req.name!r} exists already")
            p = LabelProject(
                name=req.name, project=req.project, dataset=src.contract_dataset,
                source=src.name, dataset_version_id=src.version_id, template=tpl.name,
                contracts=json.dumps(list(contracts)), overlap=req.overlap,
                gold_share=req.gold_share, threshold=req.threshold, review_ls_id=review,
                created_by=actor,
            )  # fmt: skip
            session.add(p)
            session.flush()
            h = spec_hash(spec)
            session.add(LabelSpec(
                project_id=p.id, version=1, labels=json.dumps(req.labels, ensure_ascii=False),
                fields=json.dumps(spec["fields"]), config=spec["config"],
                guidelines=req.guidelines, hash=h, created_by=actor))  # fmt: skip
            rows = {k: LabelTask(project_id=p.id, key=k, data=json.dumps(d, ensure_ascii=False),
                                 gold=json.dumps(gold[k], ensure_ascii=False) if k in gold
                                 else None)
                    for k, d in tasks.items() if any(k in q for q in queues.values())}  # fmt: skip
            session.add_all(rows.values())
            session.flush()
            pids = iter(made)
            for person, queue in queues.items():
                session.add(LabelShard(project_id=p.id, person=person, role="annotator",
                                       ls_project_id=next(pids)))  # fmt: skip
                session.add_all(
                    LabelAssignment(task_id=rows[k].id, annotator=person, ls_task_id=t)
                    for k, t in zip(queue, ls_ids[person], strict=True)
                )
            if review is not None and req.reviewer:
                session.add(LabelShard(project_id=p.id, person=req.reviewer, role="reviewer",
                                       ls_project_id=review))  # fmt: skip
            self.platform.ledger.append(session, actor, "label.project.create",
                                        f"label:{req.name}", {
                "project": req.project, "dataset": src.name, "version": src.version,
                "content_hash": src.content_hash, "template": tpl.name, "spec_hash": h,
                "contracts": list(contracts), "tasks": len(rows), "gold": len(gold),
                "annotators": {p_: len(q) for p_, q in queues.items()},
                "overlap": req.overlap, "reviewer": req.reviewer,
            })  # fmt: skip
            name = p.name
        return self.show(name)

    # --- read ----------------------------------------------------------------------------

    def get(self, session: Any, name: str) -> LabelProject:
        p = session.scalar(select(LabelProject).where(LabelProject.name == name))
        if p is None:
            raise NotFound(f"no labeling project {name!r}; `trustlab label project list`")
        return p

    def show(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            p = self.get(session, name)
            spec = session.scalars(select(LabelSpec).where(LabelSpec.project_id == p.id)
                                   .order_by(LabelSpec.version.desc()).limit(1)).one()  # fmt: skip
            shards = session.scalars(select(LabelShard).where(LabelShard.project_id == p.id)
                                     .order_by(LabelShard.id)).all()  # fmt: skip
            counts = dict(session.execute(
                select(LabelTask.state, func.count()).where(LabelTask.project_id == p.id)
                .group_by(LabelTask.state)).all())  # fmt: skip
            gold = session.scalar(select(func.count()).where(
                LabelTask.project_id == p.id, LabelTask.gold.is_not(None)))  # fmt: skip
            return {
                "name": p.name, "project": p.project, "dataset": p.dataset,
                "source": p.source, "template": p.template, "overlap": p.overlap,
                "gold_share": p.gold_share, "threshold": p.threshold, "state": p.state,
                "contracts": json.loads(p.contracts), "created_by": p.created_by,
                "created_at": p.created_at.isoformat(),
                "spec": {"version": spec.version, "hash": spec.hash,
                         "labels": json.loads(spec.labels), "fields": json.loads(spec.fields)},
                "tasks": sum(counts.values()), "gold": gold, "states": counts,
                "annotators": [s.person for s in shards if s.role == "annotator"],
                "reviewer": next((s.person for s in shards if s.role == "reviewer"), None),
                "label_studio": {s.person: f"{self.server.url}/projects/{s.ls_project_id}/"
                                 for s in shards},
            }  # fmt: skip

    def list(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            names = session.scalars(select(LabelProject.name).order_by(LabelProject.name)).all()
        return [self.show(n) for n in names]
