"""The reviewer console in real Chromium: hub login, queue, one version's code, findings,
lineage and preview, role-bound approve buttons, English and Simplified Chinese."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest
from conftest import HubUnderTest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TOML = """
name = "console_check"
description = "Residents per district, for the console test"
inputs = ["people"]
outputs = ["per_district"]

[expectations.per_district]
not_null = ["district"]
"""
CODE = """
import os
from pyspark.sql import functions as F

WHERE = os.getenv("HOME")


def run(ctx):
    people = ctx.read("people")
    ctx.write("per_district", people.groupBy("district").agg(F.count("*").alias("n")))
"""


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; `make test` installs it")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def version(hub_under_test: HubUnderTest, tmp_path_factory: pytest.TempPathFactory) -> str:
    hub = hub_under_test
    folder = tmp_path_factory.mktemp("console_check")
    (folder / "pipeline.toml").write_text(TOML)
    (folder / "main.py").write_text(textwrap.dedent(CODE))
    submitted = hub.as_user("demo-dev", "pipeline", "submit", str(folder), "--format", "json")
    status = json.loads(submitted.stdout)
    assert status["state"] == "blocked"  # os.getenv: ENV001
    finding = next(f for f in status["scan"]["findings"] if f["rule"] == "ENV001")
    waived = hub.as_user("demo-operator", "pipeline", "waive", status["version"], "--rule", "ENV001", "--at",
                     f"main.py:{finding['line']}", "--reason", "HOME is not a secret here")  # fmt: skip
    assert waived.returncode == 0, waived.stderr
    dry = hub.as_user("demo-dev", "pipeline", "dry-run", status["version"], "--format", "json")
    assert json.loads(dry.stdout)["state"] == "in_review", dry.stdout[-2000:]
    return status["version"]


def login(browser, hub: HubUnderTest, user: str):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}/hub/login?next=/services/trustlab-console/reviews")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.credentials[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(r"/services/trustlab-console/reviews$"))
    return page


def test_review_in_the_console(browser, hub_under_test: HubUnderTest, version: str) -> None:  # type: ignore[no-untyped-def]
    hub = hub_under_test
    page = login(browser, hub, "demo-provider")
    assert page.inner_text("#user") == "demo-provider"
    page.click(f"a.version[href$='{version}']")
    page.wait_for_selector("#decisions")
    text = page.inner_text("main")
    # code with the (waived) finding inline, lineage, expectations, preview
    assert 'WHERE = os.getenv("HOME")' in text and "ENV001" in text and "(waived)" in text
    lineage = page.inner_text("table.lineage")
    assert "people.district" in lineage and "Count" in lineage
    assert "expect_column_values_to_not_be_null" in text
    assert page.locator("table.preview tr").count() > 1
    # a provider reviewer gets the provider button only
    assert page.locator("#approve-provider").count() == 1
    assert page.locator("#approve-operator").count() == 0
    page.click("#approve-provider")
    page.wait_for_selector("#flash.ok")
    assert "demo-provider" in page.inner_text("#decisions")

    # switch to Simplified Chinese: the same page, in the reviewers' language
    page.click("#lang")
    page.wait_for_selector("text=字段血缘")
    assert "审核中" in page.inner_text("#state")
    assert "数据提供方" in page.inner_text("#decisions")
    page.context.close()

    # the choice belongs to the user: a fresh browser opens in Chinese too
    again = login(browser, hub, "demo-provider")
    assert "加工逻辑审核" in again.inner_text("main")
    again.context.close()

    # the submitter sees no buttons at all
    dev = login(browser, hub, "demo-dev")
    dev.goto(f"{hub.url}/services/trustlab-console/reviews/{version}")
    assert dev.locator("button").count() == 0
    dev.context.close()

    operator = login(browser, hub, "demo-operator")
    operator.goto(f"{hub.url}/services/trustlab-console/reviews/{version}")
    assert operator.locator("#approve-provider").count() == 0
    operator.click("#approve-operator")
    operator.wait_for_selector("#flash.ok")
    assert operator.inner_text("#state") == "approved"
    operator.context.close()
    status = json.loads(
        hub.as_user("demo-dev", "pipeline", "status", version, "--format", "json").stdout
    )
    assert status["state"] == "approved"
    assert {(r["role"], r["reviewer"]) for r in status["reviews"]} == {
        ("provider", "demo-provider"),
        ("operator", "demo-operator"),
    }


def test_console_refuses_without_a_hub_login(hub_under_test: HubUnderTest, version: str) -> None:
    import httpx

    resp = httpx.get(f"{hub_under_test.url}/services/trustlab-console/reviews/{version}")
    assert resp.status_code == 302 and "/hub/api/oauth2/authorize" in resp.headers["location"]
    forged = httpx.post(
        f"{hub_under_test.url}/services/trustlab-console/reviews/{version}/approve",
        data={"role": "operator", "_csrf": "x"}, cookies={"trustlab-console": "demo-operator:9999999999|00"},
    )  # fmt: skip
    assert forged.status_code == 302  # not logged in: back to the hub, nothing recorded
    status = json.loads(
        hub_under_test.as_user("demo-dev", "pipeline", "status", version, "--format", "json").stdout
    )
    assert all(r["reviewer"] != "demo-operator" or r["decision"] for r in status["reviews"])


def test_the_alerts_page_shows_alerts_reports_and_lifts_freezes(  # type: ignore[no-untyped-def]
    browser, hub_under_test: HubUnderTest
) -> None:
    import time

    hub = hub_under_test
    hub.add_user("prober", "developer")
    for _ in range(5):  # a developer trying an operator's act: five 403s, each ledgered
        tried = hub.as_user("prober", "alerts", "freeze", "user", "demo-dev", "--reason", "x")
        assert tried.returncode != 0
    deadline = time.monotonic() + 90  # the monitor ticks every 5 s in the tests: a timeout
    while time.monotonic() < deadline:
        listed = json.loads(hub.as_user("demo-auditor", "alerts", "list", "--subject", "prober",
                                        "--format", "json").stdout or "[]")  # fmt: skip
        if any(a["rule"] == "repeated_refusals" for a in listed):
            break
        time.sleep(1)
    else:
        raise AssertionError("no repeated_refusals alert for prober")
    alert = next(a for a in listed if a["rule"] == "repeated_refusals")
    frozen = hub.as_user("demo-operator", "alerts", "freeze", "user", "prober", "--reason",
                         "probing operator actions", "--format", "json")  # fmt: skip
    assert frozen.returncode == 0, frozen.stderr
    assert "frozen" in hub.as_user("prober", "whoami").stderr
    page = login(browser, hub, "demo-operator")
    page.goto(f"{hub.url}/services/trustlab-console/alerts")
    row = page.locator("#alerts tr.alert", has_text="prober")
    assert "repeated_refusals" in row.first.inner_text()
    row.first.locator("a").click()
    evidence = page.locator("#evidence").inner_text()
    assert '"count": 5' in evidence and "access.refused" in evidence
    assert page.locator("#download").get_attribute("href") == f"{alert['id']}/report.md"
    report = page.request.get(f"{page.url}/report.md")
    assert report.ok and "Violation report" in report.text() and "prober" in report.text()
    page.goto(f"{hub.url}/services/trustlab-console/alerts")
    freeze = page.locator("#freezes tr.freeze", has_text="user:prober")
    freeze.locator("input[name=reason]").fill("explained: a wrong script")
    freeze.locator("button").click()
    page.wait_for_selector("p.ok")
    assert "explained: a wrong script" in page.locator("#freezes").inner_text()
    assert hub.as_user("prober", "whoami").returncode == 0
    page.goto(f"{hub.url}/services/trustlab-console/lang/zh-CN")
    page.goto(f"{hub.url}/services/trustlab-console/alerts")
    assert "风险告警" in page.content() and "权限冻结" in page.content()


def english(page):  # type: ignore[no-untyped-def]
    page.goto(
        page.url.split("/services/trustlab-console/")[0] + "/services/trustlab-console/lang/en"
    )
    return page


def _monitored_calls(hub: HubUnderTest) -> int:
    shown = hub.as_user("demo-auditor", "api", "monitor", "--hours", "2", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    apis = json.loads(shown.stdout)["apis"]
    return sum(a["calls"] for a in apis if a["api"] == "district-income")


def test_api_review_publication_and_monitoring_in_the_console(  # type: ignore[no-untyped-def]
    browser, hub_under_test: HubUnderTest, tmp_path: Path
) -> None:
    import time

    import httpx

    from apis.demo import definition

    hub = hub_under_test
    changed = {**definition(), "page_size": 5}
    (tmp_path / "api.json").write_text(json.dumps(changed, ensure_ascii=False))
    made = hub.as_user("demo-dev", "api", "create", str(tmp_path / "api.json"),
                       "--project", "demo", "--format", "json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    number = json.loads(made.stdout)["version"]
    assert hub.as_user("demo-dev", "api", "submit", "district-income").returncode == 0

    # the author sees the version but no button; the operator approves and publishes it
    dev = english(login(browser, hub, "demo-dev"))
    dev.goto(f"{hub.url}/services/trustlab-console/apis/district-income")
    assert dev.locator(f"#v{number} .state").inner_text() == "submitted"
    assert dev.locator(f"#v{number} button").count() == 0
    dev.context.close()
    page = english(login(browser, hub, "demo-operator"))  # an earlier test chose Chinese
    page.goto(f"{hub.url}/services/trustlab-console/apis")
    page.click("#apis a:text-is('district-income')")
    section = page.locator(f"#v{number}")
    assert '"page_size": 5' in section.locator("pre.definition").inner_text()
    section.locator(f"#approve-operator-v{number}").click()
    page.wait_for_selector("#flash.ok")
    assert page.locator(f"#v{number} .state").inner_text() == "approved"
    page.click(f"#publish-v{number}")
    page.wait_for_selector("#flash.ok")
    assert page.locator(f"#v{number} .state").inner_text() == "published"
    swagger = page.locator(f"#v{number} a.swagger").get_attribute("href")
    assert swagger and swagger.endswith(f"/apis/district-income/v{number}/docs")
    listed = json.loads(hub.as_user("demo-auditor", "api", "show", "district-income",
                                    "--format", "json").stdout)  # fmt: skip
    mine = next(v for v in listed["versions"] if v["version"] == number)
    assert [d["reviewer"] for d in mine["decisions"]] == ["demo-operator"]
    page.context.close()

    # calls through the gateway show up on the monitoring page
    creds = json.loads((hub.home / "demo-credentials.json").read_text())["demo-consumer"]
    before = _monitored_calls(hub)
    gateway = f"http://127.0.0.1:{hub.PORTS['GATEWAY_PORT']}/apis/district-income/v{number}"
    headers = {"Authorization": f"Bearer {creds['key']}"}
    codes = [httpx.get(gateway, headers=headers, timeout=30).status_code for _ in range(4)]
    codes.append(httpx.get(f"{gateway}/no-such-district", headers=headers, timeout=30).status_code)
    assert codes == [200, 200, 200, 200, 404]
    deadline = time.monotonic() + 60  # metering is written in batches
    while _monitored_calls(hub) < before + 5:
        assert time.monotonic() < deadline, "the calls were not metered"
        time.sleep(0.5)
    auditor = english(login(browser, hub, "demo-auditor"))
    auditor.goto(f"{hub.url}/services/trustlab-console/api-monitor?hours=2")
    row = auditor.locator("#per-api tr.row", has_text=f"v{number}")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "district-income" and int(cells[2]) == 5 and int(cells[3]) == 1
    assert cells[5] == "20.0%"
    quota = auditor.locator("#quota tr.row", has_text="demo-consumer").first.inner_text()
    assert "DEMO-API-001" in quota and "10000" in quota
    auditor.goto(f"{hub.url}/services/trustlab-console/lang/zh-CN")
    auditor.goto(f"{hub.url}/services/trustlab-console/api-monitor")
    assert "接口监控" in auditor.content() and "今日配额使用" in auditor.content()
    auditor.context.close()

    # a developer may not read the monitoring
    dev = login(browser, hub, "demo-dev")
    dev.goto(f"{hub.url}/services/trustlab-console/api-monitor")
    assert dev.locator("#per-api").count() == 0
    dev.context.close()


def login_to(browser, hub: HubUnderTest, user: str, path: str):  # type: ignore[no-untyped-def]
    """``login`` for people who are not reviewers (the reviews page is not theirs)."""
    page = browser.new_context().new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}/hub/login?next=/services/trustlab-console/{path}")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.credentials[user])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/services/trustlab-console/{path}$"))
    return page


def test_labeling_dashboard_in_the_console(browser, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    hub = hub_under_test
    page = english(login(browser, hub, "demo-dev"))
    base = page.url.split("/services/trustlab-console/")[0] + "/services/trustlab-console"
    page.goto(f"{base}/labeling")
    assert page.locator("#label-projects tr.row").count() == 1
    page.click("#label-projects a:text('demo-ner')")
    page.wait_for_url(re.compile(r"/labeling/demo-ner$"))
    progress = page.inner_text("#progress")
    assert re.search(r"final: 0 / [\d,]+ \(0%\)", progress), progress
    people = page.locator("#annotators tr.row td:first-child").all_inner_texts()
    assert people == ["demo-annotator-1", "demo-annotator-2"]
    assert "demo-reviewer" in page.inner_text("#review")
    assert page.locator("#label-studio a").count() == 3
    page.context.close()
    # An annotator sees the project too; a provider reviewer with no part in it does not.
    annotator = english(login_to(browser, hub, "demo-annotator-1", "labeling"))
    annotator.goto(f"{base}/labeling/demo-ner")
    assert "demo-annotator-1" in annotator.inner_text("#annotators")
    annotator.context.close()
    provider = english(login(browser, hub, "demo-provider"))
    provider.goto(f"{base}/labeling")
    assert "No labeling projects you may see." in provider.inner_text("main")
    refused = provider.goto(f"{base}/labeling/demo-ner")
    assert refused.status == 404 and "not a" in provider.inner_text("main")
    provider.context.close()


JOURNEY = """
name = "journey_check"
description = "Residents per district of the uploaded register"
inputs = ["journey_people"]
outputs = ["journey_per_district"]

