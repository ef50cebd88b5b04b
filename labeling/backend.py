"""trustlab's Label Studio ML backend: suggestions on demand, for interactive use.

Label Studio asks an ML backend for predictions when an annotator opens a task that has
none (and, with auto-annotation on, while they label). This service speaks that protocol
(``GET /health``, ``POST /setup``, ``POST /predict``) for the annotator projects of
labeling projects that connect it (``trustlab label suggest NAME``). For each task it
answers with, in order:

1. the task's stored prediction, from a pipeline product or a model's output
   (``trustlab label predict``);
2. for named entities, a gazetteer learned from the project's final labels so far: every
   entity text already agreed or reviewed, with its most frequent label, is suggested
   wherever it occurs (longest first, never overlapping);
3. nothing.

Every answer carries model version ``trustlab`` (the backend's title, which Label Studio
uses to choose which predictions to show).

Gold tasks never get a suggestion. A suggestion served is kept as the task's prediction,
so ``trustlab label status`` measures it against the final label like any other.

Label Studio reaches the service with HTTP basic auth (user ``trustlab``, the secret in
HOME/keys/labeling-ml-secret). It listens on its own loopback address
(``LABELING_ML_HOST``), the one address the embedded Label Studio's SSRF guard lets its ML
connections reach (``labeling.server``).
"""

from __future__ import annotations

import json
import secrets
from collections import Counter, defaultdict
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from sqlalchemy import select

from hub.platform import Platform
from labeling import quality, templates
from labeling.models import LabelAssignment, LabelProject, LabelShard, LabelTask

USER = "trustlab"
VERSION = "trustlab"
MAX_TASKS = 1000
BASIC = HTTPBasic(auto_error=False)  # module level: the route annotations name it


def secret(settings: Any) -> str:
    from labeling.server import _secret_file

    return _secret_file(settings.home / "keys" / "labeling-ml-secret",
                        lambda: secrets.token_urlsafe(24))  # fmt: skip


def gazetteer(finals: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, str]:
    """Entity text → its most frequent label, from (text, final result) pairs."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for text, result in finals:
        for start, end, label in quality.spans(result):
            entity = text[start:end]
            if entity.strip():
                seen[entity][label] += 1
    return {e: c.most_common(1)[0][0] for e, c in seen.items()}


def suggest_spans(text: str, known: dict[str, str]) -> list[dict[str, Any]]:
    """Label Studio span results for every known entity in ``text``, longest first."""
    taken = [False] * len(text)
    found = []
    for entity in sorted(known, key=len, reverse=True):
        at = text.find(entity)
        while at >= 0:
            end = at + len(entity)
            if not any(taken[at:end]):
                taken[at:end] = [True] * len(entity)
                found.append((at, end, known[entity]))
            at = text.find(entity, at + 1)
    return [
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]}}
        for s, e, lab in sorted(found)
    ]  # fmt: skip


class Suggestions:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @staticmethod
    def _project(session: Any, ls_project: int) -> LabelProject | None:
        return session.scalar(select(LabelProject).join(
            LabelShard, LabelShard.project_id == LabelProject.id).where(
            LabelShard.ls_project_id == ls_project, LabelShard.role == "annotator"))  # fmt: skip

    def predict(self, ls_project: int, ls_tasks: list[int]) -> list[dict[str, Any]]:
        """One answer per task, in order: ``{"result": [...], "model_version": ...}``."""
        empty: dict[str, Any] = {"result": [], "model_version": VERSION}
        with self.platform.db.session() as session:
            p = self._project(session, ls_project)
            if p is None or p.state != "active":
                return [dict(empty) for _ in ls_tasks]
            person = session.scalar(select(LabelShard.person).where(
                LabelShard.ls_project_id == ls_project, LabelShard.project_id == p.id))  # fmt: skip
            rows = session.execute(
                select(LabelAssignment.ls_task_id, LabelTask).join(LabelTask).where(
                    LabelTask.project_id == p.id, LabelAssignment.annotator == person,
                    LabelAssignment.ls_task_id.in_(ls_tasks))).all()  # fmt: skip
            by_ls = {ls_id: t for ls_id, t in rows}
            learned: dict[str, str] | None = None
            out = []
            for ls_id in ls_tasks:
                t = by_ls.get(ls_id)
                if t is None or t.gold is not None:
                    out.append(dict(empty))
                elif t.prediction is not None:
                    out.append({"result": json.loads(t.prediction), "model_version": VERSION})
                elif templates.get(p.template).result == templates.SPANS:
                    if learned is None:
                        learned = self._learn(session, p.id)
                    text = str(json.loads(t.data).get("text", ""))
                    result = suggest_spans(text, learned)
                    if result:
                        t.prediction = json.dumps(result, ensure_ascii=False)
                    out.append({"result": result, "model_version": VERSION})
                else:
                    out.append(dict(empty))
            return out

    @staticmethod
    def _learn(session: Any, project_id: int) -> dict[str, str]:
        rows = session.execute(select(LabelTask.data, LabelTask.final).where(
            LabelTask.project_id == project_id, LabelTask.gold.is_(None),
            LabelTask.state.in_(("agreed", "reviewed")))).all()  # fmt: skip
        finals = [(str(json.loads(d).get("text", "")), json.loads(f)) for d, f in rows if f]
        return gazetteer(finals)


def create_app(platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform()
    key = secret(platform.settings)
    suggestions = Suggestions(platform)

    def caller(creds: Annotated[HTTPBasicCredentials | None, Depends(BASIC)]) -> None:
        ok = creds is not None and secrets.compare_digest(
            f"{creds.username}:{creds.password}".encode(), f"{USER}:{key}".encode())  # fmt: skip
        if not ok:
            raise HTTPException(401, "Label Studio: connect with `trustlab label suggest`",
                                headers={"WWW-Authenticate": "Basic"})  # fmt: skip

    app = FastAPI(title="trustlab suggestions (Label Studio ML backend)", docs_url=None,
                  redoc_url=None, openapi_url=None, dependencies=[Depends(caller)])  # fmt: skip

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "UP", "model_class": "trustlab"}

    @app.post("/setup")
    def setup(body: dict[str, Any]) -> dict[str, str]:
        _ls_project(body)
        return {"model_version": VERSION}

    @app.post("/predict")
    def predict(body: dict[str, Any]) -> dict[str, Any]:
        tasks = body.get("tasks")
        if not isinstance(tasks, list) or not tasks or len(tasks) > MAX_TASKS:
            raise HTTPException(422, f"give 1 to {MAX_TASKS} tasks")
        try:
            ids = [int(t["id"]) for t in tasks]
        except (TypeError, KeyError, ValueError):
            raise HTTPException(422, "every task needs its Label Studio id") from None
        return {"results": suggestions.predict(_ls_project(body), ids)}

    return app


def _ls_project(body: dict[str, Any]) -> int:
    try:
        return int(str(body.get("project", "")).split(".")[0])
    except ValueError:
        raise HTTPException(422, "project must be Label Studio's '<id>.<created>'") from None


def service(settings: Any) -> dict[str, Any]:
    """The suggestions service, started and stopped with the hub (``make up``)."""
    import sys

    return {"name": "trustlab-suggestions", "command": [sys.executable, "-m", "labeling.backend"],
            "display": False}  # fmt: skip


def main() -> None:
    import uvicorn

    from hub.orphan import exit_with_parent

    exit_with_parent()
    settings = Platform().settings
    uvicorn.run(create_app(), host=settings.labeling_ml_host, port=settings.labeling_ml_port,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
