"""Risk-behaviour monitoring on both DB lanes: each rule has a case that triggers it and one
that must not; a high alert freezes, an operator lifts it; the monitor resumes where it
stopped; the violation report says who, what, when, the evidence and the actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub import ledger as ledger_mod
from hub.alerts import list_alerts, list_freezes, render, report
from hub.catalog import Catalog, Registration
from hub.contracts import Contracts
from hub.errors import InvalidState
from hub.freeze import manual_freeze, unfreeze
from hub.identity import Directory, PermissionDenied, Role
from hub.models import Contract, ContractUsage, Dataset
from hub.platform import Platform
from hub.risk import evaluate
from hub.terms import day

TUESDAY_NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai


@pytest.fixture
def world(platform: Platform, tmp_path: Path) -> Platform:
    csv = tmp_path / "relief.csv"
    csv.write_text("household,street,members\nH1,Jiefang Rd,3\n")
    catalog = Catalog(platform, "tester")
    catalog.register(Registration(str(csv)), "relief", "civil-affairs")
    catalog.confirm("relief")
    d = Directory(platform)
    for name, role in (("dana", Role("developer")), ("carol", Role("provider", "civil-affairs")),
                       ("olga", Role("operator")), ("otto", Role("operator"))):  # fmt: skip
        d.add_user(name, [role], None, "admin")
    d.create_project("welfare", "", ["dana"], "admin")
    c = Contracts(platform)
    ref = c.request("welfare", "relief", "dana", ["sandbox", "pipeline"])["ref"]
    c.decide(ref, "carol", True)
    c.decide(ref, "olga", True)
    evaluate(platform)  # the setup itself is history: start from here
    return platform


class Clock:
    """Sets the time the ledger stamps on the next entries."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = TUESDAY_NOON
        monkeypatch.setattr(ledger_mod, "_now",
                            lambda: self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))  # fmt: skip


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    yield Clock(monkeypatch)


def log(p: Platform, actor: str, action: str, subject: str, **payload: Any) -> int:
    with p.db.session() as session:
        return p.ledger.append(session, actor, action, subject, payload).seq


def alerts(p: Platform, rule: str) -> list[dict[str, Any]]:
    return [a for a in list_alerts(p) if a["rule"] == rule]


def test_repeated_refusals_freeze_the_user_until_an_operator_lifts_it(
    world: Platform, clock: Clock
) -> None:
    for i in range(5):  # one every two minutes: 5 within 10 minutes
        clock.at = TUESDAY_NOON + timedelta(minutes=2 * i)
        log(world, "dana", "access.refused", "api:/datasets/{name}", reason="not yours")
    evaluate(world, now=clock.at)
    (alert,) = alerts(world, "repeated_refusals")
    assert alert["severity"] == "high" and alert["subject"] == "dana"
    assert Directory(world).roles("dana") == []  # frozen: no role acts any more
    (frozen,) = list_freezes(world, open_only=True)
    assert frozen["changed"] == ["user:dana"] and frozen["alert"] == alert["id"]
    with pytest.raises(PermissionDenied):
        unfreeze(world, frozen["id"], "dana", "I promise")
    lifted = unfreeze(world, frozen["id"], "olga", "talked to dana: a misconfigured script")
    assert lifted["restored"] == ["user:dana"] and Directory(world).roles("dana")
    with pytest.raises(InvalidState):
        unfreeze(world, frozen["id"], "olga", "again")
    doc = render(report(world, alert["id"]))
    for expected in ("user `dana`", "5 refusals within 10 minutes", "Frozen", "Lifted",
                     "talked to dana", "`risk.unfreeze`"):  # fmt: skip
        assert expected in doc, doc


def test_refusals_spread_out_or_not_by_a_person_do_not_alert(world: Platform, clock: Clock) -> None:
    for i in range(6):  # one every three minutes: never 5 within 10 minutes
        clock.at = TUESDAY_NOON + timedelta(minutes=3 * i)
        log(world, "dana", "access.refused", "api:/x", reason="no")
        log(world, "(unidentified token)", "access.refused", "api:/x", reason="no")
    evaluate(world, now=clock.at)
    assert alerts(world, "repeated_refusals") == [] and Directory(world).roles("dana")


