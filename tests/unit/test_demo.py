"""The synthetic population: valid identifiers, consistent rows, deterministic atomic output."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from sandbox import demo, validators
from sandbox.demo import PEOPLE_COLUMNS, REGIONS, generate_people

ROWS = 3_000
EXPECTED_COLUMNS = [
    "person_id",
    "name",
    "gender",
    "birth_date",
    "id_number",
    "mobile",
    "email",
    "bank_card",
    "address",
    "district",
    "plate",
    "income",
    "remark",
]
PROVINCE_PLATE = {
    "北京市": "京",
    "天津市": "津",
    "上海市": "沪",
    "重庆市": "渝",
    "江苏省": "苏",
    "浙江省": "浙",
    "福建省": "闽",
    "山东省": "鲁",
    "湖北省": "鄂",
    "湖南省": "湘",
    "广东省": "粤",
    "四川省": "川",
    "陕西省": "陕",
}
MOBILE_PREFIXES = {
    *(str(p) for p in range(130, 140)),
    *(str(p) for p in range(150, 160)),
    "166",
    *(str(p) for p in range(170, 179)),
    *(str(p) for p in range(180, 190)),
    "191",
    "198",
    "199",
}
IDENTIFIER_COLUMNS = ("id_number", "mobile", "email", "bank_card", "plate")


@pytest.fixture(scope="module")
def people_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "people.csv"
    assert generate_people(path, rows=ROWS) == ROWS
    return path


@pytest.fixture(scope="module")
def people(people_file: Path) -> list[dict[str, str]]:
    with people_file.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def region_prefix(code: str) -> str:
    province, city, district = REGIONS[code]
    return province + district if province == city else province + city + district


def test_header_and_columns(people_file: Path, people: list[dict[str, str]]) -> None:
    assert list(PEOPLE_COLUMNS) == EXPECTED_COLUMNS
    with people_file.open(encoding="utf-8", newline="") as f:
        records = list(csv.reader(f))
    assert records[0] == EXPECTED_COLUMNS
    assert len(records) == ROWS + 1
    assert all(len(record) == len(EXPECTED_COLUMNS) for record in records)
    assert [int(p["person_id"]) for p in people] == list(range(1, ROWS + 1))
    assert {p["gender"] for p in people} == {"男", "女"}
    # Fields with commas or quotes are quoted, and survive the round trip.
    assert any("," in p["remark"] for p in people)
    assert any('"' in p["remark"] for p in people)


def test_same_seed_is_byte_identical_other_seed_differs(tmp_path: Path, people_file: Path) -> None:
    again, other = tmp_path / "again.csv", tmp_path / "other.csv"
    generate_people(again, rows=ROWS)
    generate_people(other, rows=ROWS, seed=8)
    assert again.read_bytes() == people_file.read_bytes()
    assert other.read_bytes() != people_file.read_bytes()


def test_output_does_not_depend_on_progress_chunking(
    tmp_path: Path, people_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "PROGRESS_EVERY", 1_000)
    calls: list[int] = []
    path = tmp_path / "chunked.csv"
    assert generate_people(path, rows=ROWS, progress=calls.append) == ROWS
    assert calls == [1_000, 2_000, 3_000]
    assert path.read_bytes() == people_file.read_bytes()


def test_progress_reports_the_last_partial_chunk(tmp_path: Path) -> None:
    calls: list[int] = []
    generate_people(tmp_path / "p.csv", rows=2_500, progress=calls.append)
    assert calls == [2_500]


def test_id_numbers_are_valid_and_match_birth_date_and_gender(
    people: list[dict[str, str]],
) -> None:
    for p in people:
        id_number = p["id_number"]
        assert validators.is_resident_id(id_number), id_number
        assert id_number[:6] in REGIONS
        assert id_number[6:14] == p["birth_date"].replace("-", "")
        assert (int(id_number[16]) % 2 == 1) == (p["gender"] == "男"), id_number
        assert "1940-01-01" <= p["birth_date"] <= "2006-12-31"
        assert id_number[14:17] != "000"
    with_x = sum(p["id_number"].endswith("X") for p in people)
    assert 0.05 < with_x / ROWS < 0.13  # a GB 11643 check value of 10 occurs ~1/11 of the time
    assert len({p["id_number"][:6] for p in people}) > 30


def test_bank_cards_pass_luhn(people: list[dict[str, str]]) -> None:
    for p in people:
        card = p["bank_card"]
        assert validators.luhn_ok(card) and validators.is_bank_card(card), card
        assert len(card) in (16, 19) and card.startswith("62"), card
    assert {len(p["bank_card"]) for p in people} == {16, 19}


def test_mobiles_are_valid_and_some_are_formatted(people: list[dict[str, str]]) -> None:
    for p in people:
        normalized = validators.normalize_mobile(p["mobile"])
        assert normalized is not None, p["mobile"]
        assert normalized[:3] in MOBILE_PREFIXES, p["mobile"]
    mobiles = [p["mobile"] for p in people]
    plus86 = sum(m.startswith("+86 ") for m in mobiles)
    dashed = sum("-" in m for m in mobiles)
    spaced = sum(" " in m and not m.startswith("+86") for m in mobiles)
    assert plus86 and dashed and spaced
    assert 0.05 < (plus86 + dashed + spaced) / ROWS < 0.15
    assert sum(m.isdigit() and len(m) == 11 for m in mobiles) > 0.85 * ROWS


def test_emails_are_valid(people: list[dict[str, str]]) -> None:
    for p in people:
        assert validators.is_email(p["email"]), p["email"]
    assert len({p["email"].split("@")[1] for p in people}) >= 5


def test_plates_are_valid_and_match_the_address_province(people: list[dict[str, str]]) -> None:
    for p in people:
        plate = p["plate"]
        assert validators.is_plate(plate), plate
        assert plate[0] in validators.PLATE_PROVINCES
        assert "I" not in plate and "O" not in plate, plate
        province = next(name for name in PROVINCE_PLATE if p["address"].startswith(name))
        assert plate[0] == PROVINCE_PLATE[province], (plate, p["address"])
    new_energy = sum(len(p["plate"]) == 8 for p in people)
    assert 0.05 < new_energy / ROWS < 0.15
    assert all(len(p["plate"]) in (7, 8) for p in people)


def test_names_addresses_and_districts(people: list[dict[str, str]]) -> None:
    prefixes = {region_prefix(code): REGIONS[code][2] for code in REGIONS}
    in_id_region = 0
    for p in people:
        assert 2 <= len(p["name"]) <= 4, p["name"]
        prefix = next(pre for pre in prefixes if p["address"].startswith(pre))
        assert prefixes[prefix] == p["district"], p
        assert p["address"][len(prefix) :].count("号") == 1, p["address"]
        in_id_region += prefix == region_prefix(p["id_number"][:6])
    assert 0.75 < in_id_region / ROWS < 0.95
    compound = sum(p["name"][:2] in ("欧阳", "司马", "诸葛", "上官", "司徒") for p in people)
    assert 0.005 < compound / ROWS < 0.04


def test_income_is_plausible_and_depends_on_the_city(people: list[dict[str, str]]) -> None:
    incomes = [int(p["income"]) for p in people]
    assert min(incomes) >= 6_000 and max(incomes) < 2_000_000
    assert all(i % 100 == 0 for i in incomes)
    rich = [int(p["income"]) for p in people if p["address"].startswith(("北京市", "上海市"))]
    poorer = [int(p["income"]) for p in people if p["address"].startswith(("重庆市", "陕西省"))]
    assert statistics.median(rich) > 1.3 * statistics.median(poorer)


def test_some_remarks_embed_the_rows_own_identifiers(people: list[dict[str, str]]) -> None:
    embedding = 0
    kinds: set[str] = set()
    for p in people:
        found = validators.find_identifiers(p["remark"])
        if not found:
            continue
        embedding += 1
        kinds.update(found)
        own_values = [p[column] for column in IDENTIFIER_COLUMNS]
        for spans in found.values():
            for start, end in spans:
                text = p["remark"][start:end]
                assert any(text in value for value in own_values), (text, p)
    assert 0.2 < embedding / ROWS < 0.4  # some do, most do not
    assert kinds == {"id_card", "mobile", "email", "bank_card", "plate"}


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    generate_people(tmp_path / "people.csv", rows=100)
    assert [f.name for f in tmp_path.iterdir()] == ["people.csv"]


def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "PROGRESS_EVERY", 1_000)
    written: list[int] = []

    def fail_after_first_chunk(n: int) -> None:
        written.append(n)
        if n >= 2_000:
            raise RuntimeError("interrupted")

    path = tmp_path / "people.csv"
    with pytest.raises(RuntimeError, match="interrupted"):
        generate_people(path, rows=ROWS, progress=fail_after_first_chunk)
    assert written == [1_000, 2_000]
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("previous\n", encoding="utf-8")

    def fail(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_people(path, rows=10, progress=fail)
    assert path.read_text(encoding="utf-8") == "previous\n"
    assert [f.name for f in tmp_path.iterdir()] == ["people.csv"]


def test_rejects_negative_rows_and_writes_header_only_for_zero(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate_people(tmp_path / "bad.csv", rows=-1)
    assert not (tmp_path / "bad.csv").exists()
    assert generate_people(tmp_path / "empty.csv", rows=0) == 0
    assert (tmp_path / "empty.csv").read_text(encoding="utf-8") == ",".join(EXPECTED_COLUMNS) + "\n"
