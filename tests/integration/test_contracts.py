"""Contracts (数字合约) on both metadata DB lanes: documents, two-party activation, the
terms at points of use (column views, narrowing, limits), state changes and the migration
of grants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, text

from hub import terms as terms_mod
from hub.catalog import Catalog, Registration
from hub.contract_doc import SCHEMA_FILE, InvalidContract, json_schema
from hub.contracts import Contracts
from hub.errors import InvalidState
from hub.identity import Directory, PermissionDenied, Role
from hub.models import Contract, ContractUsage, Dataset, DatasetVersion, LedgerEntry
from hub.mounts import sandbox_mounts
from hub.platform import Platform
from hub.terms import ContractRefused, charge, require, terms

COLUMNS = ["household", "street", "members", "benefit"]


def _register(platform: Platform, tmp: Path, name: str, owner: str, header: list[str]) -> None:
    csv = tmp / f"{name}.csv"
    csv.write_text(",".join(header) + "\n" + ",".join(str(i) for i in range(len(header))) + "\n")
    catalog = Catalog(platform, "tester")
    catalog.register(Registration(str(csv)), name, owner)


def _publish_sample(platform: Platform, source: str, header: list[str]) -> Path:
    """A real Parquet sample of ``source`` (as the builder leaves one), in the zone."""
    location = Path(platform.settings.zone("samples")) / source / "0123456789abcdef"
    location.mkdir(parents=True)
    table = pa.table({c: [f"{c}-{i}" for i in range(5)] for c in header})
    pq.write_table(table, location / "part-00000.parquet")
    (location / "_trustlab").mkdir()
    (location / "_trustlab" / "gate.json").write_text("{}")
    with platform.db.session() as session:
        src = session.scalar(select(Dataset).where(Dataset.name == source))
        sample = Dataset(name=f"{source}.sample", kind="sample", owner_id=src.owner_id,
                         source_format="parquet", source_uri=str(location),
                         sample_of_id=src.id, created_by="t")  # fmt: skip
        session.add(sample)
        session.flush()
        schema = [{"name": c, "type": "string"} for c in header]
        session.add(DatasetVersion(dataset_id=sample.id, number=1, content_hash="cd" * 32,
                                   hash_algorithm="sha256", schema_json=json.dumps(schema),
                                   row_count=5, location=str(location),
                                   created_by="t"))  # fmt: skip
    return location


@pytest.fixture
def world(platform: Platform, tmp_path: Path) -> Platform:
    _register(platform, tmp_path, "relief", "civil-affairs", COLUMNS)
    _register(platform, tmp_path, "buses", "transport", ["line", "stop", "riders"])
    _register(platform, tmp_path, "draft_data", "transport", ["a", "b"])
    catalog = Catalog(platform, "tester")
    catalog.confirm("relief")
    catalog.confirm("buses")
    d = Directory(platform)
    for name, roles in {
        "dana": [Role("developer")],
        "eve": [Role("developer")],
        "carol": [Role("provider", "civil-affairs")],
        "tom": [Role("provider", "transport")],
        "olga": [Role("operator")],
        "otto": [Role("operator")],
    }.items():
        d.add_user(name, roles, None, "admin")
    d.create_project("welfare", "", ["dana"], "admin")
    return platform


def doc(**changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    base = {
        "schema": "trustlab.contract/1",
        "ref": "HT-2026-0117",
        "title": "Relief households for the welfare study 低保家庭研究",
        "parties": {"providers": ["civil-affairs"], "operator": "platform",
                    "user": {"kind": "project", "name": "welfare"}},
        "objects": [{"dataset": "relief", "columns": ["street", "members"],
                     "modes": ["sandbox", "pipeline"]}],
        "purpose": {"category": "research", "text": "district-level relief statistics"},
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=30)).isoformat(),
        "limits": {"runs_per_day": 2, "rows_per_day": None, "calls_per_day": None},
    }  # fmt: skip
    base.update(changes)
    return base


def activate(c: Contracts, data: dict[str, Any], provider: str = "carol") -> dict[str, Any]:
    c.import_document(data, "olga")
    c.decide(data["ref"], provider, True)
    return c.decide(data["ref"], "otto", True)


def actions(platform: Platform, subject: str) -> list[tuple[str, str]]:
    with platform.db.session() as session:
        return [
            (e.action, e.actor)
            for e in session.scalars(
                select(LedgerEntry).where(LedgerEntry.subject == subject).order_by(LedgerEntry.seq)
            )
        ]


def test_a_contract_is_active_only_when_every_owner_and_an_operator_approved(
    world: Platform,
) -> None:
    c = Contracts(world)
    two = doc(ref="HT-multi", parties={"providers": ["civil-affairs", "transport"],
                                       "user": {"kind": "project", "name": "welfare"}},
              objects=[{"dataset": "relief", "columns": "*", "modes": ["sandbox"]},
                       {"dataset": "buses", "columns": ["line"], "modes": ["pipeline"]}])  # fmt: skip
    with pytest.raises(PermissionDenied, match="import"):
        c.import_document(two, "dana")  # a developer does not import
    made = c.import_document(two, "olga")
    assert made["state"] == "draft" and not made["in_force"]
    assert made["versions"][0]["awaiting"] == [
        "provider of civil-affairs", "provider of transport", "operator"]  # fmt: skip
    for who in ("dana", "carol"):  # no role for it; the same reviewer twice
        if who == "carol":
            c.decide("HT-multi", "carol", True)
        with pytest.raises(PermissionDenied):
            c.decide("HT-multi", who, True)
    assert c.decide("HT-multi", "olga", True)["state"] == "draft"  # the importer may approve
    done = c.decide("HT-multi", "tom", True)
    assert done["state"] == "active" and done["in_force"] and done["version"] == 1
    with world.db.session() as session:
        assert terms(session, "welfare", "buses", "pipeline").columns == ("line",)
        assert terms(session, "welfare", "buses", "sandbox") is None  # not that mode
        assert terms(session, "welfare", "relief", "sandbox").all_columns
    assert [a for a, _ in actions(world, "contract:HT-multi")] == [
        "contract.import", "contract.approve", "contract.approve", "contract.approve",
        "contract.activate"]  # fmt: skip


def test_a_requested_contract_is_not_decided_by_its_requester(world: Platform) -> None:
    Directory(world).add_role("dana", Role("operator"), "admin")
    c = Contracts(world)
    ref = c.request("welfare", "relief", "dana", ["sandbox"])["ref"]
    with pytest.raises(PermissionDenied, match="another person"):
        c.decide(ref, "dana", True)
    with pytest.raises(PermissionDenied, match="not a member"):
        c.request("welfare", "relief", "eve", ["sandbox"])


def test_import_and_export_round_trip_through_the_published_schema(world: Platform) -> None:
    published = json.loads(SCHEMA_FILE.read_text())
    assert published == json_schema(), "run `python -m hub.contract_doc` to republish it"
    c = Contracts(world)
    original = doc()
    jsonschema.validate(original, published)
    activate(c, original)
    exported = c.export("HT-2026-0117")
    jsonschema.validate(exported, published)
    assert exported["objects"] == original["objects"] and exported["limits"] == original["limits"]
    assert datetime.fromisoformat(exported["valid_until"]) == datetime.fromisoformat(
        original["valid_until"])  # fmt: skip
    renewed = {**exported, "valid_until": (datetime.now(UTC) + timedelta(days=400)).isoformat()}
    again = c.import_document(renewed, "olga")
    assert [v["status"] for v in again["versions"]] == ["approved", "pending"]
    assert again["in_force"], "the version in force stays so while its renewal is decided"
    with pytest.raises(InvalidState, match=r"exact document|awaits approval"):
        c.import_document(renewed, "olga")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"valid_until": "2020-01-01T00:00:00+08:00", "valid_from": "2019-01-01T00:00:00+08:00"},
            "valid_until",
        ),  # expired
        (
            {"objects": [{"dataset": "nowhere", "columns": "*", "modes": ["sandbox"]}]},
            "objects.0.dataset",
        ),
        (
            {
                "objects": [{"dataset": "draft_data", "columns": "*", "modes": ["sandbox"]}],
                "parties": {
                    "providers": ["transport"],
                    "user": {"kind": "project", "name": "welfare"},
                },
            },
            "objects.0.dataset",
        ),  # unconfirmed classification
        (
            {
                "objects": [
                    {"dataset": "relief", "columns": ["street", "salary"], "modes": ["sandbox"]}
                ]
            },
            "objects.0.columns",
        ),
        (
            {"objects": [{"dataset": "relief.sample", "columns": "*", "modes": ["sandbox"]}]},
            "objects.0.dataset",
        ),
        (
            {
                "parties": {
                    "providers": ["transport"],
                    "user": {"kind": "project", "name": "welfare"},
                }
            },
            "parties.providers",
        ),
        (
            {
                "parties": {
                    "providers": ["civil-affairs"],
                    "user": {"kind": "project", "name": "nope"},
                }
            },
            "parties.user.name",
        ),
        (
            {"objects": [{"dataset": "relief", "columns": "*", "modes": ["export"]}]},
            "objects.0.modes.0",
        ),
        ({"limits": {"runs_per_day": 0}}, "limits.runs_per_day"),
        ({"valid_from": "2027-01-01T00:00:00"}, "valid_from"),  # no time zone
        ({"surprise": 1}, "surprise"),
        ({"ref": "bad ref!"}, "ref"),
    ],
)
def test_bad_documents_are_refused_naming_the_field(
    world: Platform, change: dict[str, Any], field: str
) -> None:
    if "relief.sample" in json.dumps(change):
        _publish_sample(world, "relief", COLUMNS)
    with world.db.session() as session:
        before = session.scalar(text("SELECT count(*) FROM ledger_entries"))
    with pytest.raises(InvalidContract) as caught:
        Contracts(world).import_document(doc(**change), "olga")
    assert f"contract field {field}" in str(caught.value), caught.value
    with world.db.session() as session:  # nothing half-written
        assert session.scalar(select(Contract)) is None
        assert session.scalar(text("SELECT count(*) FROM ledger_entries")) == before


def test_the_cli_refuses_a_bad_document_before_sending_it(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "contract.json"
    bad.write_text(json.dumps(doc(objects=[{"dataset": "relief", "columns": "*",
                                            "modes": ["download"]}])))  # fmt: skip
    done = cli("contract", "import", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "objects.0.modes.0" in done.stderr
    (tmp_path / "broken.json").write_text("{ not json")
    done = cli("contract", "import", str(tmp_path / "broken.json"))
    assert done.returncode == 2 and "is not JSON" in done.stderr


def test_a_recorded_expiry_survives_the_clock_going_back(
    world: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = Contracts(world)
    activate(c, doc())
    later = datetime.now(UTC) + timedelta(days=31)  # a jump forward: the contract ends
    monkeypatch.setattr("hub.contracts.now", lambda: later)
    assert c.sweep() == ["HT-2026-0117"]
    monkeypatch.undo()  # the clock is set right again
    info = c.show("HT-2026-0117")
    assert info["state"] == "expired" and not info["in_force"]
    with world.db.session() as session:
        assert terms(session, "welfare", "relief", "sandbox") is None


def test_a_missing_field_is_named_too(world: Platform) -> None:
    data = doc()
    del data["purpose"]
    with pytest.raises(InvalidContract, match="contract field purpose: Field required"):
        Contracts(world).import_document(data, "olga")


def test_sandboxes_mount_only_the_contracted_columns(world: Platform) -> None:
    full = _publish_sample(world, "relief", COLUMNS)
    c = Contracts(world)
    with pytest.raises(PermissionDenied, match="no contract in force"):
        sandbox_mounts(world, "dana", "welfare", "dev")
    activate(c, doc())
    (mount,) = sandbox_mounts(world, "dana", "welfare", "dev")
    view = Path(mount["location"])
    assert view != full and view.is_relative_to(Path(world.settings.zone("samples")))
    assert pq.read_table(view).column_names == ["street", "members"]
    assert not (view / "_trustlab").exists()  # the gate report of other columns stays out
    assert [s["name"] for s in mount["schema"]] == ["street", "members"]
    assert sandbox_mounts(world, "dana", "welfare", "dev")[0]["location"] == str(view)  # reused
    # an overlapping contract: the narrower wins (columns intersected)
    activate(c, doc(ref="HT-other", objects=[{"dataset": "relief", "modes": ["sandbox"],
                                              "columns": ["members", "benefit"]}]))  # fmt: skip
    (narrow,) = sandbox_mounts(world, "dana", "welfare", "dev")
    assert narrow["columns"] == ["members"] and narrow["contracts"] == ["HT-2026-0117", "HT-other"]
    assert pq.read_table(narrow["location"]).column_names == ["members"]
    c.set_state("HT-other", "carol", "revoke", "study ended")
    assert sandbox_mounts(world, "dana", "welfare", "dev")[0]["columns"] == ["street", "members"]
    c.set_state("HT-2026-0117", "carol", "suspend", "audit in progress")
    with pytest.raises(PermissionDenied, match="no contract in force"):
        sandbox_mounts(world, "dana", "welfare", "dev")
    with pytest.raises(PermissionDenied, match="operator"):
        c.set_state("HT-2026-0117", "carol", "resume", "done")  # only an operator lifts it
    c.set_state("HT-2026-0117", "olga", "resume", "audit closed")
    assert sandbox_mounts(world, "dana", "welfare", "dev")


def test_expiry_takes_effect_at_once_and_renewal_restores(
    world: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _publish_sample(world, "relief", COLUMNS)
    c = Contracts(world)
    activate(c, doc())
    later = datetime.now(UTC) + timedelta(days=31)
    monkeypatch.setattr(terms_mod, "now", lambda: later)
    monkeypatch.setattr("hub.contracts.now", lambda: later)
    monkeypatch.setattr("hub.mounts.now", lambda: later)
    with pytest.raises(PermissionDenied):  # before the monitor records anything
        sandbox_mounts(world, "dana", "welfare", "dev")
    assert c.sweep() == ["HT-2026-0117"] and c.sweep() == []
    assert c.show("HT-2026-0117")["state"] == "expired"
    renewal = {**c.export("HT-2026-0117"),
               "valid_until": (later + timedelta(days=90)).isoformat()}  # fmt: skip
    activate(c, renewal)
    assert c.show("HT-2026-0117")["state"] == "active"
    assert sandbox_mounts(world, "dana", "welfare", "dev")
    assert [a for a, _ in actions(world, "contract:HT-2026-0117")][-4:] == [
        "contract.import", "contract.approve", "contract.approve", "contract.activate"]  # fmt: skip


def test_daily_limits_refuse_beyond_and_count_nothing_then(world: Platform) -> None:
    c = Contracts(world)
    activate(c, doc(limits={"runs_per_day": 2, "rows_per_day": 1000}))
    tz = world.settings.timezone
    at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    with world.db.session() as session:
        t = require(session, "welfare", "relief", "pipeline", ["street"])
        charge(session, t, "run:1", tz, runs=1, rows=400, at=at)
        charge(session, t, "run:2", tz, runs=1, rows=400, at=at)
    with world.db.session() as session, pytest.raises(ContractRefused, match="2 runs per day"):
        charge(session, t, "run:3", tz, runs=1, rows=1, at=at)
    next_day = at + timedelta(hours=1)  # past midnight in the platform's time zone
    with world.db.session() as session:
        with pytest.raises(ContractRefused, match="1,000 input rows per day"):
            charge(session, t, "run:4", tz, runs=1, rows=1001, at=next_day)
        charge(session, t, "run:5", tz, runs=1, rows=1000, at=next_day)
    with world.db.session() as session:
        assert [u.ref for u in session.scalars(select(ContractUsage).order_by(
            ContractUsage.id))] == ["run:1", "run:2", "run:5"]  # fmt: skip
    with world.db.session() as session, pytest.raises(ContractRefused, match="benefit"):
        require(session, "welfare", "relief", "pipeline", ["street", "benefit"])


def test_approved_grants_become_contracts_without_an_end_date(settings: Any) -> None:
    from alembic import command

    from hub.db import alembic_config, create_db_engine

    engine = create_db_engine(settings.metadata_url)
    command.upgrade(alembic_config(engine), "0003")  # the schema grants lived in
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organisations (id, name, created_at) VALUES "
                          "(1, 'civil-affairs', CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(text(
            "INSERT INTO datasets (id, name, kind, owner_id, source_format, source_uri, "
            "source_options, classification_status, created_by, created_at) VALUES "
            "(1, 'relief', 'source', 1, 'csv', '/x.csv', '{}', 'confirmed', 't', "
            "CURRENT_TIMESTAMP), (2, 'old', 'source', 1, 'csv', '/y.csv', '{}', "
            "'confirmed', 't', CURRENT_TIMESTAMP)"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO projects (id, name, description, created_by, "
                "created_at) VALUES (1, 'welfare', '', 't', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(text(
            "INSERT INTO grants (project_id, dataset_id, status, requested_by, requested_at, "
            "decided_by, decided_at) VALUES (1, 1, 'approved', 'dana', CURRENT_TIMESTAMP, "
            "'carol', CURRENT_TIMESTAMP), (1, 2, 'revoked', 'dana', CURRENT_TIMESTAMP, "
            "'carol', CURRENT_TIMESTAMP)"))  # fmt: skip
    engine.dispose()
    platform = Platform(settings)
    platform.init()  # migrates to the heads, then ledgers the migrated contracts
    try:
        (made,) = Contracts(platform).list()
        assert made["ref"] == "grant-welfare-relief" and made["origin"] == "grant"
        assert made["state"] == "active" and made["in_force"] and made["valid_until"] is None
        assert made["objects"] == [{"dataset": "relief", "columns": "*",
                                    "modes": ["sandbox", "pipeline"]}]  # fmt: skip
        assert made["versions"][0]["decisions"][0]["reviewer"] == "carol"
        Platform(settings).init()  # a second start ledgers nothing more
        assert actions(platform, "contract:grant-welfare-relief") == [
            ("contract.migrate", "platform-host")
        ]
        with platform.db.session() as session:
            t = terms(session, "welfare", "relief", "pipeline")
            assert t is not None and t.all_columns is True and t.until is None
    finally:
        platform.close()


def test_the_schema_downgrades_to_grants_and_back(world: Platform) -> None:
    from alembic import command

    from hub.db import alembic_config

    c = Contracts(world)
    activate(c, doc())
    c.import_document(doc(ref="HT-draft"), "olga")  # a draft: no grant comes of it
    cfg = alembic_config(world.db.engine)
    command.downgrade(cfg, "0003")
    with world.db.engine.connect() as conn:
        grants = conn.execute(text("SELECT status, decided_by FROM grants")).all()
    assert [tuple(g) for g in grants] == [("approved", "migration")]
    command.upgrade(cfg, "heads")
    back = Platform(world.settings)
    try:
        back.init()
        (made,) = Contracts(back).list()
        assert made["ref"] == "grant-welfare-relief" and made["in_force"]
    finally:
        back.close()