def test_refused_runs_of_a_project_freeze_its_contracts(world: Platform, clock: Clock) -> None:
    for i in range(2):
        clock.at = TUESDAY_NOON + timedelta(minutes=i)
        log(world, "production", "pipeline.run.refused", "pipeline-version:abc",
            project="welfare", reason="no contract")  # fmt: skip
    evaluate(world, now=clock.at)
    assert alerts(world, "repeated_refusals") == []  # two: below the project threshold
    log(world, "production", "pipeline.run.refused", "pipeline-version:abc",
        project="welfare", reason="no contract")  # fmt: skip
    evaluate(world, now=clock.at)
    (alert,) = alerts(world, "repeated_refusals")
    assert (alert["subject_kind"], alert["subject"]) == ("project", "welfare")
    (contract,) = Contracts(world).list("welfare")
    assert contract["state"] == "suspended" and not contract["in_force"]
    Contracts(world).set_state(contract["ref"], "otto", "resume", "checked by hand")  # meanwhile
    Contracts(world).set_state(contract["ref"], "carol", "suspend", "owner's own audit")
    freeze_id = list_freezes(world)[0]["id"]
    assert unfreeze(world, freeze_id, "olga", "resolved")["restored"] == []  # not the owner's
    assert Contracts(world).show(contract["ref"])["state"] == "suspended"


def test_off_hours_work_is_flagged_but_office_hours_are_not(world: Platform, clock: Clock) -> None:
    log(world, "dana", "sandbox.spawn", "project:welfare", session=1)  # Tuesday 12:00
    clock.at = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # Saturday 11:00 in Shanghai
    log(world, "carol", "pipeline.submit", "pipeline:x")
    clock.at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # Tuesday 23:30 in Shanghai
    log(world, "dana", "sandbox.cell", "project:welfare", code="x", output_bytes=10)
    log(world, "production", "pipeline.run", "pipeline:x", state="published")  # not a person
    evaluate(world, now=clock.at)
    found = {(a["subject"], a["severity"]) for a in alerts(world, "off_hours")}
    assert found == {("dana", "low"), ("carol", "low")}
    assert Directory(world).roles("dana"), "a low alert does not freeze"


def test_limits_exceeded_and_approached(world: Platform, clock: Clock) -> None:
    (contract,) = Contracts(world).list("welfare")
    evidence = {"reason": "limit", "contract": contract["ref"], "limit": "runs_per_day",
                "allowed": 3, "used": 3, "requested": 1, "party": "welfare"}  # fmt: skip
    log(world, "production", "pipeline.run.refused", "pipeline-version:abc",
        project="welfare", contract=evidence)  # fmt: skip
    log(world, "production", "pipeline.run.refused", "pipeline-version:abc",
        project="welfare", contract={"reason": "no_contract"})  # fmt: skip
    evaluate(world, now=clock.at)
    (exceeded,) = alerts(world, "limit_pressure")
    assert exceeded["subject"] == contract["ref"] and exceeded["severity"] == "medium"


def test_limits_approached_by_use_today(world: Platform) -> None:
    c = Contracts(world)
    doc = {**c.export(c.list("welfare")[0]["ref"]), "ref": "HT-limit",
           "limits": {"runs_per_day": 10}}  # fmt: skip
    c.import_document(doc, "otto")
    c.decide("HT-limit", "carol", True)
    c.decide("HT-limit", "olga", True)
    now = datetime.now(UTC)
    with world.db.session() as session:
        cid = session.scalar(select(Contract.id).where(Contract.ref == "HT-limit"))
        for i in range(7):
            session.add(ContractUsage(contract_id=cid, day=day(now, world.settings.timezone),
                                      mode="pipeline", runs=1, rows=0, calls=0, ref=f"r{i}"))  # fmt: skip
    evaluate(world, now=now)
    assert alerts(world, "limit_pressure") == []  # 7 of 10: not yet
    with world.db.session() as session:
        session.add(ContractUsage(contract_id=cid, day=day(now, world.settings.timezone),
                                  mode="pipeline", runs=1, rows=0, calls=0, ref="r8"))  # fmt: skip
    evaluate(world, now=now)
    (approached,) = alerts(world, "limit_pressure")
    assert approached["subject"] == "HT-limit" and approached["severity"] == "low"
    evaluate(world, now=now)
    assert len(alerts(world, "limit_pressure")) == 1, "quiet while the last alert is recent"


