"""The console's pages in real Chromium, each as the role that uses it and refused for one
that may not: home (what waits), catalog (classify, confirm), contracts (approve, reject,
suspend, resume), ledger (filter, verify, proof, public key), users and projects; the
frame's strict CSP, styled errors in the reader's language, stale and repeated forms, and
the API down. Every page reads and writes through the real platform API."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_catalog import chinese_rows

from hub.catalog import Catalog
from hub.contracts import Contracts
from tests.console_world import ConsoleWorld, running_console

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def console_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    with running_console(tmp_path_factory.mktemp("console")) as world:
        yield world


def no_inline(html: str) -> None:
    """Nothing a strict CSP would block: no style/script elements or attributes, no
    javascript: links, no on* handlers."""
    assert "<script" not in html and "<style" not in html, html[:500]
    assert not re.search(r"\sstyle=", html), re.search(r".{80}\sstyle=.{40}", html)
    assert not re.search(r"\son[a-z]+=", html, re.I)
    assert "javascript:" not in html


def test_frame_csp_languages_and_errors(console_world: ConsoleWorld) -> None:
    w = console_world
    page = w.page("aud")
    resp = w.go(page, "")
    assert resp.status == 200
    csp = resp.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "unsafe" not in csp
    no_inline(page.content())
    assert page.eval_on_selector("header", "e => getComputedStyle(e).display") == "flex"
    assert page.csp_errors == []
    # Unknown paths: a styled page in the console's language, not raw JSON.
    resp = w.go(page, "no/such/page")
    assert resp.status == 404 and page.inner_text("#code") == "404"
    assert "not yours to see" in page.inner_text("#message")
    zh = w.page("aud", lang="zh-CN")
    resp = w.go(zh, "catalog/no-such-dataset")
    assert resp.status == 404 and "无权查看" in zh.inner_text("#message")
    assert zh.get_attribute("html", "lang") == "zh-CN"
    # The same answer for a contract that does not exist and one the reader may not see.
    dev = w.page("dev")
    hidden = Contracts(w.platform).request("p1", "households", "dev", ["sandbox"])["ref"]
    other = w.page("prov-tax")
    assert w.go(other, "contracts/NO-SUCH").status == 404
    assert w.go(dev, f"contracts/{hidden}").status == 200  # the asker sees their own
    assert w.go(dev, "ledger").status == 403  # a role page: says it is the role
    assert "auditor" in dev.inner_text("#message")
    assert "ledger" not in [a.get_attribute("href").rsplit("/", 1)[-1]
                            for a in dev.query_selector_all("header nav a")]  # fmt: skip


def test_browser_language_and_switch(console_world: ConsoleWorld) -> None:
    w = console_world
    context = w.browser.new_context(locale="zh-CN", extra_http_headers={
        "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})  # fmt: skip
    w.contexts.append(context)
    from hub.console import COOKIE, PREFIX

    context.add_cookies([{"name": COOKIE, "value": w.session("op2"), "domain": "127.0.0.1",
                          "path": PREFIX}])  # fmt: skip
    page = context.new_page()
    page.goto(w.url)
    assert page.inner_text("h1") == "首页"  # the browser's preference, nothing chosen yet
    page.click("#lang")
    assert page.inner_text("h1") == "Home"
    page.goto(w.url + "catalog")
    assert page.inner_text("h1") == "Catalog"  # the switch sticks


def test_provider_classifies_and_confirms_in_the_catalog(console_world: ConsoleWorld) -> None:
    w = console_world
    prov = w.page("prov")
    w.go(prov, "")
    item = prov.query_selector("#waits li[data-key=wait_classifications]")
    assert item is not None and item.inner_text().startswith("1")
    item.query_selector("a").click()
    assert [r.inner_text().split("\t")[0] for r in prov.query_selector_all("tr.dataset")] == [
        "residents"]  # fmt: skip
    prov.click("tr.dataset a")
    assert prov.inner_text("#classification-status") == "proposed"
    no_inline(prov.content())
    row = prov.locator('tr.column[data-column="公民身份号码"]')
    assert row.locator("td.level").inner_text() == "L4"
    income = prov.locator('tr.column[data-column="月收入"]')
    income.locator("select[name=level]").select_option("L3")
    income.locator("input[name=qi]").check()
    income.locator("button").click()
    prov.wait_for_selector("#flash.ok")
    income = prov.locator('tr.column[data-column="月收入"]')
    assert income.locator("td.level").inner_text() == "L3"
    prov.click("#confirm")
    prov.wait_for_selector("#flash.ok")
    assert prov.inner_text("#classification-status") == "confirmed"
    # Someone else's data: no forms, and the API refuses a forged post all the same.
    other = w.page("prov-tax")
    w.go(other, "catalog/residents")
    assert (
        other.query_selector("#confirm") is None and other.query_selector("tr.column form") is None
    )
    with w.platform.db.session() as session:
        entries = w.platform.ledger.entries(session, 50, subject="dataset:residents")
    assert [(e["actor"], e["action"]) for e in entries][-2:] == [
        ("prov", "dataset.classify"), ("prov", "dataset.confirm")]  # fmt: skip


def _approve(page: Any) -> None:
    page.click("button[id^=approve-]")
    page.wait_for_selector("#flash")


def test_contract_decisions_stale_forms_and_double_submits(console_world: ConsoleWorld) -> None:
    w = console_world
    ref = Contracts(w.platform).request("p1", "households", "dev", ["sandbox"], days=10)["ref"]
    op = w.page("op")
    w.go(op, "")
    assert op.query_selector("#waits li[data-key=wait_contracts]") is not None
    w.go(op, "contracts?waiting=1")
    assert ref in op.inner_text("#contracts")
    # Two tabs of one contract: the provider decides in one; the operator's older tab is
    # refused with what changed, and nothing is recorded for it.
    stale = w.page("op")
    w.go(stale, f"contracts/{ref}")
    prov = w.page("prov")
    w.go(prov, f"contracts/{ref}")
    no_inline(prov.content())
    _approve(prov)
    assert prov.get_attribute("#flash", "class") == "flash ok"
    resp_text = []
    stale.on("response", lambda r: resp_text.append(r.status) if r.request.method == "POST"
             else None)  # fmt: skip
    stale.click("#approve-operator")
    assert "changed while you were looking" in stale.inner_text("#message")
    assert "0 decision(s) → state draft, 1 version(s), 1 decision(s)" in stale.inner_text(
        "#message"
    )
    assert resp_text == [409]
    shown = Contracts(w.platform).show(ref)
    assert [d["reviewer"] for d in shown["versions"][-1]["decisions"]] == ["prov"]
    # The same form twice (a double click, a resend): the second is refused, once.
    w.go(op, f"contracts/{ref}")
    form = op.locator("form[action$='/approve']")
    fields = {i.get_attribute("name"): i.get_attribute("value")
              for i in form.locator("input").all()}  # fmt: skip
    op.click("#approve-operator")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state").startswith("active")
    again = op.request.post(w.url + f"contracts/{ref}/approve", form=fields)
    assert again.status == 409 and "already sent once" in again.text()
    # Suspend and resume with reasons; the last change shows on the page.
    op.fill("#suspend-reason", "checking a complaint")
    op.click("#suspend")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state").startswith("suspended")
    assert "checking a complaint" in op.inner_text("#state-note")
    op.fill("#resume-reason", "complaint unfounded")
    op.click("#resume")
    op.wait_for_selector("#flash.ok")
    assert op.inner_text("#state").startswith("active")
    # A developer reads their project's contract but has no decision to make.
    dev = w.page("dev")
    w.go(dev, f"contracts/{ref}")
    assert dev.query_selector("button[id^=approve-]") is None
    assert dev.query_selector("#suspend") is None


def test_reject_needs_a_reason_and_is_refused_for_the_asker(console_world: ConsoleWorld) -> None:
    w = console_world
    ref = Contracts(w.platform).request("p1", "households", "dev", ["sandbox"])["ref"]
    prov = w.page("prov")
    w.go(prov, f"contracts/{ref}")
    prov.fill("#reject-reason", "the purpose does not need identity numbers")
    prov.click("#reject")
    prov.wait_for_selector("#flash.ok")
    assert prov.inner_text("#state").startswith("rejected")
    # A forged approval by the member who asked: the API refuses it and says why.
    dev = w.page("dev")
    w.go(dev, "")
    ref2 = Contracts(w.platform).request("p1", "households", "dev", ["sandbox"])["ref"]
    fields = {"_csrf": w.csrf("dev"), "role": "operator"}
    resp = dev.request.post(w.url + f"contracts/{ref2}/approve", form=fields,
                            max_redirects=0)  # fmt: skip
    assert resp.status == 303 and "error=" in resp.headers["location"]


def test_ledger_filter_verify_proof_and_public_key(console_world: ConsoleWorld) -> None:
    w = console_world
    with w.platform.db.session() as session:
        w.platform.ledger.checkpoint(session)
    aud = w.page("aud")
    w.go(aud, "ledger?action=user.add")
    actions = {
        r.query_selector_all("td")[3].inner_text() for r in aud.query_selector_all("tr.entry")
    }
    assert actions == {"user.add"}
    no_inline(aud.content())
    aud.fill("#f-since", "2999-01-01")
    aud.click("form.filters button")
    assert aud.query_selector("#empty") is not None
    aud.fill("#f-since", "not a time")
    aud.click("form.filters button")
    assert "not an ISO date" in aud.inner_text("#message")
    w.go(aud, "ledger")
    aud.click("#verify")
    assert "verifies" in aud.inner_text("#verified")
    seq = aud.query_selector("tr.entry:last-child").get_attribute("data-seq")
    with aud.expect_download() as got:
        aud.click(f"tr.entry[data-seq='{seq}'] a.proof")
    proof = json.loads(Path(got.value.path()).read_text())
    assert proof["entry"]["seq"] == int(seq) and proof["tree_size"] >= int(seq)
    with aud.expect_download() as got:
        aud.click("#pubkey")
    assert Path(got.value.path()).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert w.go(w.page("prov"), "ledger/proof/1.json").status == 403


def test_admin_manages_users_and_projects(console_world: ConsoleWorld) -> None:
    w = console_world
    adm = w.page("adm")
    w.go(adm, "people")
    no_inline(adm.content())
    adm.fill("#new-user", "newcomer")
    adm.select_option("#new-role", "developer")
    adm.click("#add-user button")
    password = adm.inner_text("#password code")
    assert len(password) >= 12
    w.go(adm, "people")
    assert adm.query_selector("#password") is None  # shown once
    assert adm.query_selector("tr.user[data-user=newcomer]") is not None
    adm.select_option("#add-role select[name=user]", "newcomer")
    adm.select_option("#add-role select[name=role]", "provider")
    adm.fill("#add-role input[name=org]", "tax-bureau")
    adm.click("#add-role button")
    adm.wait_for_selector("#flash.ok")
    assert "provider:tax-bureau" in adm.inner_text("tr.user[data-user=newcomer]")
    adm.fill("#create-org input[name=org_name]", "transport-bureau")
    adm.click("#create-org button")
    adm.wait_for_selector("#flash.ok")
    assert "transport-bureau" in adm.inner_text("#orgs")
    adm.fill("#create-project input[name=project]", "p-new")
    adm.click("#create-project button")
    adm.wait_for_selector("#flash.ok")
    adm.select_option("#add-member select[name=project]", "p-new")
    adm.select_option("#add-member select[name=user]", "newcomer")
    adm.click("#add-member button")
    adm.wait_for_selector("#flash.ok")
    assert "newcomer" in adm.locator("tr.project", has_text="p-new").inner_text()
    # An operator sees users but may not add one: no form, and a forged post is refused.
    op = w.page("op")
    w.go(op, "people")
    assert op.query_selector("#add-user") is None and op.query_selector("#create-project")
    assert w.go(w.page("dev"), "people").status == 403


def test_masking_policy_preview_change_and_operator_decision(console_world: ConsoleWorld) -> None:
    from sandbox.leaks import identifiers_in

    w = console_world
    raw = {r["公民身份号码"] for r in chinese_rows(40)}
    prov = w.page("prov")
    w.go(prov, "catalog/households")
    prov.click("#policy-link")
    assert prov.query_selector("#default") is not None  # nothing written yet
    no_inline(prov.content())
    prov.select_option("#rule-column", "公民身份号码")
    prov.select_option("#rule-name", "id_keep6_4")
    prov.fill("#rule-params", "{}")
    prov.click("#do-preview")
    shown = [li.inner_text() for li in prov.query_selector_all("#preview-values li")]
    assert len(shown) == 8 and not raw & set(shown)
    assert all(s[:6] == "330106" and "*" in s and len(s) == 18 for s in shown), shown
    assert all(not identifiers_in(s) for s in shown)
    assert prov.input_value("#rule-column") == "公民身份号码"  # the form stays
    # Keeping an identity number is below the masking floor: refused, and no values.
    prov.select_option("#rule-name", "keep")
    prov.fill("#rule-params", "{}")
    prov.click("#do-preview")
    assert prov.query_selector("#refused") is not None
    assert prov.query_selector("#preview-values") is None
    assert not any(value in prov.content() for value in raw)
    # Save a full redaction: it changes an L4 column, so it waits for an operator.
    prov.select_option("#rule-name", "redact")
    prov.click("#do-save")
    prov.wait_for_selector("#pending")
    assert prov.query_selector("#approve-policy") is None  # providers do not decide it
    op = w.page("op")
    w.go(op, "")
    assert op.query_selector("#waits li[data-key=wait_policies]") is not None
    w.go(op, "catalog/households/policy")
    op.click("#approve-policy")
    op.wait_for_selector("#flash.ok")
    assert op.query_selector("#pending") is None
    rule = op.locator('tr.rule[data-column="公民身份号码"] td.rule-name').inner_text()
    assert rule == "redact"
    # Parameters that are not a JSON object: one line, nothing written.
    prov2 = w.page("prov")
    w.go(prov2, "catalog/households/policy")
    prov2.fill("#rule-params", "[1, 2")
    prov2.click("#do-save")
    assert "JSON object" in prov2.inner_text("#flash")
    # Someone else's data: no form, and the API refuses a forged preview.
    other = w.page("prov-tax")
    w.go(other, "catalog/households/policy")
    assert other.query_selector("#change") is None
    forged = other.request.post(w.url + "catalog/households/policy", form={
        "_csrf": w.csrf("prov-tax"), "column": "公民身份号码", "rule": "keep",
        "params": "{}", "do": "preview"})  # fmt: skip
    assert forged.ok and "not a provider reviewer" in html.unescape(forged.text())
    assert not any(value in forged.text() for value in raw)


def test_sample_builds_and_masked_examples_on_the_dataset_page(console_world: ConsoleWorld) -> None:
    from sandbox.builder import BuildRequest, SampleBuilder
    from sandbox.policy import Policies

    w = console_world
    Policies(w.platform, "prov").set_rule("households", "月收入", "numeric_bucket", {"width": 1000})
    SampleBuilder(w.platform, actor="prov").build(BuildRequest("households", rows=30))
    prov = w.page("prov")
    w.go(prov, "catalog/households")
    build = prov.inner_text("#builds tr.build")
    assert "published" in build and "passed" in build
    cells = [td.inner_text() for td in prov.query_selector_all("#examples td")]
    assert cells and not any(r["公民身份号码"] in " ".join(cells) for r in chinese_rows(40))
    dev = w.page("dev")
    w.go(dev, "catalog/households")
    assert dev.query_selector("#builds") is not None and dev.query_selector("#examples") is None
    # The lineage of the sample: drawn from the source, as SVG elements only.
    w.go(prov, "catalog/households.sample")
    assert prov.query_selector("svg#lineage rect.here") is not None
    assert "households" in prov.text_content("svg#lineage")
    no_inline(prov.content())


def test_api_down_is_a_clear_page_and_nothing_half_done(console_world: ConsoleWorld) -> None:
    from tests.labeling_world import free_port

    w = console_world
    page = w.page("op")
    w.go(page, "contracts")
    before = w.console.api_url
    w.console.api_url = f"http://127.0.0.1:{free_port()}/services/trustlab-api"
    try:
        resp = w.go(page, "catalog")
        assert resp.status == 503 and "could not reach the platform API" in page.inner_text(
            "#message")  # fmt: skip
    finally:
        w.console.api_url = before


def test_forms_work_from_the_keyboard(console_world: ConsoleWorld) -> None:
    w = console_world
    ref = Contracts(w.platform).request("p1", "households", "dev", ["sandbox"])["ref"]
    prov = w.page("prov")
    w.go(prov, f"contracts/{ref}")
    for _ in range(60):  # Tab through the page to the approve button, then Enter
        prov.keyboard.press("Tab")
        if prov.evaluate("document.activeElement.id") == "approve-provider":
            break
    else:
        pytest.fail("the approve button is not reachable with Tab")
    prov.keyboard.press("Enter")
    prov.wait_for_selector("#flash.ok")


SHOTS = [  # (who, path, file): each page as the role that uses it
    ("prov", "", "home"),
    ("prov", "catalog", "catalog"),
    ("prov", "catalog/households", "dataset"),
    ("prov", "catalog/households/policy", "policy"),
    ("prov", "catalog/households.sample", "lineage"),
    ("prov", "catalog/register", "register"),
    ("dev", "contracts/request/households", "request"),
    ("op", "contracts", "contracts"),
    ("prov", "contracts/req-p1-households", "contract"),
    ("aud", "ledger?verify=1", "ledger"),
    ("adm", "people", "people"),
    ("dev", "no/such/page", "not-found"),
]


def test_chinese_pages_render_with_cjk_fonts(console_world: ConsoleWorld, tmp_path: Any) -> None:
    """Every page in Simplified Chinese, drawn with a CJK font (not boxes): Chromium says
    which font it used for the heading. TRUSTLAB_SCREENSHOTS=docs/console keeps the
    pictures for docs/console.md (they are looked at, not only asserted on)."""
    import os

    w = console_world
    out = Path(os.environ.get("TRUSTLAB_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    for lang in ("zh-CN", "en"):
        for who, path, name in SHOTS:
            page = w.page(who, lang=lang)
            w.go(page, path)
            no_inline(page.content())
            if lang == "zh-CN":
                cdp = page.context.new_cdp_session(page)
                cdp.send("DOM.enable")
                cdp.send("CSS.enable")
                root = cdp.send("DOM.getDocument")["root"]["nodeId"]
                h1 = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "h1"})["nodeId"]
                fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": h1})["fonts"]
                assert any("CJK" in f["familyName"] for f in fonts), (path, fonts)
            page.screenshot(path=str(out / f"{name}.{lang}.png"), full_page=True)
            assert page.csp_errors == [], (path, page.csp_errors)


def test_a_provider_registers_an_uploaded_file(console_world: ConsoleWorld) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    w = console_world
    table = pa.table({"plate": ["浙A12345", "沪B67890", "京C13579"] * 20,
                      "trips": list(range(60)), "email": [f"u{i}@example.cn" for i in range(60)]})  # fmt: skip
    path = w.tmp / "vehicles.parquet"
    pq.write_table(table, path)
    prov = w.page("prov")
    w.go(prov, "catalog")
    prov.click("#register-link")
    no_inline(prov.content())
    assert [o.inner_text() for o in prov.query_selector_all("#reg-owner option")] == [
        "civil-affairs"]  # a provider registers for its own organisation only  # fmt: skip
    prov.fill("#reg-name", "vehicles")
    prov.set_input_files("#reg-file", str(path))
    prov.click("#register")
    prov.wait_for_selector("#flash.ok")
    assert prov.inner_text("h1").endswith("vehicles")
    pii = {r.get_attribute("data-column"): r.query_selector("td.pii").inner_text()
           for r in prov.query_selector_all("tr.column")}  # fmt: skip
    assert pii == {"plate": "plate", "trips": "none", "email": "email"}
    assert prov.inner_text("#classification-status") == "proposed"
    # A file it cannot read: one line, the form keeps what was typed, nothing is kept.
    bad = w.tmp / "notes.pdf"
    bad.write_bytes(b"%PDF-1.4 not a table")
    uploads = w.platform.settings.home / "ingest" / "uploads"
    before = sorted(uploads.iterdir())
    w.go(prov, "catalog/register")
    prov.fill("#reg-name", "notes")
    prov.set_input_files("#reg-file", str(bad))
    prov.click("#register")
    assert ".csv, .tsv, .txt or .parquet" in prov.inner_text("#register-error")
    assert prov.input_value("#reg-name") == "notes"
    broken = w.tmp / "broken.csv"
    broken.write_bytes(b"")
    prov.set_input_files("#reg-file", str(broken))
    prov.click("#register")
    assert "empty" in prov.inner_text("#register-error")
    assert sorted(uploads.iterdir()) == before
    names = [d["name"] for d in Catalog(w.platform).list()]
    assert "notes" not in names
    # Another organisation's provider may not register for this one (a forged post).
    other = w.page("prov-tax")
    forged = other.request.post(w.url + "catalog/register", multipart={
        "_csrf": w.csrf("prov-tax"), "name": "sneaky", "owner": "civil-affairs",
        "kind": "file", "file": {"name": "v.parquet", "mimeType": "application/octet-stream",
                                 "buffer": path.read_bytes()}})  # fmt: skip
    assert forged.status == 400
    assert "not a provider reviewer of 'civil-affairs'" in html.unescape(forged.text())
    assert sorted(uploads.iterdir()) == before


@pytest.mark.postgres
def test_an_operator_registers_a_database_table(
    console_world: ConsoleWorld, postgres_admin: str
) -> None:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    w = console_world
    schema = f"console_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
    url = make_url(postgres_admin)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'CREATE TABLE "{schema}".clinics (clinic TEXT, phone TEXT)'))
            conn.execute(
                text(
                    f"INSERT INTO {schema}.clinics SELECT 'clinic ' || g, "
                    "'1380013' || lpad(g::text, 4, '0') FROM generate_series(1, 50) g"
                )
            )
        op = w.page("op")
        w.go(op, "catalog/register")
        op.fill("#reg-name", "clinics")
        op.select_option("#reg-owner", "tax-bureau")
        op.check("#kind-sql")
        op.fill("#reg-sql-url", url.set(password=None).render_as_string(hide_password=False))
        op.fill("#reg-sql-password", url.password or "")
        op.fill("#reg-table", f"{schema}.clinics")
        op.click("#register")
        op.wait_for_selector("#flash.ok")
        phone = op.query_selector('tr.column[data-column="phone"] td.pii').inner_text()
        assert phone == "mobile"
        secret = f":{url.password}@"  # the password as it sits in a URL
        assert url.password and secret not in op.content()
        assert secret not in json.dumps(Catalog(w.platform).show("clinics"))
        with w.platform.db.session() as session:
            entries = w.platform.ledger.entries(session, 20, subject="dataset:clinics")
        assert entries and secret not in json.dumps(entries)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_a_developer_requests_a_dataset_from_its_page(console_world: ConsoleWorld) -> None:
    w = console_world
    dev = w.page("dev")
    w.go(dev, "catalog/households")
    dev.click("#request-link")
    no_inline(dev.content())
    dev.uncheck("#mode-pipeline")
    dev.fill("#req-days", "30")
    dev.fill("#req-purpose", "district statistics for the transport plan")
    dev.click("#send-request")
    dev.wait_for_selector("#flash.ok")
    ref = dev.url.rsplit("/", 1)[-1].split("?")[0]
    shown = Contracts(w.platform).show(ref)
    assert shown["party"] == "p1" and shown["objects"][0]["modes"] == ["sandbox"]
    assert shown["purpose"]["text"] == "district statistics for the transport plan"
    # No mode ticked: the API's one-line reason, the form as it was.
    w.go(dev, "catalog/households")
    dev.click("#request-link")
    dev.uncheck("#mode-sandbox")
    dev.uncheck("#mode-pipeline")
    dev.fill("#req-purpose", "nothing")
    dev.click("#send-request")
    assert dev.query_selector("#request-error") is not None
    assert dev.input_value("#req-purpose") == "nothing"
    # A raw source without a confirmed classification offers no request.
    w.go(dev, "catalog/residents")
    assert dev.query_selector("#request-link") is None or (
        Catalog(w.platform).show("residents")["classification_status"] == "confirmed"
    )
    # Someone in no project is told so.
    op = w.page("op")
    w.go(op, "contracts/request/households")
    assert op.query_selector("#no-projects") is not None
