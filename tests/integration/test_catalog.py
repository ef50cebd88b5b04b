"""The catalog against real metadata databases (SQLite and PostgreSQL lanes); its CLI
through the platform API is in test_catalog_api.py."""

from __future__ import annotations

import csv
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


def test_chinese_headers_and_gb18030(platform: Platform, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "居民.csv", chinese_rows(300), encoding="gb18030")
    info = Catalog(platform, "tester").register(Registration(str(path)), "residents", "hz-civil")
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
    catalog = Catalog(platform, "tester")
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
        info = Catalog(platform, "tester").register(
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
    catalog = Catalog(platform, "tester")
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


def test_unreachable_metadata_db_is_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    url = "postgresql+psycopg://u:pw@127.0.0.1:1/x"
    result = cli("init", env={"TRUSTLAB_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot reach the metadata DB")
    assert "pw" not in result.stderr.replace("psycopg", "")
    assert result.stderr.count("\n") == 1