def _cells(p: Platform, clock: Clock, sizes: list[int], code: str = "df.head()") -> None:
    for size in sizes:
        clock.at += timedelta(seconds=20)
        log(p, "dana", "sandbox.cell", "project:welfare", code=code, output_bytes=size)


def test_an_output_spike_against_the_baseline_freezes(world: Platform, clock: Clock) -> None:
    _cells(world, clock, [900, 1200, 800, 1500, 1000, 1100])
    _cells(world, clock, [1_500_000])  # big, but under the absolute floor
    evaluate(world, now=clock.at)
    assert alerts(world, "output_spike") == []
    _cells(world, clock, [6_000_000], code="print(df.to_csv())")
    evaluate(world, now=clock.at)
    (alert,) = alerts(world, "output_spike")
    assert alert["evidence"]["output_bytes"] == 6_000_000 and "to_csv" in alert["evidence"]["code"]
    assert Directory(world).roles("dana") == []


def test_large_outputs_that_are_usual_for_the_user_do_not_alert(
    world: Platform, clock: Clock
) -> None:
    _cells(world, clock, [3_000_000, 2_500_000, 4_000_000, 3_500_000, 2_800_000, 3_100_000])
    _cells(world, clock, [9_000_000])  # three times the usual: not twenty
    evaluate(world, now=clock.at)
    assert alerts(world, "output_spike") == []
    _cells(world, clock, [90_000_000])
    evaluate(world, now=clock.at)
    assert len(alerts(world, "output_spike")) == 1


def test_bursts_of_whole_sample_reads_alert(world: Platform, clock: Clock) -> None:
    _cells(world, clock, [100] * 40, code="x = 1 + 1")  # busy, but reading nothing
    evaluate(world, now=clock.at)
    assert alerts(world, "sample_reads") == []
    _cells(world, clock, [100] * 29, code='df = load("relief")')
    evaluate(world, now=clock.at)
    assert alerts(world, "sample_reads") == []  # 29 in the window: under the count
    _cells(world, clock, [100], code="pd.read_parquet('/data/samples/relief')")
    evaluate(world, now=clock.at)
    (alert,) = alerts(world, "sample_reads")
    assert alert["severity"] == "medium" and alert["evidence"]["reads"] == 30


def _dataset(p: Platform, name: str, columns: dict[str, str]) -> None:
    """A product in the catalog with ``columns`` (name -> PII type), as production makes."""
    from hub.models import ColumnClass, Organisation

    with p.db.session() as session:
        owner = session.scalar(select(Organisation.id))
        ds = Dataset(name=name, kind="product", owner_id=owner, source_format="parquet",
                     source_uri=f"/products/{name}", created_by="production",
                     classification_status="confirmed")  # fmt: skip
        session.add(ds)
        session.flush()
        for i, (col, pii) in enumerate(columns.items()):
            session.add(ColumnClass(dataset_id=ds.id, position=i, name=col, data_type="string",
                                    pii_type=pii, level=3 if pii != "none" else 1,
                                    proposed_pii_type=pii, proposed_level=1, confidence=1.0,
                                    evidence="from the reviewed column lineage"))  # fmt: skip


def _published(p: Platform, output: str, rows: int) -> None:
    from pipelines.models import PipelineVersion

    with p.db.session() as session:
        if session.get(PipelineVersion, "v" * 64) is None:
            session.add(PipelineVersion(id="v" * 64, name="copy", project="welfare",
                                        submitted_by="dana", snapshot="/s", manifest="{}"))  # fmt: skip
    log(p, "production", "pipeline.run", "pipeline:copy", run=1, state="published",
        version="v" * 64, inputs={"relief": {"version": 1, "hash": "h", "rows": 5000}},
        outputs={output: {"rows": rows, "product_version": 1}})  # fmt: skip


