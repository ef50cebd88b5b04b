"""The API builder's CLI through the platform API on a real hub (SQLite and PostgreSQL
lanes): serve, define, review, publish, an application with a key and a contract, calls
through the hub-managed gateway, usage and monitoring, and metering digests checked by
``trustlab audit verify`` — each step as the hub user whose role it needs, and refused for
one who lacks it (exit 2, one line)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from apis_world import OWNER, PRODUCT, add_product_version, app_contract, rows, wizard
from sqlalchemy import update

from apis.models import ApiCall
from hub.platform import Platform

pytestmark = [pytest.mark.sandbox]
API = "household-income"


def ok(done: Any) -> Any:
    assert done.returncode == 0, done.stderr
    return done


def refused(done: Any, words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def as_json(done: Any) -> Any:
    return json.loads(ok(done).stdout)


def test_the_api_lifecycle_and_its_evidence_through_the_cli(
    api_platform: Any, tmp_path: Any
) -> None:
    hub = api_platform
    platform = Platform(hub.settings)
    try:
        add_product_version(platform, rows(120), "a1")  # as production registers a product
    finally:
        platform.close()
    for name, role in (("ap-ops", "operator"), ("ap-ops2", "operator"), ("ap-dev", "developer"),
                       ("ap-aud", "auditor")):  # fmt: skip
        hub.add_user(name, role)
    hub.add_user("ap-prov", "provider", org=OWNER)
    ok(hub.as_user(hub.ADMIN, "project", "create", "ap-proj", "--member", "ap-dev"))

    refused(hub.as_user("ap-dev", "api", "serve-product", PRODUCT), "operator")
    ok(hub.as_user("ap-ops", "api", "serve-product", PRODUCT))
    (tmp_path / "api.json").write_text(json.dumps(wizard(), ensure_ascii=False))
    made = as_json(hub.as_user("ap-dev", "api", "create", str(tmp_path / "api.json"),
                               "--project", "ap-proj", "--format", "json"))  # fmt: skip
    assert made["state"] == "draft" and made["providers"] == [OWNER]  # it returns PII
    ok(hub.as_user("ap-dev", "api", "submit", API))
    refused(hub.as_user("ap-dev", "api", "approve", API, "1", "--as", "operator"), "ap-dev")
    ok(hub.as_user("ap-ops", "api", "approve", API, "1", "--as", "operator"))
    refused(hub.as_user("ap-ops", "api", "publish", API, "1"), "must be approved")
    ok(hub.as_user("ap-prov", "api", "approve", API, "1", "--as", "provider"))
    published = as_json(hub.as_user("ap-ops", "api", "publish", API, "1", "--format", "json"))
    assert published["state"] == "published"

    # an organisation without data, for a registered API's provider
    refused(hub.as_user("ap-dev", "org", "create", "ap-weather"), "operator")
    ok(hub.as_user("ap-ops", "org", "create", "ap-weather"))
    assert "ap-weather" in {o["name"] for o in as_json(hub.as_user("ap-aud", "org", "list",
                                                                   "--format", "json"))}  # fmt: skip
    refused(hub.as_user("ap-ops", "org", "create", "ap-weather"), "exists")

    # a consumer application, its key (shown once) and its contract
    refused(hub.as_user("ap-dev", "app", "create", "ap-acme", "--org", "ACME"), "operator")
    ok(hub.as_user("ap-ops", "app", "create", "ap-acme", "--org", "ACME"))
    ok(hub.as_user("ap-ops", "app", "key", "ap-acme", "-o", str(tmp_path / "acme.key")))
    assert (tmp_path / "acme.key").stat().st_mode & 0o777 == 0o600
    key = (tmp_path / "acme.key").read_text().strip()
    doc = app_contract(ref="AP-001", app="ap-acme")
    (tmp_path / "contract.json").write_text(json.dumps(doc, ensure_ascii=False))
    ok(hub.as_user("ap-ops", "contract", "import", str(tmp_path / "contract.json")))
    ok(hub.as_user("ap-prov", "contract", "approve", "AP-001"))
    ok(hub.as_user("ap-ops2", "contract", "approve", "AP-001"))

    # calls through the gateway the hub started
    base = f"http://127.0.0.1:{hub.PORTS['GATEWAY_PORT']}/apis/{API}/v1"
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 30  # the gateway sees the new contract on its next call
    while (r := httpx.get(base, headers=headers, timeout=30)).status_code != 200:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.5)
    codes = [httpx.get(base, headers=headers, timeout=30).status_code for _ in range(3)]
    codes.append(httpx.get(f"{base}/999999", headers=headers, timeout=30).status_code)
    assert codes == [200, 200, 200, 404]
    assert {i["district"] for i in r.json()["data"]} == {"海淀区"}  # the contract's scope

    # usage for billing and monitoring: auditors yes, developers no
    start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    end = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    usage = ("api", "usage", "--app", "ap-acme", "--from", start, "--to", end, "--format", "json")
    refused(hub.as_user("ap-dev", *usage), "auditor")
    deadline = time.monotonic() + 60  # flushed in batches
    while sum(u["calls"] for u in as_json(hub.as_user("ap-aud", *usage))) < 5:
        assert time.monotonic() < deadline, "the calls were not metered"
        time.sleep(0.5)
    billed = as_json(hub.as_user("ap-aud", *usage))
    assert {(u["status"], u["calls"]) for u in billed} == {(200, 4), (404, 1)}
    assert all(u["contract"] == "AP-001" for u in billed)
    monitor = as_json(hub.as_user("ap-aud", "api", "monitor", "--format", "json"))
    (mine,) = [a for a in monitor["applications"] if a["application"] == "ap-acme"]
    assert mine["calls"] == 5 and mine["client_errors"] == 1
    assert mine["quota_today"] == [{"api": API, "contract": "AP-001", "used": 5, "quota": 1000}]
    refused(hub.as_user("ap-dev", "api", "monitor"), "auditor")

    # the digests of the metering log are evidence `audit verify` checks
    deadline = time.monotonic() + 60
    while True:
        report = as_json(hub.as_user("ap-aud", "audit", "verify", "--format", "json"))
        metering = report["evidence"]["metering"]
        if metering["checked"] >= 1:
            break
        assert time.monotonic() < deadline, report
        time.sleep(1)
    assert report["ok"] and metering["problems"] == []
    text = ok(hub.as_user("ap-aud", "audit", "verify")).stdout
    assert "metering digests match the ledger" in text
    platform = Platform(hub.settings)
    try:  # one billed call changed afterwards: the digest no longer matches
        with platform.db.session() as session:
            first = session.query(ApiCall).filter(ApiCall.application == "ap-acme").first()
            call_id, rows_were = first.id, first.rows
            session.execute(update(ApiCall).where(ApiCall.id == call_id).values(rows=999))
        broken = hub.as_user("ap-aud", "audit", "verify")
        assert broken.returncode == 1 and "METERING TAMPERED" in broken.stderr
        with platform.db.session() as session:
            session.execute(update(ApiCall).where(ApiCall.id == call_id).values(rows=rows_were))
    finally:
        platform.close()
    ok(hub.as_user("ap-aud", "audit", "verify"))
