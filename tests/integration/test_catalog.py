"""The catalog against real metadata databases (SQLite and PostgreSQL lanes), through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, create_engine, event, select, text

from hub.catalog import Catalog, Registration
from hub.errors import InvalidState
from hub.models import LedgerEntry
from hub.platform import Platform
from sandbox.demo import generate_people
from sandbox.validators import id_check_char


def ledger_actions(platform: Platform) -> list[str]:
    with platform.db.session() as s:
        return list(s.scalars(select(LedgerEntry.action).order_by(LedgerEntry.seq)))


@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    generate_people(path, rows=800, seed=11)
    return path


def chinese_rows(n: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        first17 = f"3301061985{(i % 12) + 1:02d}{(i % 27) + 1:02d}{i % 1000:03d}"
        rows.append(
            {
                "姓名": ["张伟", "王芳", "欧阳娜娜", "李强", "司马光"][i % 5],
                "公民身份号码": first17 + id_check_char(first17),
                "联系电话": f"+86 139-{i % 10000:04d}-{(i * 7) % 10000:04d}",
                "所属区县": ["西湖区", "上城区", "拱墅区"][i % 3],
                "月收入": str(5000 + i * 13),
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_register_show_classify_confirm_via_cli(cli, people_csv: Path) -> None:  # type: ignore[no-untyped-def]
    reg = cli(
        "dataset", "register", str(people_csv), "--name", "people", "--owner", "civil-affairs"
    )
    assert reg.returncode == 0, reg.stderr
    shown = json.loads(cli("dataset", "show", "people", "--format", "json").stdout)
    assert shown["owner"] == "civil-affairs"
    assert shown["classification_status"] == "proposed"
    assert len(shown["versions"]) == 1
    assert len(shown["versions"][0]["content_hash"]) == 64
    cols = {c["name"]: c for c in shown["columns"]}
    assert cols["id_number"]["pii"] == "id_card" and cols["id_number"]["level"] == "L4"
    assert cols["income"]["pii"] == "none"

    edit = cli("dataset", "classify", "people", "--column", "income", "--level", "L3", "--qi")
    assert edit.returncode == 0, edit.stderr
    assert cli("dataset", "confirm", "people").returncode == 0
    shown = json.loads(cli("dataset", "show", "people", "--format", "json").stdout)
    assert shown["classification_status"] == "confirmed"
    assert shown["confirmed_by"] == "tester"
    income = next(c for c in shown["columns"] if c["name"] == "income")
    assert income["level"] == "L3" and income["quasi_identifier"] is True
    assert income["proposed"]["level"] == "L1" or income["proposed"]["level"] == "L2"

    # Any later edit withdraws the confirmation until the owner confirms again.
    cli("dataset", "classify", "people", "--column", "district", "--pii", "none")
    shown = json.loads(cli("dataset", "show", "people", "--format", "json").stdout)
    assert shown["classification_status"] == "proposed"

    log = json.loads(cli("audit", "log", "--format", "json", "--limit", "50").stdout)
    assert [e["action"] for e in log] == [
        "org.create",
        "dataset.register",
        "dataset.classify",
        "dataset.confirm",
        "dataset.classify",
    ]
    assert cli("audit", "verify").returncode == 0


def test_chinese_headers_and_gb18030(platform: Platform, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "居民.csv", chinese_rows(300), encoding="gb18030")
    info = Catalog(platform).register(Registration(str(path)), "residents", "hz-civil")
    cols = {c["name"]: c for c in info["columns"]}
    assert list(cols) == ["姓名", "公民身份号码", "联系电话", "所属区县", "月收入"]
    assert cols["姓名"]["pii"] == "name"
    assert cols["公民身份号码"]["pii"] == "id_card"
    assert cols["联系电话"]["pii"] == "mobile"
    assert cols["所属区县"]["quasi_identifier"] is True
    assert cols["月收入"]["type"] == "integer"


def test_parquet_file_and_folder(platform: Platform, tmp_path: Path) -> None:
    rows = chinese_rows(120)
    table = pa.Table.from_pylist(rows)
    single = tmp_path / "one.parquet"
    pq.write_table(table, single)
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(table.slice(0, 60), folder / "part-0.parquet")
    pq.write_table(table.slice(60), folder / "part-1.parquet")
    catalog = Catalog(platform)
    a = catalog.register(Registration(str(single)), "one", "hz-civil")
    b = catalog.register(Registration(str(folder)), "parts", "hz-civil")
    assert a["versions"][0]["rows"] == 120 and b["versions"][0]["rows"] == 120
    assert a["source"]["format"] == b["source"]["format"] == "parquet"
    assert {c["name"]: c["pii"] for c in b["columns"]}["公民身份号码"] == "id_card"


def test_sql_table_source_probe_is_bounded(platform: Platform, tmp_path: Path, db_url: str) -> None:
    """A table behind a SQLAlchemy URL (the lane's own server), probed with a LIMIT."""
    src = create_engine(db_url)
    with src.begin() as conn:
        conn.execute(
            text("CREATE TABLE residents (id INTEGER PRIMARY KEY, 姓名 TEXT, 身份证 TEXT)")
        )
        for i, row in enumerate(chinese_rows(1500)):
            conn.execute(
                text("INSERT INTO residents VALUES (:i, :n, :c)"),
                {"i": i, "n": row["姓名"], "c": row["公民身份号码"]},
            )
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        info = Catalog(platform).register(
            Registration(db_url, table="residents"), "residents", "hz-civil"
        )
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert info["versions"][0]["rows"] == 1500
    assert {c["name"]: c["pii"] for c in info["columns"]}["身份证"] == "id_card"
    reads = [s for s in statements if "FROM residents" in s and "count" not in s.lower()]
    assert len(reads) == 2  # the bounded probe, then the one streaming pass for the hash
    assert "LIMIT" in reads[0].upper()
    assert "***" in info["source"]["uri"] or "@" not in info["source"]["uri"]
    src.dispose()


def test_refresh_records_a_new_version_only_on_change(platform: Platform, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "r.csv", chinese_rows(50))
    catalog = Catalog(platform)
    catalog.register(Registration(str(path)), "r", "hz-civil")
    catalog.confirm("r")
    assert catalog.refresh("r")["changed"] is False
    write_csv(path, chinese_rows(60))
    after = catalog.refresh("r")
    assert after["changed"] is True
    assert [v["number"] for v in after["versions"]] == [1, 2]
    assert after["classification_status"] == "confirmed"  # same columns: still confirmed
    rows = [{**r, "邮箱": f"u{i}@example.cn"} for i, r in enumerate(chinese_rows(60))]
    write_csv(path, rows)
    again = catalog.refresh("r")
    assert again["classification_status"] == "proposed"  # a new column needs review
    assert {c["name"]: c["pii"] for c in again["columns"]}["邮箱"] == "email"
    with pytest.raises(InvalidState, match="unconfirmed"):
        catalog.require_confirmed("r")


BAD_INPUTS = {
    "missing file": (["/no/such/file.csv"], "not found"),
    "duplicate name": (["{good}"], "already exists"),
    "malformed csv": (["{bad}"], "fields"),
    "empty csv": (["{empty}"], "empty"),
    "unknown format": (["{good}", "--format", "xml"], "Invalid value"),
    "sql without table": (["sqlite:///x.db", "--format", "sql"], "--table"),
    "unreachable sql": (["postgresql+psycopg://u:secret@127.0.0.1:1/x", "--table", "t"], "cannot"),
    "bad name": (["{good}", "--name", "9lives"], "invalid dataset name"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(
    case: str,
    cli,  # type: ignore[no-untyped-def]
    platform: Platform,
    tmp_path: Path,
) -> None:
    good = write_csv(tmp_path / "good.csv", chinese_rows(20))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert cli("dataset", "register", str(good), "--name", "taken", "--owner", "o").returncode == 0
    before = ledger_actions(platform)
    args, message = BAD_INPUTS[case]
    args = [a.format(good=good, bad=bad, empty=empty) for a in args]
    if "--name" not in args:
        args += ["--name", "taken" if case == "duplicate name" else "fresh"]
    result = cli("dataset", "register", *args, "--owner", "o")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert message in result.stderr
    assert len(lines) <= 3, result.stderr  # click usage errors carry a usage line
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr
    assert ledger_actions(platform) == before
    names = [d["name"] for d in json.loads(cli("dataset", "list", "--format", "json").stdout)]
    assert names == ["taken"]


def test_unknown_dataset_and_bad_classify(cli, platform: Platform, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = write_csv(tmp_path / "good.csv", chinese_rows(20))
    assert cli("dataset", "register", str(good), "--name", "d", "--owner", "o").returncode == 0
    before = ledger_actions(platform)
    for args, message in [
        (["dataset", "show", "nope"], "no dataset named"),
        (["dataset", "confirm", "nope"], "no dataset named"),
        (["dataset", "classify", "d", "--column", "zzz", "--pii", "name"], "no column"),
        (["dataset", "classify", "d", "--column", "姓名", "--pii", "dna"], "unknown PII type"),
        (["dataset", "classify", "d", "--column", "姓名", "--level", "L9"], "L1..L4"),
    ]:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
    assert ledger_actions(platform) == before


def test_unreachable_metadata_db_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://u:pw@127.0.0.1:1/x"
    result = cli("dataset", "list", env={"TRUSTLAB_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot reach the metadata DB")
    assert "pw" not in result.stderr.replace("psycopg", "")
    assert result.stderr.count("\n") == 1
