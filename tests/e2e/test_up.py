"""`trustlab up` from an empty home, exactly as `make up` runs it (100,000 demo rows, then
a published 10,000-row masked sample on real Spark)."""

from __future__ import annotations

import json

from sandbox.cli import DEMO_TRUTH


def test_up_from_empty_home_registers_confirmed_people(cli) -> None:  # type: ignore[no-untyped-def]
    first = cli("up")
    assert first.returncode == 0, first.stderr
    assert "people" in first.stdout and "confirmed" in first.stdout
    assert "published people.sample v1: 10,000 masked rows, leak gate passed" in first.stdout
    # The classifier proposed every PII column right by itself: the demo corrected nothing.
    assert "correcting proposal" not in first.stdout

    info = json.loads(cli("dataset", "show", "people", "--format", "json").stdout)
    assert info["owner"] == "civil-affairs"
    assert info["versions"][0]["rows"] is None  # CSV: no full parse at registration
    proposed = {c["name"]: (c["proposed"]["pii"], c["proposed"]["level"]) for c in info["columns"]}
    for column, (pii, level) in DEMO_TRUTH.items():
        assert proposed[column] == (pii, f"L{level}"), column
    non_pii = {c for c in proposed if c not in DEMO_TRUTH}
    assert non_pii == {"person_id", "gender", "district", "income"}
    assert all(proposed[c][0] == "none" for c in non_pii)
    quasi = {c["name"] for c in info["columns"] if c["quasi_identifier"]}
    assert {"gender", "district", "birth_date"} <= quasi

    # Idempotent: a second `up` regenerates and records nothing new.
    before = json.loads(cli("audit", "log", "--format", "json", "--limit", "1000").stdout)
    again = cli("up")
    assert again.returncode == 0, again.stderr
    assert "generated" not in again.stdout
    assert "already published" in again.stdout
    after = json.loads(cli("audit", "log", "--format", "json", "--limit", "1000").stdout)
    assert after == before
    assert [e["action"] for e in after] == [
        "org.create",
        "dataset.register",
        "dataset.confirm",
        "masking_policy.create",
        "sample.publish",
    ]
    assert cli("audit", "verify").returncode == 0
