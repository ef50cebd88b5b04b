"""Pure source-reading logic: type inference, encodings, delimiters, malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import InvalidSource
from hub.sources import CsvSource, infer_text_type, open_source


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "-2", None, "300"], "integer"),
        (["1.5", "2", "3e4"], "decimal"),
        (["007", "008"], "string"),  # leading zeros are codes, not numbers
        (["6222021234567890128"], "string"),  # 19 digits: beyond int64, keep exact text
        (["true", "False"], "boolean"),
        (["2024-02-29", "1990/1/2"], "date"),
        (["2023-02-30"], "string"),  # not a real date
        (["2024-01-01T10:00:00Z", "2024-01-01 10:00"], "timestamp"),
        ([None, "  "], "string"),
        (["1", "x"], "string"),
    ],
)
def test_infer_text_type(values: list[str | None], expected: str) -> None:
    assert infer_text_type(values) == expected


def test_csv_detects_gb18030_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("姓名;城市\n张三;杭州\n李四;上海\n".encode("gb18030"))
    source = CsvSource(path)
    assert source.encoding == "gb18030" and source.delimiter == ";"
    probe = source.probe(10)
    assert [c.name for c in probe.columns] == ["姓名", "城市"]
    assert probe.values["城市"] == ["杭州", "上海"]


def test_csv_bom_and_probe_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(
        "\ufeffid,v\n" + "".join(f"{i},{i * 2}\n" for i in range(5000)), encoding="utf-8"
    )
    probe = CsvSource(path).probe(100)
    assert [c.name for c in probe.columns] == ["id", "v"]
    assert len(probe.values["id"]) == 100


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n1,2,3\n", "line 2 has 3 fields"),
        ("a,,c\n1,2,3\n", "have no name"),
        ("a,a\n1,2\n", "duplicate column"),
        ("", "empty"),
        ('a,b\n"unterminated,2\n', "not well-formed|fields"),
    ],
)
def test_malformed_csv(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InvalidSource, match=message):
        open_source(str(path)).probe(100)


def test_wrong_encoding_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("名字\n张三\n".encode("gb18030"))
    with pytest.raises(InvalidSource, match="--encoding"):
        CsvSource(path, encoding="utf-8").probe(10)


def test_format_guessing(tmp_path: Path) -> None:
    with pytest.raises(InvalidSource, match="not found"):
        open_source(str(tmp_path / "missing.csv"))
    odd = tmp_path / "data.bin"
    odd.write_bytes(b"\x00\x01")
    with pytest.raises(InvalidSource, match="--format"):
        open_source(str(odd))
    with pytest.raises(InvalidSource, match="--table"):
        open_source("postgresql://h/db")


def test_csv_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    first = CsvSource(path).fingerprint("sha256")
    assert CsvSource(path).fingerprint("sha256") == first
    assert CsvSource(path).fingerprint("sm3").content_hash != first.content_hash
    path.write_text("a\n2\n")
    assert CsvSource(path).fingerprint("sha256").content_hash != first.content_hash
