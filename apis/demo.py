"""``trustlab up`` steps: the demo product served, a demo API published, a demo consumer.

Everything goes the normal way, acted by the demo accounts on the same rules as anyone:
the demo pipeline runs once in production (if it has not yet) and its product is served
by the operator; the demo developer defines a wizard API over it and submits it; the
operator approves and publishes it; a consumer application gets a key and a contract
(approved by the data owner's reviewer and the operator) whose terms mask the numbers it
returns. The key, the contract and a ready ``curl`` line go to
``HOME/demo-credentials.json`` (mode 0600).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from hub.errors import NotFound, TrustlabError
from hub.platform import Platform

PRODUCT = "district_income"
API = "district-income"
APP = "demo-consumer"
CONTRACT = "DEMO-API-001"


def definition() -> dict[str, Any]:
    return {
        "schema": "trustlab.api/1",
        "name": API,
        "title": "Residents and average income per district 各区人口与平均收入",
        "description": "The demo pipeline's product, one row per district.",
        "kind": "wizard",
        "source": {"serving": PRODUCT},
        "fields": ["district", "residents", "avg_income"],
        "key": "district",
        "filters": [{"field": "district", "ops": ["eq", "in", "prefix"]},
                    {"field": "residents", "ops": ["range"]}],
        "sort": ["residents", "avg_income", "district"],
        "page_size": 20,
        "max_page_size": 100,
    }  # fmt: skip


def contract(owner: str) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return {
        "schema": "trustlab.contract/1",
        "ref": CONTRACT,
        "title": "Demo consumer: district statistics 演示消费方：区县统计",
        "parties": {"providers": [owner], "operator": "platform",
                    "user": {"kind": "application", "name": APP}},
        "objects": [{"dataset": PRODUCT, "columns": "*", "modes": ["api"]}],
        "purpose": {"category": "statistics", "text": "demo dashboards of district figures"},
        "valid_from": start.isoformat(),
        "valid_until": (start + timedelta(days=365)).isoformat(),
        "apis": [{"api": API,
                  "fields": {"district": "clear", "residents": "clear",
                             "avg_income": {"rule": "numeric_round", "params": {"digits": -2}}},
                  "quota_per_day": 10_000, "rate_per_second": 20, "max_rows_per_call": 100}],
    }  # fmt: skip


def _product_ready(platform: Platform) -> bool:
    from hub.catalog import Catalog

    try:
        info = Catalog(platform).show(PRODUCT)
    except NotFound:
        return False
    return bool(info.get("versions"))


def _run_demo_pipeline(platform: Platform) -> None:
    from pipelines.production import Production

    production = Production(platform)
    run = production.trigger(PRODUCT, "demo-operator")
    client = production.airflow.client()
    click.echo(f"  demo pipeline run {run['run_id']} started (Spark in the runner image)")
    deadline, shown = time.monotonic() + 1800, ""
    while time.monotonic() < deadline:
        state = (client.dag_run(run["dag_id"], run["run_id"]) or {}).get("state") or "queued"
        if state != shown:
            click.echo(f"  demo pipeline run: {state}")
            shown = state
        if state in ("success", "failed"):
            break
        time.sleep(2)
    if shown != "success" or not _product_ready(platform):
        raise TrustlabError(f"the demo pipeline run ended {shown}; see `trustlab runs list`")


def up_demo_api(platform: Platform) -> None:
    """The demo product served and a demo API published (each step once)."""
    from apis.builder import Builder
    from apis.serving import Serving

    if not _product_ready(platform):
        _run_demo_pipeline(platform)
    served = Serving(platform).serve_product(PRODUCT, "demo-operator")
    if served["changed"]:
        click.echo(f"  serving {PRODUCT} v{served['product_version']} ({served['rows']} rows)")
    b = Builder(platform)
    try:
        versions = b.show(API)["versions"]
    except NotFound:
        versions = [b.create(definition(), "demo-dev", "demo")]
    v = versions[-1]
    if v["state"] == "draft":
        v = b.submit(API, "demo-dev", v["version"])
    if v["state"] == "submitted":
        v = b.decide(API, v["version"], "operator", "demo-operator", "approve")
        if v["providers"]:  # only when it returns PII: the demo owner's reviewer
            v = b.decide(API, v["version"], "provider", "demo-provider", "approve")
    if v["state"] == "approved":
        v = b.publish(API, "demo-operator", v["version"])
    if v["state"] != "published":
        raise TrustlabError(f"the demo API is {v['state']}; see `trustlab api show {API}`")
    _demo_consumer(platform, v["version"])


def _demo_consumer(platform: Platform, version: int) -> None:
    from apis.apps import Applications
    from hub.contracts import Contracts
    from hub.models import Dataset

    apps, contracts = Applications(platform), Contracts(platform)
    creds_file = platform.settings.home / "demo-credentials.json"
    creds = json.loads(creds_file.read_text()) if creds_file.exists() else {}
    known = {a["name"] for a in apps.list()}
    if APP not in known:
        apps.create(APP, "Demo Consumer Ltd 演示消费方", "demo-operator")
    mine = creds.get(APP) or {}
    live = {k["key_id"] for k in apps.show(APP)["keys"] if k["state"] == "active"}
    if mine.get("key_id") not in live:
        issued = apps.issue_key(APP, "demo-operator")
        mine = {"key_id": issued["key_id"], "key": issued["key"]}
    if not any(c["ref"] == CONTRACT for c in contracts.list(party=APP)):
        with platform.db.session() as session:
            from sqlalchemy import select

            owner = session.scalar(select(Dataset).where(Dataset.name == PRODUCT)).owner.name
        doc = contract(owner)
        contracts.import_document(doc, "demo-operator")
        contracts.decide(CONTRACT, "demo-provider", True)
        contracts.decide(CONTRACT, "demo-operator", True)
    base = f"http://127.0.0.1:{platform.settings.gateway_port}"
    mine.update(
        contract=CONTRACT,
        api=f"{base}/apis/{API}/v{version}",
        swagger=f"{base}/apis/{API}/v{version}/docs",
        curl=f"curl -H 'Authorization: Bearer {mine['key']}' "
        f"'{base}/apis/{API}/v{version}?limit=5'",
    )
    creds[APP] = mine
    creds_file.write_text(json.dumps(creds, indent=2, ensure_ascii=False))
    creds_file.chmod(0o600)


def up_api_hint(platform: Platform) -> None:
    """Last ``trustlab up`` step: one curl line that calls the demo API, and its page."""
    creds_file = platform.settings.home / "demo-credentials.json"
    mine = json.loads(creds_file.read_text()).get(APP) if creds_file.exists() else None
    if not mine:
        return
    import httpx

    base = f"http://127.0.0.1:{platform.settings.gateway_port}"
    for _ in range(60):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    click.echo(f"  call the demo API:  {mine['curl']}")
    click.echo(f"  its Swagger page:   {mine['swagger']}")
