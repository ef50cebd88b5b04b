"""Masking policy changes: the owner's reviewer writes them; a change to an L4 column
waits for an operator who did not make it; every step is ledgered with before and after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.catalog import Catalog, Registration
from hub.errors import InvalidState
from hub.models import LedgerEntry
from hub.platform import Platform
from hub.settings import Settings
from sandbox.masking import PolicyError
from sandbox.policy import Policies

CSV = "姓名,身份证号,诊断,备注\n" + "".join(
    f"张{'伟芳娜'[i % 3]}{i % 7},11010519850302{i % 10}23X,{'高血压' if i % 2 else '2型糖尿病'},无\n"
    for i in range(40)
)


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    p = Platform(Settings(home=tmp_path / "home"))
    p.init()
    (tmp_path / "visits.csv").write_text(CSV, encoding="utf-8")
    catalog = Catalog(p, "prov")
    catalog.register(Registration(str(tmp_path / "visits.csv")), "visits", "clinic")
    catalog.classify("visits", "身份证号", pii="id_card", level="L4")
    catalog.confirm("visits")
    yield p
    p.close()


def entries(p: Platform, action: str) -> list[dict]:
    with p.db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.action == action)).all()
        return [json.loads(r.payload) | {"actor": r.actor} for r in rows]


def test_the_diagnosis_is_l3_and_needs_a_decision(platform: Platform) -> None:
    info = Catalog(platform).show("visits")
    assert next(c for c in info["columns"] if c["name"] == "诊断")["level"] == "L3"
    v1, created = Policies(platform, "prov").ensure("visits")
    assert created and "诊断" not in v1.rules  # default deny: no rule is given for it
    v2 = Policies(platform, "prov").set_rule("visits", "诊断", "redact", {})
    assert v2.status == "active" and v2.rules["诊断"]["rule"] == "redact"
    [update] = entries(platform, "masking_policy.update")
    assert update["before"] is None and update["after"]["rule"] == "redact"
    with pytest.raises(PolicyError, match="default deny"):
        Policies(platform, "prov").unset("visits", "诊断")


def test_an_l4_change_waits_for_another_operator(platform: Platform) -> None:
    prov = Policies(platform, "prov")
    active, _ = prov.ensure("visits")
    pending = prov.set_rule("visits", "身份证号", "redact", {})
    assert pending.status == "pending"
    assert prov.current("visits").version == active.version  # builds keep the active one
    with pytest.raises(InvalidState, match="waits for an operator"):
        prov.set_rule("visits", "诊断", "drop", {})
    with pytest.raises(InvalidState, match="must not be the one who made it"):
        Policies(platform, "prov").decide("visits", True)
    with pytest.raises(PolicyError, match="needs a reason"):
        Policies(platform, "ops").decide("visits", False)
    approved = Policies(platform, "ops").decide("visits", True)
    assert approved.status == "active" and prov.current("visits").version == pending.version
    [decision] = entries(platform, "masking_policy.approve")
    assert decision["actor"] == "ops" and decision["before"]["rule"] == "id_keep6_4"
    assert decision["after"]["rule"] == "redact"
    with pytest.raises(InvalidState, match="no masking policy change"):
        Policies(platform, "ops").decide("visits", True)


def test_a_rejected_change_never_becomes_active(platform: Platform) -> None:
    prov = Policies(platform, "prov")
    active, _ = prov.ensure("visits")
    prov.set_rule("visits", "身份证号", "drop", {})
    rejected = Policies(platform, "ops").decide("visits", False, "the ID stays pseudonymous")
    assert rejected.status == "rejected"
    assert prov.current("visits").version == active.version and prov.pending("visits") is None
    assert entries(platform, "masking_policy.reject")[0]["reason"] == "the ID stays pseudonymous"


def test_the_floor_refuses_weakening_and_writes_nothing(platform: Platform) -> None:
    prov = Policies(platform, "prov")
    prov.ensure("visits")
    before = len(entries(platform, "masking_policy.update"))
    with pytest.raises(PolicyError, match="would copy it unmasked"):
        prov.set_rule("visits", "身份证号", "keep", {}, justification="we need the real IDs here")
    with pytest.raises(PolicyError, match="needs a justification"):
        prov.set_rule("visits", "诊断", "keep", {})
    with pytest.raises(PolicyError, match="has no column"):
        prov.set_rule("visits", "nope", "redact", {})
    assert len(entries(platform, "masking_policy.update")) == before