[expectations.journey_per_district]
not_null = ["district"]
"""
JOURNEY_CODE = """
from pyspark.sql import functions as F


def run(ctx):
    people = ctx.read("journey_people")
    ctx.write("journey_per_district", people.groupBy("district").agg(F.count("*").alias("n")))
"""


def test_a_provider_journey_in_the_browser(  # type: ignore[no-untyped-def]
    browser, hub_under_test: HubUnderTest, tmp_path: Path
) -> None:
    """Register, confirm, mask, sample, grant, review, approve: the provider's whole part
    in the console with a real hub login, no CLI; the developer asks in the console too
    and submits from the CLI (as from a notebook). The grant is revoked at the end: the
    demo project is shared with the other tests of this platform."""
    granted: list[str] = []
    try:
        _journey(browser, hub_under_test, tmp_path, granted)
    finally:
        for ref in granted:  # already revoked in the browser when the journey got there
            hub_under_test.as_user("demo-operator", "contract", "revoke", ref, "--reason",
                                   "console journey test done")  # fmt: skip


def _journey(browser, hub: HubUnderTest, tmp_path: Path, granted: list[str]) -> None:  # type: ignore[no-untyped-def]
    from sandbox.cli import DEMO_OWNER
    from sandbox.demo import generate_people

    csv = tmp_path / "register.csv"
    generate_people(csv, rows=20000, seed=23)
    prov = english(login_to(browser, hub, "demo-provider", ""))
    base = prov.url.split("/services/trustlab-console/")[0] + "/services/trustlab-console"
    # 1. register an uploaded file; 2. confirm its classification
    prov.goto(f"{base}/catalog/register")
    prov.fill("#reg-name", "journey_people")
    assert prov.input_value("#reg-owner") == DEMO_OWNER
    prov.set_input_files("#reg-file", str(csv))
    prov.click("#register")
    prov.wait_for_selector("#flash.ok")
    assert prov.inner_text("#classification-status") == "proposed"
    prov.click("#confirm")
    prov.wait_for_selector("#flash.ok")
    assert prov.inner_text("#classification-status") == "confirmed"
    # 3. the masking policy: income has no default rule (default deny); preview, then set
    prov.click("#policy-link")
    prov.select_option("#rule-column", "income")
    prov.select_option("#rule-name", "numeric_bucket")
    prov.fill("#rule-params", '{"width": 10000}')
    prov.click("#do-preview")
    values = [li.inner_text() for li in prov.query_selector_all("#preview-values li")]
    assert values and all(float(v) % 10000 == 0 for v in values), values
    prov.click("#do-save")
    prov.wait_for_selector("#flash.ok")
    # 4. a masked sample, built from the dataset's page
    # (too few rows first: k-anonymity would suppress most of them, the page says so)
    prov.goto(f"{base}/catalog/journey_people")
    prov.fill("#build-rows", "500")
    prov.click("#build")
    prov.wait_for_selector("#flash", timeout=300_000)
    assert "k-anonymity" in prov.inner_text("#flash.bad")
    prov.click("#build")  # the platform's default size
    prov.wait_for_selector("#flash", timeout=300_000)
    assert prov.get_attribute("#flash", "class") == "flash ok", prov.inner_text("#flash")
    assert "published" in prov.inner_text("#builds tr.build")
    # 5. the developer asks for it in the console; the provider and the operator grant it
    dev = english(login_to(browser, hub, "demo-dev", ""))
    dev.goto(f"{base}/catalog/journey_people")
    dev.click("#request-link")
    dev.fill("#req-purpose", "residents per district for the journey test")
    dev.click("#send-request")
    dev.wait_for_selector("#flash.ok")
    ref = dev.url.rsplit("/", 1)[-1].split("?")[0]
    granted.append(ref)
    dev.context.close()
    prov.goto(base + "/")
    prov.click("#waits li[data-key=wait_contracts] a")
    prov.click(f"#contracts a:text-is('{ref}')")
    prov.click("#approve-provider")
    prov.wait_for_selector("#flash.ok")
    op = english(login_to(browser, hub, "demo-operator", ""))
    op.goto(f"{base}/contracts/{ref}")
    op.click("#approve-operator")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state").startswith("active")
    # 6. the developer submits a pipeline on it; 7. the provider reviews and approves it
    folder = tmp_path / "journey_check"
    folder.mkdir()
    (folder / "pipeline.toml").write_text(JOURNEY)
    (folder / "main.py").write_text(textwrap.dedent(JOURNEY_CODE))
    done = hub.as_user("demo-dev", "pipeline", "submit", str(folder), "--dry-run",
                       "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout[-2000:]
    version = json.loads(done.stdout)["version"]
    assert json.loads(done.stdout)["state"] == "in_review", done.stdout[-2000:]
    prov.goto(base + "/")
    prov.click("#waits li[data-key=wait_reviews] a")
    prov.click(f"a[href$='{version}']")
    assert not re.search(r"\sstyle=|<script|<style", prov.content())  # the strict CSP holds
    prov.click("#approve-provider")
    prov.wait_for_selector("#flash.ok")
    op.goto(f"{base}/reviews/{version}")
    op.click("#approve-operator")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state") == "approved"
    # Every step is in the ledger, by the person who took it in the browser.
    aud = english(login_to(browser, hub, "demo-auditor", ""))
    aud.goto(f"{base}/ledger?subject=dataset:journey_people")
    actions = [(r.query_selector_all("td")[2].inner_text(), r.query_selector_all("td")[3]
                .inner_text()) for r in aud.query_selector_all("tr.entry")]  # fmt: skip
    assert ("demo-provider", "dataset.register") in actions
    assert ("demo-provider", "dataset.confirm") in actions
    aud.goto(f"{base}/ledger?actor=demo-provider")
    mine = {r.query_selector_all("td")[3].inner_text() for r in aud.query_selector_all("tr.entry")}
    assert {"masking_policy.update", "sample.publish", "pipeline.approve"} <= mine, mine
    # The grant ends in the console too: the operator revokes it, with a reason.
    op.goto(f"{base}/contracts/{ref}")
    op.fill("#revoke-reason", "the journey is over")
    op.click("#revoke")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state").startswith("revoked")
    for page in (prov, op, aud):
        page.context.close()


def test_runs_and_product_lineage_in_the_console(browser, hub_under_test: HubUnderTest) -> None:  # type: ignore[no-untyped-def]
    hub = hub_under_test
    op = english(login_to(browser, hub, "demo-operator", ""))
    base = op.url.split("/services/trustlab-console/")[0] + "/services/trustlab-console"
    op.goto(f"{base}/runs")
    first = op.locator("#runs tr.run", has_text="district_income").last
    assert "published" in first.inner_text()
    first.locator("a").click()
    assert op.inner_text("#state") == "published"
    assert op.locator("#tasks tr.task").count() >= 3
    assert "success" in op.inner_text("#tasks")
    assert op.get_attribute("#airflow", "href").startswith("http://127.0.0.1:")
    assert "district_income" in op.inner_text("#outputs")
    if os.environ.get("TRUSTLAB_SCREENSHOTS"):  # docs/console.md's picture of a run
        run_page = op.url
        op.goto(op.url.split("/services/")[0] + "/services/trustlab-console/lang/zh-CN")
        op.goto(run_page)
        op.screenshot(path=f"{os.environ['TRUSTLAB_SCREENSHOTS']}/run.zh-CN.png", full_page=True)
        english(op)
    # The product's lineage: drawn from its input through the run that made it.
    op.goto(f"{base}/catalog/district_income")
    drawing = op.text_content("svg#lineage")
    assert "people" in drawing and "district_income" in drawing and "run " in drawing
    op.context.close()
    dev = english(login_to(browser, hub, "demo-dev", ""))
    assert dev.goto(f"{base}/runs").status == 403
    assert dev.goto(f"{base}/ledger").status == 403
    assert dev.goto(f"{base}/people").status == 403
    assert dev.goto(f"{base}/no-such-page").status == 404
    dev.context.close()
