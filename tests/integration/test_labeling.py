"""Labeling on a real Label Studio server: Chinese NER over a real masked sample, two
annotators with overlap and gold tasks, agreement, review of a disagreement, CoNLL export
into the catalog with provenance; refusals that leave Label Studio as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.catalog import Catalog
from hub.errors import InvalidState, TrustlabError
from hub.identity import Directory, PermissionDenied, Role
from hub.models import LedgerEntry
from hub.platform import Platform
from hub.settings import Settings
from hub.terms import ContractRefused
from labeling.exports import Exports
from labeling.models import LabelProject
from labeling.progress import Progress
from labeling.projects import ProjectRequest, Projects
from labeling.server import LabelStudioError, LabelStudioServer
from sandbox.builder import BuildRequest, SampleBuilder
from sandbox.cli import ensure_demo
from tests.labeling_world import (
    as_person,
    contract,
    label_studio,
    ls_project_ids,
    people,
    use_server,
)

__all__ = ["label_studio"]

SAMPLE_ROWS = 40


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, spark, label_studio: LabelStudioServer
) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("labeling-home")
    settings = use_server(Settings(home=home, spark_master="local[2]"), label_studio)
    p = Platform(settings)
    p.init()
    ensure_demo(p, rows=1500, seed=4, echo=lambda _: None)
    catalog = Catalog(p, "tester")
    for column in ("district", "gender", "birth_date"):  # 40 rows: no k-anonymity to keep
        catalog.classify("people", column, quasi_identifier=False)
    catalog.confirm("people")
    SampleBuilder(p, actor="tester").build(BuildRequest("people", rows=SAMPLE_ROWS, seed=2))
    people(p)
    Directory(p).create_project("nlp", "labeling tests", ["dev"], "admin")
    yield p
    p.close()


def ner(name: str, **changes) -> ProjectRequest:  # type: ignore[no-untyped-def]
    base = {"name": name, "project": "nlp", "dataset": "people", "template": "ner",
            "labels": ["PER", "LOC", "ORG"], "annotators": ["ann-a", "ann-b"],
            "fields": {"text": "remark"}, "overlap": 2, "reviewer": "rev",
            "threshold": 0.8, "guidelines": "标注人名、地名、机构名。"}  # fmt: skip
    return ProjectRequest(**{**base, **changes})


def span(start: int, end: int, label: str, text: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": end, "text": text[start:end],
                       "labels": [label]}}]  # fmt: skip


def ledger_size(p: Platform) -> int:
    with p.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(LedgerEntry)))


def test_no_contract_for_labeling_refuses_and_leaves_label_studio_alone(
    world: Platform, label_studio: LabelStudioServer
) -> None:
    before, entries = ls_project_ids(label_studio), ledger_size(world)
    with pytest.raises(ContractRefused, match="labeling use"):
        Projects(world).create(ner("no-contract"), "dev")
    assert ls_project_ids(label_studio) == before
    assert ledger_size(world) == entries
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(LabelProject)) == 0


def test_chinese_ner_with_overlap_gold_agreement_review_and_conll_export(
    world: Platform, label_studio: LabelStudioServer
) -> None:
    labeling_contract(world)
    rows = Projects(world)
    sample_texts = _sample_texts(world)
    gold_keys = ["row-3", "row-7"]
    gold = [{"key": k, "result": span(0, 2, "PER", sample_texts[k])} for k in gold_keys]
    info = rows.create(ner("ner-zh", gold=gold, gold_share=0.1), "dev")
    assert info["source"] == "people.sample" and info["tasks"] == SAMPLE_ROWS
    assert info["gold"] == 2 and set(info["label_studio"]) == {"ann-a", "ann-b", "rev"}

    # Each annotator's Label Studio project holds exactly their queue; every regular task
    # reaches both (overlap 2); the gold tasks are among them, unmarked.
    queues = {}
    for person in ("ann-a", "ann-b"):
        studio = as_person(world, person)
        pid = int(info["label_studio"][person].rstrip("/").rsplit("/", 1)[1])
        tasks = list(studio.ls.tasks.list(project=pid, fields="all"))
        queues[person] = {t.meta["trustlab_key"]: t for t in tasks}
        assert all("gold" not in json.dumps(t.meta) for t in tasks)
    assert set(queues["ann-a"]) == set(queues["ann-b"]) == set(sample_texts)

    # A model pre-annotates every task: suggestions in each annotator's project, except
    # on gold tasks (a suggestion there would give the known answer away).
    from labeling import predictions

    model = [{"key": k, "result": span(0, 2, "PER", t)} for k, t in sample_texts.items()]
    done = predictions.add(world, "ner-zh", model, "rule-v1", "dev")
    assert done["tasks"] == SAMPLE_ROWS and done["suggestions"] == 2 * (SAMPLE_ROWS - 2)
    studio_b = as_person(world, "ann-b")
    for key in (gold_keys[0], next(k for k in sample_texts if k not in gold_keys)):
        got = list(studio_b.ls.predictions.list(task=queues["ann-b"][key].id))
        assert len(got) == (0 if key in gold_keys else 1)
        assert all(p.model_version == "rule-v1" for p in got)

    # Both annotate: they agree everywhere except one task; ann-b misses one gold task.
    disagreement = next(k for k in sample_texts if k not in gold_keys)
    for person, queue in queues.items():
        studio = as_person(world, person)
        for key, task in queue.items():
            text = task.data["text"]
            if person == "ann-b" and key in (disagreement, gold_keys[0]):
                result = span(1, 3, "LOC", text)
            else:
                result = span(0, 2, "PER", text)
            studio.annotate(task.id, result, lead_time=2.0)

    progress = Progress(world)
    first = progress.sync("ner-zh", "dev")
    assert first["labeled"] == 2 * SAMPLE_ROWS
    assert first["review"] == 1 and first["gold"] == 2
    assert first["agreed"] == SAMPLE_ROWS - 3
    assert progress.sync("ner-zh", "dev") == {"project": "ner-zh", "labeled": 0, "agreed": 0,
                                              "review": 0, "reviewed": 0, "gold": 0}  # fmt: skip

    status = progress.status("ner-zh")
    assert status["annotators"]["ann-a"]["gold_accuracy"] == 1.0
    assert status["annotators"]["ann-b"]["gold_accuracy"] == 0.5
    assert status["review"] == {"queued": 1, "done": 0, "seconds": 0.0}
    assert 0.9 < status["agreement"]["mean_agreement"] < 1.0
    assert status["annotators"]["ann-a"]["seconds"] == pytest.approx(2.0 * SAMPLE_ROWS)

    # The reviewer sees the disagreement with both answers as suggestions and corrects it.
    reviewer = as_person(world, "rev")
    review_pid = int(info["label_studio"]["rev"].rstrip("/").rsplit("/", 1)[1])
    (task,) = list(reviewer.ls.tasks.list(project=review_pid, fields="all"))
    assert task.meta["trustlab_key"] == disagreement
    suggested = [p.result for p in reviewer.ls.predictions.list(task=task.id)]
    assert len(suggested) == 2
    text = task.data["text"]
    reviewer.annotate(task.id, span(0, 3, "ORG", text), lead_time=5.0)
    assert progress.sync("ner-zh", "dev")["reviewed"] == 1
    final_status = progress.status("ner-zh")
    assert final_status["final"] == SAMPLE_ROWS
    # The model matched every final label but the reviewed one.
    assert final_status["predictions"]["agreement_with_final"] == pytest.approx(
        (SAMPLE_ROWS - 1) / SAMPLE_ROWS, abs=1e-4
    )

    out = Exports(world).export("ner-zh", "conll", "dev")
    assert out["dataset"] == "ner-zh-labels" and out["rows"] == SAMPLE_ROWS
    ds = Catalog(world).show("ner-zh-labels")
    lineage = json.loads(_lineage(world, ds))
    assert lineage["source"]["dataset"] == "people.sample"
    assert lineage["spec"]["hash"] == info["spec"]["hash"]
    assert lineage["annotators"] == ["ann-a", "ann-b"]
    assert lineage["gold_accuracy"] == {"ann-a": 1.0, "ann-b": 0.5}
    blocks = _conll(Path(out["files"]) / "labels.conll")
    tags, text = blocks[disagreement], sample_texts[disagreement]
    assert "".join(tok for tok, _ in tags) == "".join(text.split())
    covered, offset = [], 0
    for tok, tag in tags:  # tokens whose first character lies in the reviewer's span [0, 3)
        offset = text.index(tok, offset)
        if offset < 3:
            covered.append(tag)
        else:
            assert tag == "O"
        offset += len(tok)
    assert covered[0] == "B-ORG" and set(covered[1:]) <= {"I-ORG"}
    assert blocks[gold_keys[0]][0][1] == "B-PER"  # the gold answer, not ann-b's

    actions = _actions(world)
    assert {"label.project.create", "label.sync", "label.export"} <= set(actions)

    # The metered work is evidence: `audit verify` recomputes each sync's digest.
    from labeling.metering import verifier
    from labeling.models import LabelWork

    report = verifier(world)
    assert report["checked"] >= 2 and report["problems"] == []
    with world.db.session() as s:
        row = s.scalars(select(LabelWork).where(LabelWork.person == "ann-b")).first()
        row.seconds += 100  # someone bills more time than was worked
    assert any("differs from its digest" in p for p in verifier(world)["problems"])
    with world.db.session() as s:
        s.scalars(select(LabelWork).where(LabelWork.person == "ann-b")).first().seconds -= 100
    assert verifier(world)["problems"] == []


def test_refusals_leave_nothing_behind(world: Platform, label_studio: LabelStudioServer) -> None:
    labeling_contract(world)
    _raw_source(world)
    before, entries = ls_project_ids(label_studio), ledger_size(world)
    with pytest.raises(TrustlabError, match="raw data"):
        Projects(world).create(ner("raw", dataset="people_raw"), "dev")
    with pytest.raises(TrustlabError, match="labels image"):
        Projects(world).create(ner("tpl", template="image-boxes"), "dev")
    with pytest.raises(TrustlabError, match="no column"):
        Projects(world).create(ner("col", fields={"text": "nope"}), "dev")
    with pytest.raises(TrustlabError, match="not a developer"):
        Projects(world).create(ner("who"), "op")
    with pytest.raises(TrustlabError, match="not an annotator"):
        Projects(world).create(ner("ann", annotators=["ann-a", "dev"]), "dev")
    with pytest.raises(TrustlabError, match="gold task 1"):
        Projects(world).create(ner("gold", gold=[{"key": "row-999", "result": []}]), "dev")
    assert ls_project_ids(label_studio) == before
    assert ledger_size(world) == entries


def test_unreachable_or_refusing_label_studio(world: Platform, tmp_path: Path) -> None:
    from tests.labeling_world import free_port

    down = world.settings.model_copy(update={"labelstudio_url": f"http://127.0.0.1:{free_port()}"})
    p = Platform(down)
    entries = ledger_size(world)
    with pytest.raises(LabelStudioError, match="not reachable"):
        Projects(p).create(ner("down"), "dev")
    p.close()
    token = world.settings.home / "labelstudio" / "admin-token"
    good = token.read_text()
    token.write_text("not-a-token")
    try:
        with pytest.raises(LabelStudioError, match="refused trustlab's token"):
            Projects(world).create(ner("badtoken"), "dev")
    finally:
        token.write_text(good)
    assert ledger_size(world) == entries
    with world.db.session() as s:
        names = set(s.scalars(select(LabelProject.name)))
    assert not names & {"down", "badtoken"}


# --- helpers ----------------------------------------------------------------------------


def labeling_contract(p: Platform) -> None:
    """The contract allowing project nlp to label people (made once per module)."""
    from hub.terms import terms

    with p.db.session() as s:
        if terms(s, "nlp", "people", "labeling") is not None:
            return
    contract(p, "nlp", "people", ["labeling"])


def _sample_texts(p: Platform) -> dict[str, str]:
    import pyarrow.parquet as pq

    from labeling.sources import resolve

    with p.db.session() as s:
        src = resolve(s, "people")
    rows = pq.read_table(src.location, columns=["remark"]).to_pylist()
    return {f"row-{i}": r["remark"] or "" for i, r in enumerate(rows)}


def _lineage(p: Platform, info: dict) -> str:
    from hub.models import Dataset, DatasetVersion

    with p.db.session() as s:
        return s.scalar(select(DatasetVersion.lineage).join(Dataset).where(
            Dataset.name == info["name"]).order_by(DatasetVersion.number.desc()))  # fmt: skip


def _conll(path: Path) -> dict[str, list[tuple[str, str]]]:
    blocks: dict[str, list[tuple[str, str]]] = {}
    key = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# key = "):
            key = line[len("# key = ") :]
            blocks[key] = []
        elif line.strip():
            tok, tag = line.split("\t")
            blocks[key].append((tok, tag))  # type: ignore[index]
    return blocks


def _actions(p: Platform) -> list[str]:
    with p.db.session() as s:
        return list(s.scalars(select(LedgerEntry.action)))


def _raw_source(p: Platform) -> None:
    from hub.catalog import Registration

    csv = p.settings.home / "raw.csv"
    csv.write_text("id,remark\n1,张三住在北京\n2,李四在上海工作\n", encoding="utf-8")
    cat = Catalog(p, "tester")
    if "people_raw" not in {d["name"] for d in cat.list()}:
        cat.register(Registration(str(csv)), "people_raw", "civil-affairs")
        cat.confirm("people_raw")


def test_cli_through_the_platform_api_checks_who_asks(world: Platform) -> None:
    """`trustlab label …` as different hub users (the hub's token check is stood in for;
    the API's own role checks are real)."""
    import threading
    import time

    import uvicorn
    from click.testing import CliRunner

    from hub.api.app import PREFIX, create_app
    from labeling.cli import label
    from tests.labeling_world import free_port

    labeling_contract(world)
    Projects(world).create(ner("cli-ner", overlap=1, reviewer=None), "dev")
    Directory(world).add_user("outsider", [Role("developer")], None, "admin")
    names = ["dev", "op", "aud", "ann-a", "rev", "outsider"]
    api = create_app(world, identify=lambda t: {"kind": "user", "name": t} if t in names else None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def run(who: str, *args: str):  # type: ignore[no-untyped-def]
        env = {"TRUSTLAB_API_URL": f"http://127.0.0.1:{port}{PREFIX.rstrip('/')}",
               "TRUSTLAB_TOKEN": who}  # fmt: skip
        return CliRunner().invoke(label, list(args), env=env)

    try:
        while not server.started:
            time.sleep(0.05)
        for who in ("dev", "aud", "ann-a"):
            r = run(who, "status", "cli-ner", "--format", "json")
            assert r.exit_code == 0, (who, r.output)
            assert json.loads(r.output)["tasks"] == SAMPLE_ROWS
        refused = run("outsider", "status", "cli-ner")
        assert refused.exit_code != 0 and "not a member" in f"{refused.output}{refused.exception}"
        mine = run("ann-a", "login")
        assert mine.exit_code == 0 and "@labelstudio.local" in mine.output
        assert run("dev", "login").exit_code != 0  # not an annotator
        assert run("outsider", "export", "cli-ner", "--format", "jsonl").exit_code != 0
        ok = run("op", "sync", "cli-ner")
        assert ok.exit_code == 0 and "0 new answers" in ok.output
        listed = run("ann-a", "project", "list", "--format", "json")
        assert "cli-ner" in [p["name"] for p in json.loads(listed.output)]
        assert json.loads(run("outsider", "project", "list", "--format", "json").output) == []
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_a_project_deleted_on_the_label_studio_side(world: Platform) -> None:
    from labeling.studio import Studio

    labeling_contract(world)
    info = Projects(world).create(ner("gone", overlap=1, reviewer=None), "dev")
    pid = int(info["label_studio"]["ann-a"].rstrip("/").rsplit("/", 1)[1])
    Studio(Projects(world).server).delete_project(pid)
    entries = ledger_size(world)
    with pytest.raises(LabelStudioError, match="deleted on the Label Studio side"):
        Progress(world).sync("gone", "dev")
    assert ledger_size(world) == entries


def _pid(info: dict, person: str) -> int:
    return int(info["label_studio"][person].rstrip("/").rsplit("/", 1)[1])


def test_a_new_specification_version_everywhere_or_nowhere(world: Platform) -> None:
    from labeling import specs
    from labeling.studio import Studio

    labeling_contract(world)
    texts = _sample_texts(world)
    gold = [{"key": "row-0", "result": span(0, 1, "PER", texts["row-0"])}]
    info = Projects(world).create(ner("spec", gold=gold, gold_share=0.05), "dev")
    admin = Studio(Projects(world).server)
    pids = [_pid(info, who) for who in ("ann-a", "ann-b", "rev")]

    def configs() -> list[str]:
        return [admin.ls.projects.get(id=pid).label_config for pid in pids]

    with pytest.raises(PermissionDenied):
        specs.revise(world, "spec", "ann-a", labels=["PER"])
    v2 = specs.revise(world, "spec", "dev", labels=["PER", "LOC", "ORG", "时间"])
    assert v2["version"] == 2 and v2["changed"]
    assert all('value="时间"' in c for c in configs())
    same = specs.revise(world, "spec", "dev", labels=["PER", "LOC", "ORG", "时间"])
    assert same == {"project": "spec", "version": 2, "hash": v2["hash"], "changed": False}
    v3 = specs.revise(world, "spec", "dev", guidelines="只标注完整的人名。")
    assert v3["version"] == 3
    assert {admin.ls.projects.get(id=pid).expert_instruction for pid in pids} == {
        "只标注完整的人名。"
    }
    assert Projects(world).show("spec")["spec"]["hash"] == v3["hash"]

    # ann-b (the second of the three projects) uses LOC in Label Studio: a version without
    # LOC is refused before any project changes.
    task = next(iter(as_person(world, "ann-b").ls.tasks.list(project=pids[1])))
    as_person(world, "ann-b").annotate(task.id, span(0, 1, "LOC", task.data["text"]), 1.0)
    before, entries = configs(), ledger_size(world)
    with pytest.raises(InvalidState, match="answers use PER: keep"):  # the gold answer's
        specs.revise(world, "spec", "dev", labels=["LOC", "ORG"])
    with pytest.raises(TrustlabError, match="refused to accept the new labels"):
        specs.revise(world, "spec", "dev", labels=["PER", "ORG"])
    assert configs() == before and ledger_size(world) == entries
    history = specs.history(world, "spec")
    assert [h["version"] for h in history] == [1, 2, 3]
    assert history[1]["labels"] == ["PER", "LOC", "ORG", "时间"]
    assert _actions(world).count("label.spec") == 2


def _shared_entity(texts: dict[str, str], labeled: list[str], rest: list[str]) -> tuple:
    """(key, start, end) of a 2–4 character string in a labeled text that occurs in a text
    of ``rest`` too, and that rest key."""
    for key in labeled:
        text = texts[key]
        for size in (4, 3, 2):
            for start in range(len(text) - size + 1):
                part = text[start : start + size]
                if not part.strip() or "*" in part or " " in part:
                    continue
                other = next((k for k in rest if part in texts[k]), None)
                if other:
                    return key, start, start + size, other
    raise AssertionError("the sample's remarks share no string; pick another seed")


def test_suggestions_on_demand_from_trustlabs_ml_backend(
    world: Platform, label_studio: LabelStudioServer
) -> None:
    import httpx

    from labeling import predictions
    from labeling.backend import USER, secret
    from labeling.models import LabelTask
    from labeling.studio import Studio
    from tests.labeling_world import suggestions_service

    labeling_contract(world)
    texts = _sample_texts(world)
    keys = sorted(texts)
    gold_key = keys[-1]
    gold = [{"key": gold_key, "result": span(0, 1, "PER", texts[gold_key])}]
    info = Projects(world).create(ner("suggest", gold=gold, gold_share=0.05), "dev")
    labeled, rest = keys[:20], [k for k in keys[20:] if k != gold_key]
    key, start, end, other = _shared_entity(texts, labeled, rest)
    queues = {who: {t.meta["trustlab_key"]: t for t in as_person(world, who).ls.tasks.list(
        project=_pid(info, who), fields="all")} for who in ("ann-a", "ann-b")}  # fmt: skip
    for who, queue in queues.items():  # both agree on the entity in task `key`
        as_person(world, who).annotate(queue[key].id, span(start, end, "ORG", texts[key]), 1.0)
    assert Progress(world).sync("suggest", "dev")["agreed"] == 1

    with suggestions_service(world) as p:
        url = f"http://{p.settings.labeling_ml_host}:{p.settings.labeling_ml_port}"
        refused = httpx.post(f"{url}/predict", json={"tasks": [{"id": 1}], "project": "1.0"})
        assert refused.status_code == 401
        with pytest.raises(PermissionDenied):
            predictions.connect(p, "suggest", "ann-a")
        assert predictions.connect(p, "suggest", "dev")["connected"] == 2
        assert predictions.connect(p, "suggest", "dev")["connected"] == 0

        # ann-b opens a task nobody labeled: Label Studio asks trustlab, which suggests the
        # entity learned from the agreed task wherever it occurs.
        studio = as_person(p, "ann-b")
        studio.ls.tasks.get(id=queues["ann-b"][other].id)
        (got,) = list(studio.ls.predictions.list(task=queues["ann-b"][other].id))
        entity = texts[key][start:end]
        at = texts[other].find(entity)
        assert got.model_version == "trustlab"
        assert {"start": at, "end": at + len(entity), "text": entity, "labels": ["ORG"]} in [
            r["value"] for r in got.result
        ]
        # A gold task gets no suggestion: it would give the known answer away.
        studio.ls.tasks.get(id=queues["ann-b"][gold_key].id)
        assert all(not g.result for g in studio.ls.predictions.list(
            task=queues["ann-b"][gold_key].id))  # fmt: skip
        with p.db.session() as s:
            served = s.scalar(select(LabelTask.prediction).where(LabelTask.key == other,
                              LabelTask.project_id == s.scalar(select(LabelProject.id).where(
                                  LabelProject.name == "suggest"))))  # fmt: skip
        assert entity in served
        # The basic-auth secret works only for the backend's own routes, and the guard still
        # refuses every other local address.
        ok = httpx.post(f"{url}/predict", auth=(USER, secret(p.settings)),
                        json={"tasks": [{"id": queues["ann-a"][other].id}],
                              "project": f"{_pid(info, 'ann-a')}.0"})  # fmt: skip
        assert ok.status_code == 200 and ok.json()["results"][0]["result"]
        from label_studio_sdk.core.api_error import ApiError

        with pytest.raises(ApiError) as refused_local:
            Studio(Projects(p).server).ls.ml.create(project=_pid(info, "ann-a"),
                                                     url="http://127.0.0.1:9/")  # fmt: skip
        assert refused_local.value.status_code == 403
        assert "reserved network address" in json.dumps(refused_local.value.body)
    assert "label.suggest" in _actions(world)


def test_a_refused_batch_or_project_takes_back_what_went_in_before(world: Platform) -> None:
    from labeling import predictions
    from labeling.studio import Studio

    admin = Studio(Projects(world).server)
    pid = admin.create_project("batches", '<View><Text name="text" value="$text"/></View>', "")
    try:
        good = [{"data": {"text": f"t{i}"}} for i in range(5)]
        with pytest.raises(LabelStudioError, match="import tasks"):
            admin.import_tasks(pid, [*good, {"data": "not an object"}], batch=2)
        assert list(admin.ls.tasks.list(project=pid)) == []  # the first two batches went back
    finally:
        admin.delete_project(pid)

    labeling_contract(world)
    texts = _sample_texts(world)
    info = Projects(world).create(ner("half", overlap=1, reviewer=None), "dev")
    first, second = _pid(info, "ann-a"), _pid(info, "ann-b")
    admin.delete_project(second)  # the second annotator's project is gone on the far side
    items = [{"key": k, "result": span(0, 1, "PER", t)} for k, t in texts.items()]
    entries = ledger_size(world)
    with pytest.raises(LabelStudioError, match="deleted on the Label Studio side"):
        predictions.add(world, "half", items, "m-1", "dev")
    assert list(admin.ls.predictions.list(project=first)) == []
    assert ledger_size(world) == entries
    with world.db.session() as s:
        from labeling.models import LabelTask

        assert s.scalar(select(func.count()).where(LabelTask.prediction.is_not(None),
                        LabelTask.project_id == s.scalar(select(LabelProject.id).where(
                            LabelProject.name == "half")))) == 0  # fmt: skip
