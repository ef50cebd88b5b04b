"""Submit → scan → dry run → provider + operator approval, and every forbidden path,
on both metadata DB lanes, with the dry run on real Spark."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.catalog import Catalog, Registration
from hub.contracts import Contracts
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, PermissionDenied, Role
from hub.platform import Platform
from pipelines.dryrun import execute, judge
from pipelines.manifest import InvalidPipeline
from pipelines.models import PipelineVersion
from pipelines.review import Review

AGGREGATE = """
from pyspark.sql import functions as F

def run(ctx):
    people = ctx.read("people")
    ctx.write("by_district", people.groupBy("district").agg(
        F.count("*").alias("n"), F.avg("income").alias("avg_income")))
"""
RAW_ID = """
def run(ctx):
    ctx.write("by_district", ctx.read("people").select("id_number", "district"))
"""
TOML = """
name = "district_stats"
description = "people per district"
inputs = ["people"]
outputs = ["by_district"]

[expectations.by_district]
not_null = ["district"]
no_unmasked_pii = true
"""


def write_pipeline(folder: Path, code: str, toml: str = TOML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.toml").write_text(textwrap.dedent(toml))
    (folder / "main.py").write_text(textwrap.dedent(code))
    return folder


@pytest.fixture
def review(platform: Platform, tmp_path: Path) -> Review:
    csv = tmp_path / "people.csv"
    csv.write_text(
        "id_number,name,district,income\n"
        "110105199001011234,张三,西湖区,100\n110105199202021235,李四,滨江区,200\n"
    )
    catalog = Catalog(platform, "tester")
    catalog.register(Registration(str(csv)), "people", "civil-affairs")
    catalog.confirm("people")
    d = Directory(platform)
    d.add_user("dev", [Role("developer"), Role("operator")], None, "admin")
    d.add_user("carol", [Role("provider", "civil-affairs")], None, "admin")
    d.add_user("olga", [Role("operator")], None, "admin")
    catalog.register(Registration(str(csv)), "trips", "transport")
    d.add_user("tom", [Role("provider", "transport")], None, "admin")
    catalog.confirm("trips")
    d.create_project("lab", "", ["dev"], "admin")
    contracts = Contracts(platform)
    for dataset, owner in (("people", "carol"), ("trips", "tom")):
        ref = contracts.request("lab", dataset, "dev", ["sandbox", "pipeline"])["ref"]
        contracts.decide(ref, owner, True)
        assert contracts.decide(ref, "olga", True)["in_force"]
    return Review(platform)


@pytest.fixture
def sample_reader(spark, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The masked sample a dry run reads (as the runner container mounts it)."""
    path = str(tmp_path / "people-sample")
    spark.createDataFrame(
        [
            ("110105********1234", "张*", "西湖区", 100.0),
            ("110105********1235", "李*", "滨江区", 200.0),
        ],
        "id_number string, name string, district string, income double",
    ).write.parquet(path)

    def read(name: str):  # type: ignore[no-untyped-def]
        return spark.read.parquet(path), {"version": 1, "hash": "ab" * 32}

    read.path = path  # type: ignore[attr-defined]
    return read


def dry(review: Review, version: str, spark, reader, tmp_path: Path) -> dict:  # type: ignore[no-untyped-def]
    status = review.status(version)
    with review.platform.db.session() as session:
        snapshot = Path(session.get(PipelineVersion, status["version"]).snapshot)
    pii = {"people": {"id_number": "id_card", "name": "name"}}
    out = tmp_path / f"dry-{version[:8]}"
    report = execute(snapshot, spark, reader, out)  # step 1: the pipeline
    (out / "report.json").write_text(json.dumps(report, default=str))
    result = judge(out, status["manifest"], {"people": reader.path}, pii)  # step 2: verdict
    return review.record_dry_run(version, result, "dev")