def test_row_level_exports_keeping_keys_freeze_the_project(world: Platform) -> None:
    from hub.models import ColumnClass

    with world.db.session() as session:  # the owner classified household as a name
        ds = session.scalar(select(Dataset).where(Dataset.name == "relief"))
        session.get(ColumnClass, ds.columns[0].id).pii_type = "name"
    _dataset(world, "by_street", {"street": "none", "households": "none"})
    _published(world, "by_street", 12)  # an aggregate
    _dataset(world, "tidy", {"street": "none", "members": "none"})
    _published(world, "tidy", 5000)  # row-level, but without a row key
    evaluate(world)
    assert alerts(world, "row_level_export") == []
    _dataset(world, "copy_out", {"household": "name", "members": "none"})
    _published(world, "copy_out", 5000)
    evaluate(world)
    (alert,) = alerts(world, "row_level_export")
    assert (alert["subject_kind"], alert["subject"]) == ("project", "welfare")
    assert alert["evidence"]["row_keys"] == ["household"]
    assert Contracts(world).list("welfare")[0]["state"] == "suspended"


def test_the_monitor_resumes_from_its_last_sequence(world: Platform, clock: Clock) -> None:
    for i in range(5):
        clock.at = TUESDAY_NOON + timedelta(minutes=i)
        log(world, "dana", "access.refused", "api:/x", reason="no")
    # the monitor was down meanwhile: nothing was evaluated; the next start sees it all once
    first = evaluate(world, now=clock.at)
    assert len(first) == 1 and evaluate(world, now=clock.at) == []


def test_operators_freeze_by_hand_and_others_cannot(world: Platform) -> None:
    with pytest.raises(PermissionDenied):
        manual_freeze(world, "project", "welfare", "dana", "no")
    made = manual_freeze(world, "project", "welfare", "olga", "the provider reported a leak")
    assert len(made["changed"]) == 1 and made["changed"][0].startswith("contract:")
    assert unfreeze(world, made["id"], "otto", "cleared")["restored"] == made["changed"]


def test_large_or_repeated_downloads_alert_and_a_few_small_do_not(
    world: Platform, clock: Clock
) -> None:
    def download(size: int, minutes: float) -> None:
        clock.at = TUESDAY_NOON + timedelta(minutes=minutes)
        log(world, "dana", "sandbox.download", "project:welfare", path="out/x.csv",
            bytes=size, sha256="ab" * 32)  # fmt: skip

    for i in range(4):  # four small ones in ten minutes: normal work
        download(20_000, 2 * i)
    evaluate(world, now=clock.at)
    assert alerts(world, "downloads") == []
    download(20_000, 9)  # the fifth within ten minutes
    evaluate(world, now=clock.at)
    (repeated,) = alerts(world, "downloads")
    assert repeated["evidence"]["in_window"] == 5 and repeated["severity"] == "medium"
    log(world, "eve", "sandbox.download", "project:other", path="all.parquet",
        bytes=64_000_000, sha256="cd" * 32)  # fmt: skip
    evaluate(world, now=clock.at)
    large = [a for a in alerts(world, "downloads") if a["subject"] == "eve"]
    assert len(large) == 1 and "64,000,000 bytes" in large[0]["summary"]


def test_rule_settings_override_defaults_and_unknown_rules_are_refused(settings: Any) -> None:
    from hub.errors import ConfigError
    from hub.risk import rules

    tuned = Platform(settings.model_copy(update={"risk_rules": {
        "output_spike": {"enabled": False}, "sample_reads": {"count": 3}}}))  # fmt: skip
    active = {r.name: r for r in rules(tuned)}
    assert "output_spike" not in active and active["sample_reads"]["count"] == 3
    assert active["sample_reads"]["window_minutes"] == 10  # the rest keep their defaults
    wrong = Platform(settings.model_copy(update={"risk_rules": {"no_such_rule": {}}}))
    with pytest.raises(ConfigError, match="no_such_rule"):
        rules(wrong)
