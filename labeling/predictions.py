"""Pre-annotation: predictions for a project's tasks (from a pipeline product or any
model's output) become Label Studio predictions — suggestions annotators accept or fix —
and are measured against the final labels (``status``: ``prediction_agreement``).

``connect`` instead hands suggestions out on demand, through trustlab's Label Studio ML
backend (``labeling.backend``).

An import is all or nothing: if one annotator project refuses, the predictions already put
in the others are taken back.

Input rows are ``{"key": …, "result": [Label Studio result]}``; a product supplies them as
columns ``key`` and ``result`` (JSON text). Imported with one request per annotator
project (``import_predictions``), never one per task.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sqlalchemy import select

from hub.errors import TrustlabError
from hub.identity import Directory
from hub.platform import Platform
from labeling.models import LabelAssignment, LabelShard, LabelTask
from labeling.projects import Projects
from labeling.studio import translated

MAX_MODEL = 100


def from_product(platform: Platform, product: str) -> list[dict[str, Any]]:
    """The rows of a product's newest version as prediction items."""
    from labeling.sources import read_rows, resolve

    with platform.db.session() as session:
        src = resolve(session, product)
    if src.kind != "product" or not {"key", "result"} <= set(src.columns):
        raise TrustlabError(f"{product!r} must be a product with columns key and result (JSON)")
    items = []
    for row in read_rows(src, ["key", "result"]):
        try:
            items.append({"key": str(row["key"]), "result": json.loads(row["result"])})
        except (TypeError, ValueError):
            raise TrustlabError(f"{product}: result of key {row['key']!r} is not JSON") from None
    return items


def add(platform: Platform, name: str, items: list[dict[str, Any]], model: str,
        actor: str) -> dict[str, Any]:  # fmt: skip
    if not model or len(model) > MAX_MODEL:
        raise TrustlabError(f"name the model version (1 to {MAX_MODEL} characters)")
    projects = Projects(platform)
    with platform.db.session() as session:
        p = projects.get(session, name)
        Directory(platform).require_member(actor, p.project, session=session)
        tasks = {t.key: t for t in session.scalars(
            select(LabelTask).where(LabelTask.project_id == p.id))}  # fmt: skip
        given: dict[str, list] = {}
        for n, item in enumerate(items, 1):
            key, result = str(item.get("key", "")), item.get("result")
            if key not in tasks:
                raise TrustlabError(f"prediction {n}: no task with key {key!r} in {name}")
            if not isinstance(result, list) or not all(isinstance(r, dict) for r in result):
                raise TrustlabError(f"prediction {n}: 'result' must be a Label Studio result list")
            given[key] = result
        by_task = {tasks[k].id: k for k in given}
        shards = {s.person: s.ls_project_id for s in session.scalars(
            select(LabelShard).where(LabelShard.project_id == p.id,
                                     LabelShard.role == "annotator"))}  # fmt: skip
        per_shard: dict[int, list[dict[str, Any]]] = {}
        for a in session.scalars(select(LabelAssignment).where(
                LabelAssignment.task_id.in_(list(by_task)))):  # fmt: skip
            key = by_task[a.task_id]
            if tasks[key].gold is not None:
                continue  # gold tasks stay blind: no suggestion gives their answer away
            per_shard.setdefault(shards[a.annotator], []).append(
                {"task": a.ls_task_id, "result": given[key], "model_version": model}
            )
        studio = projects.studio()
        done_in: list[int] = []
        try:
            for ls_project, rows in per_shard.items():
                with translated("import predictions", studio.url):
                    studio.ls.projects.import_predictions(id=ls_project, request=rows)
                done_in.append(ls_project)
        except BaseException:
            _unimport(studio, done_in, model, {r["task"] for v in per_shard.values() for r in v})
            raise
        for key, result in given.items():
            tasks[key].prediction = json.dumps(result, ensure_ascii=False)
        done = {
            "model": model,
            "tasks": len(given),
            "suggestions": sum(len(r) for r in per_shard.values()),
        }
        platform.ledger.append(session, actor, "label.predict", f"label:{name}", done)
    return {"project": name, **done}


def _unimport(studio: Any, ls_projects: list[int], model: str, tasks: set[int]) -> None:
    """Take back the predictions of ``model`` an import put in ``ls_projects``."""
    with contextlib.suppress(Exception):  # the first error is the one reported
        for ls_project in ls_projects:
            for pred in studio.ls.predictions.list(project=ls_project):
                if pred.model_version == model and pred.task in tasks:
                    studio.ls.predictions.delete(id=pred.id)


def connect(platform: Platform, name: str, actor: str) -> dict[str, Any]:
    """Connect trustlab's ML backend (``labeling.backend``) to every annotator project of
    ``name``: suggestions then come on demand as annotators open tasks. Idempotent; all or
    nothing (backends made are removed again if one fails)."""
    from labeling.backend import USER, secret

    settings = platform.settings
    url = f"http://{settings.labeling_ml_host}:{settings.labeling_ml_port}"
    projects = Projects(platform)
    with platform.db.session() as session:
        p = projects.get(session, name)
        Directory(platform).require_member(actor, p.project, session=session)
        ls_ids = session.scalars(select(LabelShard.ls_project_id).where(
            LabelShard.project_id == p.id, LabelShard.role == "annotator")).all()  # fmt: skip
    studio = projects.studio()
    made: list[int] = []
    try:
        for ls_id in ls_ids:
            with translated("connect trustlab's suggestions", studio.url):
                if any(m.url.rstrip("/") == url for m in studio.ls.ml.list(project=ls_id)):
                    continue
                made.append(int(studio.ls.ml.create(
                    project=ls_id, url=url, title="trustlab", is_interactive=True,
                    auth_method="BASIC_AUTH", basic_auth_user=USER,
                    basic_auth_pass=secret(settings), timeout=30).id))  # fmt: skip
                # Show every prediction, stored ones too (not only the backend's version),
                # and drop the event webhook Label Studio adds for a new backend.
                studio.ls.projects.update(id=ls_id, model_version="", show_collab_predictions=True)
                for hook in studio.ls.webhooks.list(project=str(ls_id)):
                    if hook.url.startswith(url):
                        studio.ls.webhooks.delete(id=hook.id)
    except BaseException:
        for ml_id in made:
            with contextlib.suppress(Exception):
                studio.ls.ml.delete(id=ml_id)
        raise
    if made:  # connecting again changes nothing, and records nothing
        done = {"backend": url, "projects": len(ls_ids), "new": len(made)}
        with platform.db.session() as session:
            platform.ledger.append(session, actor, "label.suggest", f"label:{name}", done)
    return {"project": name, "backend": url, "projects": len(ls_ids), "connected": len(made)}
