"""Pull answers from Label Studio, decide each task, route disagreements to review, and
report progress and quality.

``sync`` reads every annotator's project through an export snapshot; a task whose ``k``
answers are in gets its agreement; at or above the project's threshold the consensus is
its final label (``agreed``), below it the task goes to the review project with each
answer as an anonymous prediction (``review``); the reviewer's submitted annotation is
the final label (``reviewed``). Gold tasks are scored against their known answer and
never reviewed. Work (tasks, seconds) is metered per person.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from hub.platform import Platform
from labeling import quality, templates
from labeling.models import LabelAssignment, LabelShard, LabelTask, LabelWork
from labeling.projects import Projects
from labeling.studio import Studio


def _latest_answer(task: dict[str, Any]) -> dict[str, Any] | None:
    done = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    return max(done, key=lambda a: a.get("updated_at") or "", default=None)


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Progress:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.projects = Projects(platform)

    def sync(self, name: str, actor: str) -> dict[str, Any]:
        studio = self.projects.studio()
        with self.platform.db.session() as session:
            p = self.projects.get(session, name)
            shards = session.scalars(select(LabelShard).where(LabelShard.project_id == p.id)).all()
            pid, kind, threshold = p.id, templates.get(p.template).result, p.threshold
            review_ls = p.review_ls_id
        exported = {s.person: (s.role, studio.snapshot(s.ls_project_id)) for s in shards}
        counts = {"labeled": 0, "agreed": 0, "review": 0, "reviewed": 0, "gold": 0}
        with self.platform.db.session() as session:
            tasks = {t.id: t for t in session.scalars(
                select(LabelTask).where(LabelTask.project_id == pid))}  # fmt: skip
            mine = select(LabelAssignment).join(LabelTask).where(LabelTask.project_id == pid)
            by_ls = {a.ls_task_id: a for a in session.scalars(mine)}
            work: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
            for person, (role, items) in exported.items():
                if role == "annotator":
                    self._take_answers(items, by_ls, person, work, counts)
            by_task: dict[int, list[LabelAssignment]] = defaultdict(list)
            for a in sorted(by_ls.values(), key=lambda a: a.id):
                by_task[a.task_id].append(a)
            for t in tasks.values():
                if t.state == "open":
                    self._decide(t, kind, threshold, by_task[t.id], counts)
            queued = [t for t in tasks.values() if t.state == "review" and t.review_ls_task is None]
            if queued and review_ls is not None:
                self._queue_review(studio, review_ls, queued, by_task,
                                   self.platform.settings.labelstudio_batch)  # fmt: skip
            for person, (role, items) in exported.items():
                if role == "reviewer":
                    self._take_reviews(items, tasks, person, work, counts)
            metered = [LabelWork(project_id=pid, person=person, kind=what, tasks=int(n),
                                 seconds=round(secs, 3))
                       for (person, what), (n, secs) in work.items()]  # fmt: skip
            session.add_all(metered)
            session.flush()
            if any(counts.values()):
                from labeling.metering import evidence

                per = {f"{p_}:{w}": v[0] for (p_, w), v in work.items()}
                self.platform.ledger.append(session, actor, "label.sync", f"label:{name}",
                                            {**counts, "work": per,
                                             **evidence(self.platform, metered)})  # fmt: skip
        return {"project": name, **counts}

    @staticmethod
    def _take_answers(items: list[dict[str, Any]], by_ls: dict[int, LabelAssignment],
                      person: str, work: dict, counts: dict) -> None:  # fmt: skip
        for item in items:
            a = by_ls.get(int(item["id"]))
            answer = _latest_answer(item)
            if a is None or a.annotator != person or answer is None:
                continue
            result = json.dumps(answer.get("result") or [], ensure_ascii=False, sort_keys=True)
            if a.result == result:
                continue
            first = a.result is None
            a.result, a.lead_time = result, float(answer.get("lead_time") or 0)
            a.annotated_at = _when(answer.get("updated_at"))
            if first:
                work[(person, "labeled")][0] += 1
                work[(person, "labeled")][1] += a.lead_time
                counts["labeled"] += 1

    @staticmethod
    def _decide(t: LabelTask, kind: str, threshold: float, mine: list[LabelAssignment],
                counts: dict) -> None:  # fmt: skip
        if not mine or any(a.result is None for a in mine):
            return
        answers = [json.loads(a.result) for a in mine]  # type: ignore[arg-type]
        t.agreement = quality.task_agreement(kind, answers)
        if t.gold is not None:
            t.state, t.final = "gold", t.gold
            counts["gold"] += 1
        elif t.agreement is None or t.agreement >= threshold:
            t.state = "agreed"
            t.final = json.dumps(quality.consensus(kind, answers), ensure_ascii=False)
            counts["agreed"] += 1
        else:
            t.state = "review"
            counts["review"] += 1

    @staticmethod
    def _queue_review(studio: Studio, review_ls: int, queued: list[LabelTask],
                      by_task: dict[int, list[LabelAssignment]], batch: int) -> None:  # fmt: skip
        # Each answer goes in with its task, anonymous ("answer 1", "answer 2", ...): one
        # import, all or nothing, so a failure leaves nothing to push twice.
        def answers(t: LabelTask) -> list[dict[str, Any]]:
            return [{"result": json.loads(a.result or "[]"), "model_version": f"answer {n + 1}"}
                    for n, a in enumerate(by_task[t.id])]  # fmt: skip

        payload = [{"data": json.loads(t.data), "predictions": answers(t),
                    "meta": {"trustlab_key": t.key, "agreement": t.agreement}}
                   for t in queued]  # fmt: skip
        ids = studio.import_tasks(review_ls, payload, batch)
        for t, ls_id in zip(queued, ids, strict=True):
            t.review_ls_task = ls_id

    @staticmethod
    def _take_reviews(items: list[dict[str, Any]], tasks: dict[int, LabelTask], person: str,
                      work: dict, counts: dict) -> None:  # fmt: skip
        by_review = {t.review_ls_task: t for t in tasks.values() if t.review_ls_task}
        for item in items:
            t = by_review.get(int(item["id"]))
            answer = _latest_answer(item)
            if t is None or answer is None:
                continue
            final = json.dumps(answer.get("result") or [], ensure_ascii=False)
            if t.state == "reviewed" and t.final == final:
                continue
            if t.state != "reviewed":
                work[(person, "reviewed")][0] += 1
                work[(person, "reviewed")][1] += float(answer.get("lead_time") or 0)
                counts["reviewed"] += 1
            t.state, t.final = "reviewed", final

    # --- status --------------------------------------------------------------------------

    def status(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            p = self.projects.get(session, name)
            kind = templates.get(p.template).result
            tasks = {t.id: t for t in session.scalars(
                select(LabelTask).where(LabelTask.project_id == p.id))}  # fmt: skip
            assigned = session.scalars(
                select(LabelAssignment).join(LabelTask).where(LabelTask.project_id == p.id)
            ).all()
            work = session.scalars(select(LabelWork).where(LabelWork.project_id == p.id)).all()
        info = self.projects.show(name)
        answers: dict[int, dict[str, list]] = defaultdict(dict)
        people: dict[str, dict[str, Any]] = {}
        for a in assigned:
            me = people.setdefault(a.annotator, {"assigned": 0, "done": 0, "gold": [],
                                                 "peer": []})  # fmt: skip
            me["assigned"] += 1
            if a.result is not None:
                me["done"] += 1
                answers[a.task_id][a.annotator] = json.loads(a.result)
        for tid, got in answers.items():
            t = tasks[tid]
            for person, result in got.items():
                if t.gold is not None:
                    people[person]["gold"].append(quality.pair(kind, result, json.loads(t.gold)))
                others = [r for q, r in got.items() if q != person]
                people[person]["peer"].extend(quality.pair(kind, result, r) for r in others)
        seconds: dict[str, float] = defaultdict(float)
        for w in work:
            seconds[w.person] += w.seconds
        regular = {tid: got for tid, got in answers.items() if tasks[tid].gold is None}
        states: dict[str, int] = defaultdict(int)
        for t in tasks.values():
            states[t.state] += 1
        final = sum(states[s] for s in ("agreed", "reviewed", "gold"))
        predicted = [quality.pair(kind, json.loads(t.prediction), json.loads(t.final))
                     for t in tasks.values() if t.prediction and t.final]  # fmt: skip
        return {
            **{k: info[k] for k in ("name", "project", "source", "template", "overlap",
                                    "threshold", "tasks", "gold", "reviewer")},
            "states": dict(states),
            "final": final,
            "progress": round(final / len(tasks), 4) if tasks else 0.0,
            "agreement": quality.overall(kind, regular),
            "predictions": {"tasks": sum(1 for t in tasks.values() if t.prediction),
                            "compared": len(predicted),
                            "agreement_with_final": quality._mean(predicted)},
            "annotators": {
                person: {
                    "assigned": me["assigned"], "done": me["done"],
                    "gold_tasks": len(me["gold"]),
                    "gold_accuracy": quality._mean(me["gold"]),
                    "agreement_with_peers": quality._mean(me["peer"]),
                    "seconds": round(seconds.get(person, 0.0), 1),
                } for person, me in sorted(people.items())
            },
            "review": {"queued": states["review"], "done": states["reviewed"],
                       "seconds": round(seconds.get(info["reviewer"] or "", 0.0), 1)},
        }  # fmt: skip
