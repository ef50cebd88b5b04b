"""Labeling specification versions of a live project.

A specification is the label config (generated from the template and its labels), the
field mapping and the written guidelines. Changing the labels or the guidelines makes the
next version: every Label Studio project of the labeling project (each annotator's and
the review project) gets the new config and guidelines, or none does. A label may be
dropped only while nothing uses it: not trustlab's gold, final or predicted answers, and
not an annotation or draft in Label Studio (its strict config check, run on every project
before any is changed). If applying fails midway, the projects already changed are put
back and nothing is recorded. The template and the fields stay: another kind of labeling
is another project.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from sqlalchemy import func, select

from hub.errors import InvalidState, TrustlabError
from hub.identity import Directory
from hub.platform import Platform
from labeling import templates
from labeling.models import LabelShard, LabelSpec, LabelTask
from labeling.projects import MAX_GUIDELINES, Projects, spec_hash
from labeling.studio import translated


def _as_spec(row: LabelSpec, template: str) -> dict[str, Any]:
    return {"template": template, "labels": json.loads(row.labels),
            "fields": json.loads(row.fields), "config": row.config,
            "guidelines": row.guidelines}  # fmt: skip


def history(platform: Platform, name: str) -> list[dict[str, Any]]:
    with platform.db.session() as session:
        p = Projects(platform).get(session, name)
        rows = session.scalars(select(LabelSpec).where(LabelSpec.project_id == p.id)
                               .order_by(LabelSpec.version)).all()  # fmt: skip
        return [{"version": r.version, "hash": r.hash, "labels": json.loads(r.labels),
                 "guidelines": r.guidelines, "created_by": r.created_by,
                 "created_at": r.created_at.isoformat()} for r in rows]  # fmt: skip


def revise(platform: Platform, name: str, actor: str, labels: list[str] | None = None,
           guidelines: str | None = None) -> dict[str, Any]:  # fmt: skip
    """Make the next specification version of ``name`` and apply it in Label Studio."""
    if labels is None and guidelines is None:
        raise TrustlabError("give new --labels, new --guidelines, or both")
    if guidelines is not None and len(guidelines) > MAX_GUIDELINES:
        raise TrustlabError(f"guidelines may be at most {MAX_GUIDELINES:,} characters")
    projects = Projects(platform)
    with platform.db.session() as session:
        p = projects.get(session, name)
        Directory(platform).require_member(actor, p.project, session=session)
        if p.state != "active":
            raise InvalidState(f"labeling project {name} is {p.state}")
        current = session.scalars(select(LabelSpec).where(LabelSpec.project_id == p.id)
                                  .order_by(LabelSpec.version.desc()).limit(1)).one()  # fmt: skip
        tpl = templates.get(p.template)
        old = _as_spec(current, tpl.name)
        ls_ids = session.scalars(select(LabelShard.ls_project_id)
                                 .where(LabelShard.project_id == p.id)
                                 .order_by(LabelShard.id)).all()  # fmt: skip
        pid, version, old_hash = p.id, current.version, current.hash
        answers = session.execute(select(LabelTask.gold, LabelTask.final, LabelTask.prediction)
                                  .where(LabelTask.project_id == p.id)).all()  # fmt: skip
    new = dict(old)
    if labels is not None:
        new["labels"] = templates.check_labels(labels)
        new["config"] = templates.config(tpl, new["labels"])
    if guidelines is not None:
        new["guidelines"] = guidelines
    h = spec_hash(new)
    if h == old_hash:
        return {"project": name, "version": version, "hash": h, "changed": False}
    dropped = set(old["labels"]) - set(new["labels"])
    used = dropped & {x for row in answers for text in row if text for x in _labels(text)}
    if used:
        raise InvalidState(
            f"{name}'s answers use {', '.join(sorted(used))}: keep those labels in the list"
        )
    studio = projects.studio()
    if dropped:
        for ls_id in ls_ids:
            with translated(f"accept the new labels in project {ls_id}", studio.url):
                studio.ls.projects.validate_label_config(id=ls_id, label_config=new["config"])
    changed: list[int] = []
    try:
        for ls_id in ls_ids:
            _apply(studio, ls_id, new)
            changed.append(ls_id)
        with platform.db.session() as session:
            taken = session.scalar(select(func.max(LabelSpec.version))
                                   .where(LabelSpec.project_id == pid))  # fmt: skip
            if taken != version:
                raise InvalidState(
                    f"{name}'s specification changed meanwhile (now v{taken}); look again "
                    "with `trustlab label spec history`"
                )
            session.add(LabelSpec(
                project_id=pid, version=version + 1, hash=h, created_by=actor,
                labels=json.dumps(new["labels"], ensure_ascii=False),
                fields=json.dumps(new["fields"]), config=new["config"],
                guidelines=new["guidelines"]))  # fmt: skip
            platform.ledger.append(session, actor, "label.spec", f"label:{name}", {
                "version": version + 1, "spec_hash": h, "previous": old_hash,
                "labels": new["labels"],
                "added": [x for x in new["labels"] if x not in old["labels"]],
                "removed": [x for x in old["labels"] if x not in new["labels"]],
            })  # fmt: skip
    except BaseException:
        for ls_id in changed:
            with contextlib.suppress(TrustlabError):  # the first error is the one reported
                _apply(studio, ls_id, old)
        raise
    return {"project": name, "version": version + 1, "hash": h, "changed": True,
            "labels": new["labels"]}  # fmt: skip


def _labels(text: str) -> set[str]:
    """Every label or choice a Label Studio result (JSON) names."""
    found: set[str] = set()
    for r in json.loads(text):
        for k, v in (r.get("value") or {}).items():
            if (k.endswith("labels") or k == "choices") and isinstance(v, list):
                found.update(str(x) for x in v)
    return found


def _apply(studio: Any, ls_id: int, spec: dict[str, Any]) -> None:
    with translated("change the label config", studio.url):
        studio.ls.projects.update(id=ls_id, label_config=spec["config"],
                                  expert_instruction=spec["guidelines"],
                                  show_instruction=bool(spec["guidelines"]))  # fmt: skip
