"""Sample builds on real Spark: publish, the leak gate, bad input, strategies, the runtime API."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from hub.catalog import Catalog, Registration
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.models import LedgerEntry
from hub.platform import Platform
from hub.settings import Settings
from sandbox.builder import BuildRequest, LeakDetected, SampleBuilder
from sandbox.cli import ensure_demo
from sandbox.masking import PolicyError
from sandbox.models import SampleBuild
from sandbox.policy import Policies
from sandbox.runtime import available, load
from sandbox.validators import is_mobile, is_resident_id

ROWS = 3000


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("samples-home")


@pytest.fixture(scope="module")
def platform(home: Path, spark) -> Iterator[Platform]:  # type: ignore[no-untyped-def]
    settings = Settings(home=home, sample_rows=400, spark_master="local[2]")
    p = Platform(settings)
    p.init()
    ensure_demo(p, rows=ROWS, seed=3, echo=lambda _: None)
    # k = 5 (the default floor) over gender, birth decade and district would suppress most
    # of a 500-row sample of 3,000 residents; the owner declares district not identifying.
    catalog = Catalog(p, "tester")
    catalog.classify("people", "district", quasi_identifier=False)
    catalog.confirm("people")
    yield p
    p.close()


@pytest.fixture(scope="module")
def built(platform: Platform):  # type: ignore[no-untyped-def]
    return SampleBuilder(platform, actor="tester").build(BuildRequest("people", rows=500, seed=1))


def actions(platform: Platform) -> list[str]:
    with platform.db.session() as s:
        return list(s.scalars(select(LedgerEntry.action).order_by(LedgerEntry.seq)))


def source_rows(platform: Platform) -> list[dict[str, str]]:
    path = Catalog(platform, "tester").registration("people").location
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_build_publishes_a_masked_sample(platform: Platform, built) -> None:  # type: ignore[no-untyped-def]
    assert built.status == "published"
    assert built.sample_dataset == "people.sample" and built.version == 1
    assert built.rows == 500 and built.source_rows == ROWS
    assert built.gate.passed and built.gate.leaks == []
    assert built.quasi_identifiers == ["gender", "birth_date"]
    assert built.k_anonymity is not None and built.k_anonymity >= 5  # the default floor
    sample = pd.read_parquet(built.location)
    assert len(sample) == 500
    assert not any(is_resident_id(v) for v in sample["id_number"])
    assert not any(is_mobile(v) for v in sample["mobile"])
    raw_ids = {r["id_number"] for r in source_rows(platform)}
    assert raw_ids.isdisjoint(set(sample["id_number"]))
    assert all(v.endswith("****") for v in sample["address"])
    # The catalog holds it as a version of the sample dataset, linked to its source.
    info = Catalog(platform, "tester").show("people.sample")
    assert info["kind"] == "sample" and info["sample_of"] == "people"
    assert info["versions"][0]["content_hash"] == built.content_hash
    assert Path(built.location, "_trustlab", "gate.json").exists()


def test_publication_is_ledgered_with_its_inputs(platform: Platform, built) -> None:  # type: ignore[no-untyped-def]
    with platform.db.session() as s:
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.action == "sample.publish")).one()
        build = s.scalars(select(SampleBuild).where(SampleBuild.status == "published")).first()
    payload = json.loads(entry.payload)
    people = Catalog(platform, "tester").show("people")
    policy = Policies(platform, "tester").current("people")
    assert payload["dataset_hash"] == people["versions"][-1]["content_hash"]
    assert payload["policy_hash"] == policy.policy_hash
    assert payload["sample_hash"] == built.content_hash
    assert payload["gate"]["passed"] is True
    stored = json.loads(build.gate_result)
    assert stored["validation_result"]["success"] is True
    assert stored["suite"]["expectations"]
    # The stored validation result carries counts, never cell values.
    assert "partial_unexpected_list" not in json.dumps(stored)


def test_runtime_loads_only_the_sample(platform: Platform, built) -> None:  # type: ignore[no-untyped-def]
    df = load("people", engine="pandas", platform=platform)
    assert len(df) == 500 and set(df["id_number"]) == set(
        pd.read_parquet(built.location)["id_number"]
    )
    spark_df = load("people", platform=platform)
    assert spark_df.count() == 500
    with pytest.raises(NotFound, match="no published sample"):
        load("nothing", platform=platform)
    assert "people" in available(platform)


def test_runtime_manifest_resolver(tmp_path: Path, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"datasets": {"people": {
        "path": built.location, "hash": built.content_hash, "version": 1}}}))  # fmt: skip
    monkeypatch.setenv("TRUSTLAB_SAMPLES_MANIFEST", str(manifest))
    assert len(load("people", engine="pandas")) == 500
    assert available() == ["people"]
    with pytest.raises(NotFound, match="mounted: people"):
        load("tax", engine="pandas")


def inject(built, tmp_path: Path, column: str, value: str) -> Path:  # type: ignore[no-untyped-def]
    df = pd.read_parquet(built.location)
    df.loc[17, column] = value
    out = tmp_path / "tampered.parquet"
    df.to_parquet(out)
    return out


def test_check_passes_on_the_published_sample(cli_home, built) -> None:  # type: ignore[no-untyped-def]
    result = cli_home("sample", "check", built.location, "--dataset", "people")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


@pytest.fixture(scope="module")
def cli_home(platform: Platform):  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLAB_")}
    env.update(TRUSTLAB_HOME=str(platform.settings.home),
               TRUSTLAB_SPARK_MASTER="local[2]", COLUMNS="200")  # fmt: skip
    exe = str(Path(sys.executable).with_name("trustlab"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=600)

    return run


def test_injected_raw_value_fails_the_gate_naming_it(platform, built, tmp_path, cli_home) -> None:  # type: ignore[no-untyped-def]
    raw = source_rows(platform)
    raw_name = next(r["name"] for r in raw if len(r["name"]) == 3)
    tampered = inject(built, tmp_path, "name", raw_name)
    result = cli_home("sample", "check", str(tampered), "--dataset", "people", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert not report["passed"]
    leak = next(x for x in report["leaks"] if x["kind"] == "raw_source_value")
    assert leak["column"] == "name" and leak["detail"] == "name" and leak["count"] == 1
    assert leak["examples"] == [raw_name[0] + "**"]  # shown masked
    assert raw_name not in result.stdout  # the report itself never leaks


def test_injected_identifier_in_text_is_found_and_masked_in_the_report(
    platform, built, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from sandbox.gate import check_path

    raw_id = source_rows(platform)[5]["id_number"]
    tampered = inject(built, tmp_path, "remark", f"复核身份证{raw_id}无误")
    report = check_path(platform, tampered, "people")
    assert not report.passed
    kinds = {(x.kind, x.column, x.detail) for x in report.leaks}
    assert ("unmasked_identifier", "remark", "id_card") in kinds
    assert raw_id not in json.dumps(report.to_json(), ensure_ascii=False)


def test_a_failed_gate_publishes_nothing(platform: Platform, built, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from sandbox import masking

    # A broken rule implementation that lets mobiles through unmasked.
    monkeypatch.setattr(masking.MobileKeep3Last4, "spark", lambda self, c, t: c)
    before = Catalog(platform, "tester").show("people.sample")["versions"]
    samples_zone = Path(platform.settings.zone("samples")) / "people"
    folders = set(samples_zone.iterdir())
    with pytest.raises(LeakDetected) as caught:
        SampleBuilder(platform, actor="tester").build(BuildRequest("people", rows=300, seed=2))
    assert any(x.column == "mobile" for x in caught.value.report.leaks)
    assert Catalog(platform, "tester").show("people.sample")["versions"] == before
    assert set(samples_zone.iterdir()) == folders
    assert actions(platform)[-1] == "sample.reject"
    staging = Path(platform.settings.zone("samples")) / ".staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_stratified_sampling_keeps_proportions(platform: Platform, tmp_path: Path) -> None:
    result = SampleBuilder(platform, actor="tester").build(
        BuildRequest(
            "people", rows=600, strategy="stratified", by="district", seed=4, out=tmp_path / "strat"
        )
    )
    assert result.status == "exported" and result.rows == 600
    sample = pd.read_parquet(result.location)["district"].value_counts()
    population = pd.Series([r["district"] for r in source_rows(platform)]).value_counts()
    for district, count in population.items():
        assert abs(sample.get(district, 0) - 600 * count / ROWS) <= 1, district


def test_min_k_suppresses_small_classes(platform: Platform, tmp_path: Path) -> None:
    result = SampleBuilder(platform, actor="tester").build(
        BuildRequest("people", rows=800, seed=5, min_k=55, out=tmp_path / "k")
    )
    assert result.k_anonymity is not None and result.k_anonymity >= 55
    assert result.suppressed_rows > 0
    assert result.rows == 800 - result.suppressed_rows
    df = pd.read_parquet(result.location)
    assert df.groupby(["gender", "birth_date"]).size().min() >= 55


def test_k_anonymity_floor_and_too_much_suppression_refuse(
    platform: Platform, tmp_path: Path
) -> None:
    builder = SampleBuilder(platform, actor="tester")
    before = actions(platform)
    with pytest.raises(TrustlabError, match="below the platform's k-anonymity floor of 5"):
        builder.build(BuildRequest("people", rows=200, min_k=3, out=tmp_path / "low"))
    with pytest.raises(TrustlabError, match=r"would suppress .* of 50 rows"):
        builder.build(BuildRequest("people", rows=50, min_k=40, out=tmp_path / "many"))
    assert actions(platform) == before
    assert not (tmp_path / "many").exists() or not any((tmp_path / "many").iterdir())


def test_bad_requests(platform: Platform, tmp_path: Path) -> None:
    builder = SampleBuilder(platform, actor="tester")
    with pytest.raises(NotFound):
        builder.build(BuildRequest("nope"))
    with pytest.raises(TrustlabError, match="fewer than --rows"):
        builder.build(BuildRequest("people", rows=ROWS + 1))
    with pytest.raises(TrustlabError, match="stratify"):
        builder.build(BuildRequest("people", strategy="stratified", by="nope"))
    with pytest.raises(InvalidState, match="already a sample"):
        builder.build(BuildRequest("people.sample"))


@pytest.fixture
def second_dataset(platform: Platform, tmp_path: Path) -> str:
    path = tmp_path / "contacts.csv"
    rows = source_rows(platform)[:200]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["联系人", "手机号", "备注"])
        writer.writerows([r["name"], r["mobile"], "无"] for r in rows)
    name = f"contacts_{tmp_path.name[-6:]}"
    Catalog(platform, "tester").register(Registration(str(path)), name, "hz-civil")
    return name


def test_unconfirmed_classification_refuses(platform: Platform, second_dataset: str) -> None:
    with pytest.raises(InvalidState, match="unconfirmed"):
        SampleBuilder(platform, actor="tester").build(BuildRequest(second_dataset))


def test_pii_column_without_rule_refuses(platform: Platform, second_dataset: str) -> None:
    catalog = Catalog(platform, "tester")
    catalog.classify(second_dataset, "备注", pii="none")
    catalog.confirm(second_dataset)
    Policies(platform, "tester").ensure(second_dataset)  # v1: 备注 is not PII, so it is kept as is
    catalog.classify(second_dataset, "备注", pii="address", level="L3")
    catalog.confirm(second_dataset)
    before = actions(platform)
    with pytest.raises(PolicyError, match="classified as address"):
        SampleBuilder(platform, actor="tester").build(BuildRequest(second_dataset))
    with pytest.raises(PolicyError, match="'keep' would copy"):
        Policies(platform, "tester").set_rule(second_dataset, "备注", "keep", {})
    with pytest.raises(
        PolicyError, match="classified as mobile but the masking policy has no rule"
    ):
        Policies(platform, "tester").unset(second_dataset, "手机号")
    assert actions(platform) == before


def test_policy_naming_a_missing_column_refuses(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("city,phone\n杭州,13812345678\n上海,13912345678\n", encoding="utf-8")
    catalog = Catalog(platform, "tester")
    name = f"two_{tmp_path.name[-6:]}"
    catalog.register(Registration(str(path)), name, "o")
    catalog.confirm(name)
    Policies(platform, "tester").ensure(name)
    path.write_text("city\n杭州\n上海\n", encoding="utf-8")
    catalog.refresh(name)
    catalog.confirm(name)
    with pytest.raises(PolicyError, match="does not have"):
        SampleBuilder(platform, actor="tester").build(BuildRequest(name, rows=1))


def test_sql_table_source(platform: Platform, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'src.db'}"
    engine = create_engine(url)
    rows = source_rows(platform)[:300]
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE residents (id INTEGER PRIMARY KEY, 姓名 TEXT, 身份证号 TEXT, 收入 INTEGER)"
            )
        )
        for i, r in enumerate(rows):
            conn.execute(text("INSERT INTO residents VALUES (:i, :n, :c, :m)"),
                         {"i": i, "n": r["name"], "c": r["id_number"], "m": int(r["income"])})  # fmt: skip
    engine.dispose()
    catalog = Catalog(platform, "tester")
    name = f"residents_{tmp_path.name[-6:]}"
    catalog.register(Registration(url, table="residents"), name, "hz-civil")
    catalog.confirm(name)
    builder = SampleBuilder(platform, actor="tester")
    # 收入 is income: PIPL sensitive (financial), L3; default deny until its owner decides.
    with pytest.raises(PolicyError, match="'收入' is classified as L3"):
        builder.build(BuildRequest(name, rows=100, seed=1))
    with pytest.raises(PolicyError, match="needs a justification"):
        Policies(platform, "tester").set_rule(name, "收入", "keep", {})
    Policies(platform, "tester").set_rule(
        name, "收入", "keep", {}, justification="exact incomes are what the tax model is tested on"
    )
    result = builder.build(BuildRequest(name, rows=100, seed=1))
    assert result.gate.passed and result.rows == 100
    df = pd.read_parquet(result.location)
    assert not any(is_resident_id(v) for v in df["身份证号"])
    assert df["收入"].dtype.kind == "i"


def test_synthetic_sample_has_the_schema_and_no_real_value(
    platform: Platform, tmp_path: Path
) -> None:
    from sandbox.validators import is_bank_card

    result = SampleBuilder(platform, actor="tester").build(
        BuildRequest("people", rows=400, seed=9, out=tmp_path / "syn", synthetic=True)
    )
    assert result.gate.passed and result.mode == "synthetic"
    assert result.rows + result.suppressed_rows == 400
    df = pd.read_parquet(result.location)
    source = pd.DataFrame(source_rows(platform))
    assert list(df.columns) == list(source.columns)
    for column in ("name", "id_number", "mobile", "bank_card", "email", "plate", "address"):
        assert not set(df[column].dropna()) & set(source[column]), column
    assert not any(is_resident_id(v) for v in df["id_number"].dropna())  # wrong check digits
    assert not any(is_bank_card(v) for v in df["bank_card"].dropna())  # Luhn fails
    assert all(len(v) == 18 for v in df["id_number"].dropna())
    assert all(is_mobile(v) for v in df["mobile"].dropna())  # valid-looking, not real
    assert set(df["district"].dropna()) <= set(source["district"])  # frequent values only
    income = df["income"].dropna().astype(float)
    real = source["income"].astype(float)
    assert real.quantile(0.1) <= income.median() <= real.quantile(0.9)
    with platform.db.session() as s:
        build = s.scalars(select(SampleBuild).order_by(SampleBuild.id.desc())).first()
        assert build is not None and build.strategy == "synthetic"


def test_synthetic_sample_of_an_empty_dataset_refuses(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("city,phone\n", encoding="utf-8")
    catalog = Catalog(platform, "tester")
    catalog.register(Registration(str(path)), "empty_syn", "hz-civil")
    catalog.confirm("empty_syn")
    before = actions(platform)
    with pytest.raises(TrustlabError, match="has no rows: a synthetic sample"):
        SampleBuilder(platform, actor="tester").build(
            BuildRequest("empty_syn", synthetic=True, out=tmp_path / "o")
        )
    assert actions(platform) == before  # not even a first policy version is written


def test_free_text_faults_refuse_or_pass_cleanly(platform: Platform, tmp_path: Path) -> None:
    catalog = Catalog(platform, "tester")
    huge = tmp_path / "huge.csv"
    huge.write_text("city,备注\n" + "".join(
        f"杭州,{'本人张三来电' * (12000 if i == 0 else 1)}\n" for i in range(30)
    ), encoding="utf-8")  # fmt: skip
    catalog.register(Registration(str(huge)), "huge_notes", "hz-civil")
    catalog.classify("huge_notes", "备注", pii="free_text", level="L3")
    catalog.confirm("huge_notes")
    before = actions(platform)
    with pytest.raises(TrustlabError, match="holds cells of 72,000 characters"):
        SampleBuilder(platform, actor="tester").build(
            BuildRequest("huge_notes", all_rows=True, out=tmp_path / "h")
        )
    assert actions(platform) == before
    empty = tmp_path / "empty_notes.csv"
    empty.write_text("city,备注\n" + "杭州,\n" * 30, encoding="utf-8")
    catalog.register(Registration(str(empty)), "empty_notes", "hz-civil")
    catalog.classify("empty_notes", "备注", pii="free_text", level="L3")
    catalog.confirm("empty_notes")
    result = SampleBuilder(platform, actor="tester").build(
        BuildRequest("empty_notes", all_rows=True, out=tmp_path / "e")
    )
    assert result.gate.passed and pd.read_parquet(result.location)["备注"].isna().all()
