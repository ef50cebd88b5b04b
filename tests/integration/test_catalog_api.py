"""The catalog's CLI through the platform API on a real hub (SQLite and PostgreSQL lanes):
register as an operator, classify and confirm as the owner's provider reviewer; bad input
is one line, exit 2, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_catalog import chinese_rows, write_csv

from sandbox.demo import generate_people

pytestmark = [pytest.mark.sandbox]


@pytest.fixture(scope="module")
def cat(api_platform: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    hub = api_platform
    hub.tmp = tmp_path_factory.mktemp(f"catalog-{hub.lane}")
    hub.add_user("cat-ops", "operator")
    hub.add_user("cat-aud", "auditor")
    first = write_csv(hub.tmp / "seed.csv", chinese_rows(20))
    done = hub.as_user("cat-ops", "dataset", "register", str(first), "--name", "cat_seed",
                       "--owner", "cat-civil")  # fmt: skip
    assert done.returncode == 0, done.stderr
    hub.add_user("cat-prov", "provider", org="cat-civil")
    return hub


def entries(hub: Any) -> list[dict[str, Any]]:
    out = hub.as_user("cat-aud", "audit", "log", "--format", "json", "--limit", "100000")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_register_show_classify_confirm_via_cli(cat: Any) -> None:
    path = cat.tmp / "people.csv"
    generate_people(path, rows=800, seed=11)
    reg = cat.as_user("cat-ops", "dataset", "register", str(path), "--name", "cat_people",
                      "--owner", "cat-civil")  # fmt: skip
    assert reg.returncode == 0, reg.stderr
    shown = json.loads(cat.as_user("cat-ops", "dataset", "show", "cat_people", "--format",
                                   "json").stdout)  # fmt: skip
    assert shown["owner"] == "cat-civil" and shown["classification_status"] == "proposed"
    assert len(shown["versions"]) == 1 and len(shown["versions"][0]["content_hash"]) == 64
    cols = {c["name"]: c for c in shown["columns"]}
    assert cols["id_number"]["pii"] == "id_card" and cols["id_number"]["level"] == "L4"
    assert cols["income"]["pii"] == "none"
    edit = ("dataset", "classify", "cat_people", "--column", "income", "--level", "L3", "--qi")
    refused = cat.as_user("cat-ops", *edit)  # the operator is not the data owner
    assert refused.returncode == 2 and "provider reviewer of 'cat-civil'" in refused.stderr
    assert cat.as_user("cat-prov", *edit).returncode == 0
    assert cat.as_user("cat-prov", "dataset", "confirm", "cat_people").returncode == 0
    shown = json.loads(cat.as_user("cat-prov", "dataset", "show", "cat_people", "--format",
                                   "json").stdout)  # fmt: skip
    assert shown["classification_status"] == "confirmed" and shown["confirmed_by"] == "cat-prov"
    income = next(c for c in shown["columns"] if c["name"] == "income")
    assert income["level"] == "L3" and income["quasi_identifier"] is True
    # Any later edit withdraws the confirmation until the owner confirms again.
    cat.as_user("cat-prov", "dataset", "classify", "cat_people", "--column", "district",
                "--pii", "none")  # fmt: skip
    shown = json.loads(cat.as_user("cat-prov", "dataset", "show", "cat_people", "--format",
                                   "json").stdout)  # fmt: skip
    assert shown["classification_status"] == "proposed"
    mine = [(e["actor"], e["action"]) for e in entries(cat) if e["subject"] == "dataset:cat_people"]
    assert mine == [("cat-ops", "dataset.register"), ("cat-prov", "dataset.classify"),
                    ("cat-prov", "dataset.confirm"), ("cat-prov", "dataset.classify")]  # fmt: skip
    assert cat.as_user("cat-aud", "audit", "verify").returncode == 0


BAD_INPUTS = {
    "missing file": (["{missing}"], "not found"),
    "outside the ingest folders": (["/etc/passwd", "--format", "csv"], "outside the folders"),
    "sql host not allowed": (
        ["postgresql+psycopg://u:secret@db.example:5432/x", "--table", "t"],
        "TRUSTLAB_SOURCE_HOSTS",
    ),
    "duplicate name": (["{good}"], "already exists"),
    "malformed csv": (["{bad}"], "fields"),
    "empty csv": (["{empty}"], "empty"),
    "unknown format": (["{good}", "--format", "xml"], "Invalid value"),
    "sql without table": (["sqlite:///x.db", "--format", "sql"], "--table"),
    "unreachable sql": (["postgresql+psycopg://u:secret@127.0.0.1:1/x", "--table", "t"], "cannot"),
    "bad name": (["{good}", "--name", "9lives"], "invalid dataset name"),
}


REFUSED = {"outside the ingest folders", "sql host not allowed"}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(cat: Any, case: str, tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", chinese_rows(20))
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n4,5\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    before = len(entries(cat))
    args, message = BAD_INPUTS[case]
    args = [
        a.format(good=good, bad=bad, empty=empty, missing=tmp_path / "missing.csv") for a in args
    ]
    if "--name" not in args:
        args += ["--name", "cat_seed" if case == "duplicate name" else "cat_fresh"]
    result = cat.as_user("cat-ops", "dataset", "register", *args, "--owner", "cat-civil")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert message in result.stderr
    assert len(lines) <= 4, result.stderr  # a progress line; click usage errors carry a usage line
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
    written = entries(cat)[before:]
    if case in REFUSED:  # a refused read of the host is a security event: ledgered, alone
        assert [(e["action"], e["actor"]) for e in written] == [("access.refused", "cat-ops")]
    else:
        assert written == []
    names = [d["name"] for d in cat.client("cat-ops").get("/datasets")]
    assert "cat_fresh" not in names


def test_unknown_dataset_and_bad_classify(cat: Any) -> None:
    before = len(entries(cat))
    for args, message in [
        (["dataset", "show", "nope"], "no dataset named"),
        (["dataset", "confirm", "nope"], "no dataset named"),
        (["dataset", "classify", "cat_seed", "--column", "zzz", "--pii", "name"], "no column"),
        (["dataset", "classify", "cat_seed", "--column", "姓名", "--pii", "dna"], "unknown PII"),
        (["dataset", "classify", "cat_seed", "--column", "姓名", "--level", "L9"], "L1..L4"),
    ]:
        result = cat.as_user("cat-prov", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
        assert result.stderr.count("\n") == 1
    assert len(entries(cat)) == before