def test_full_review_path(review: Review, spark, sample_reader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    status = review.submit(write_pipeline(tmp_path / "p", AGGREGATE), "dev", "lab")
    version = status["version"]
    assert status["state"] == "scanned" and not status["scan"]["blocked"]
    status = dry(review, version, spark, sample_reader, tmp_path)
    assert status["state"] == "in_review", status["dry_run"]["problems"]
    out = status["dry_run"]["outputs"]["by_district"]
    assert (
        out["lineage"]["n"]["sources"]
        == [
            ["people", "id_number"],
            ["people", "name"],
            ["people", "district"],
            ["people", "income"],
        ]
        or out["lineage"]["n"]["raw_sources"] == []
    )
    assert out["lineage"]["district"]["raw_sources"] == [["people", "district"]]
    assert all(c["success"] for c in out["expectations"]["checks"])
    assert [r["role"] for r in status["reviews"]] == ["provider", "operator"]

    with pytest.raises(PermissionDenied, match="submitter"):
        review.approve(version, "operator", "dev")  # dev is an operator, but submitted it
    with pytest.raises(PermissionDenied):
        review.approve(version, "provider", "tom")  # provider of another owner
    with pytest.raises(PermissionDenied):
        review.approve(version, "provider", "olga")  # an operator is not a provider
    status = review.approve(version, "provider", "carol")
    assert status["state"] == "in_review"  # one approval only: not approved
    assert review.is_approved(version) is False
    with pytest.raises(InvalidState, match="already decided"):
        review.approve(version, "provider", "carol")
    status = review.approve(version, "operator", "olga")
    assert status["state"] == "approved"
    assert review.is_approved(version) is True
    with pytest.raises(InvalidState, match="already approved"):
        review.reject(version, "olga", "changed my mind")

    # A changed folder is a new version: the approvals of the old hash do not carry over.
    changed = review.submit(write_pipeline(tmp_path / "p", AGGREGATE + "\n# tweak\n"), "dev", "lab")
    assert changed["version"] != version and changed["previous"] == version
    assert all(r["decision"] is None for r in changed["reviews"])
    assert review.is_approved(changed["version"]) is False
    assert "+# tweak" in review.diff(changed["version"])

    actions = _ledger_actions(review.platform)
    assert actions.count("pipeline.approve") == 2 and actions.count("pipeline.approved") == 1


def test_raw_id_output_fails_the_dry_run(
    review: Review, spark, sample_reader, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    version = review.submit(write_pipeline(tmp_path / "p", RAW_ID), "dev", "lab")["version"]
    status = dry(review, version, spark, sample_reader, tmp_path)
    assert status["state"] == "dry_run_failed"
    assert any(
        "by_district.id_number carries people.id_number" in p for p in status["dry_run"]["problems"]
    )
    with pytest.raises(InvalidState, match="dry run failed"):
        review.approve(version, "provider", "carol")


def test_rejection_needs_a_reason_and_is_final(
    review: Review, spark, sample_reader, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    version = review.submit(write_pipeline(tmp_path / "p", AGGREGATE), "dev", "lab")["version"]
    dry(review, version, spark, sample_reader, tmp_path)
    with pytest.raises(TrustlabError, match="reason"):
        review.reject(version, "carol", "  ")
    status = review.reject(version, "carol", "district-level income is not in the agreement")
    assert status["state"] == "rejected"
    with pytest.raises(InvalidState, match="rejected"):
        review.approve(version, "operator", "olga")


def test_blocked_scan_waiver_by_an_operator(review: Review, tmp_path: Path) -> None:
    code = AGGREGATE.replace(
        "def run(ctx):", "import os\nHOME = os.getenv('HOME')\n\ndef run(ctx):"
    )
    status = review.submit(write_pipeline(tmp_path / "p", code), "dev", "lab")
    version = status["version"]
    assert status["state"] == "blocked"
    finding = next(f for f in status["scan"]["findings"] if f["rule"] == "ENV001")
    with pytest.raises(InvalidState, match="scan blocked"):
        review.approve(version, "operator", "olga")
    with pytest.raises(PermissionDenied):
        review.waive(
            version, "ENV001", "main.py", finding["line"], "reads HOME only, no secrets", "carol"
        )
    with pytest.raises(PermissionDenied, match="submitter"):
        review.waive(
            version, "ENV001", "main.py", finding["line"], "reads HOME only, no secrets", "dev"
        )
    result = review.waive(
        version, "ENV001", "main.py", finding["line"], "reads HOME only, no secrets", "olga"
    )
    assert result["blocked"] is False
    assert review.status(version)["state"] == "scanned"
    assert "pipeline.waive" in _ledger_actions(review.platform)


def test_bad_input_changes_nothing(review: Review, tmp_path: Path) -> None:
    with pytest.raises(InvalidPipeline, match=r"no pipeline\.toml"):
        review.submit(tmp_path, "dev", "lab")
    broken = write_pipeline(tmp_path / "broken", "def run(ctx):\n    x = (\n")
    with pytest.raises(InvalidPipeline, match=r"main.py:\d+: syntax error"):
        review.submit(broken, "dev", "lab")
    no_run = write_pipeline(tmp_path / "norun", "def main(ctx):\n    pass\n")
    with pytest.raises(InvalidPipeline, match="run"):
        review.submit(no_run, "dev", "lab")
    unknown = write_pipeline(tmp_path / "unknown", AGGREGATE, TOML.replace('["people"]', '["tax"]'))
    with pytest.raises(NotFound, match="tax"):
        review.submit(unknown, "dev", "lab")
    with pytest.raises(NotFound):
        review.approve("deadbeefdeadbeef", "operator", "olga")
    with review.platform.db.session() as session:
        assert session.scalar(select(func.count()).select_from(PipelineVersion)) == 0
    assert not (review.store).exists() or not any(review.store.rglob("main.py"))


def _ledger_actions(platform: Platform) -> list[str]:
    from hub.models import LedgerEntry

    with platform.db.session() as session:
        return [e.action for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]
