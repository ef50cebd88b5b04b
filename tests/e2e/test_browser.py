"""A developer in a real browser: log in, open a dev sandbox, read the sample, see masked IDs.

Playwright drives Debian's Chromium (never a downloaded browser)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import HubUnderTest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CODE = 'from sandbox.runtime import load\nprint("IDS", load("people", engine="pandas")["id_number"].head(3).tolist())'


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; `make test` installs it")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def developer_in_jupyterlab(browser, hub: HubUnderTest, name: str, password: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A new developer of project ``demo``, logged in through the hub's page, its dev
    sandbox spawned from the form and a fresh notebook's first cell focused; the page."""
    password_file = tmp_path / f"{name}.pw"
    password_file.write_text(password)
    assert hub.as_user("demo-admin", "user", "add", name, "--role", "developer",
                       "--password-file", str(password_file)).returncode == 0  # fmt: skip
    done = hub.as_user("demo-operator", "project", "add-member", "demo", name)
    assert done.returncode == 0, done.stderr
    page = browser.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    # The spawn form offers the user's projects and both profiles.
    page.wait_for_selector("select#project")
    page.select_option("select#project", "demo")
    page.select_option("select#profile", "dev")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=180_000)
    try:
        page.locator(".jp-LauncherCard[data-category='Notebook']").first.click()
        editor = page.locator(".jp-NotebookPanel .jp-Cell .cm-content").first
        editor.wait_for()
        # the kernel is connected and idle (status bar), so the cell really runs
        page.get_by_text(re.compile(r"\| Idle$")).wait_for()
        editor.click()
    except Exception:
        page.screenshot(path=str(tmp_path / f"{name}.png"))
        raise
    return page


def test_developer_reads_masked_sample_in_jupyterlab(
    browser, hub_under_test: HubUnderTest, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    hub = hub_under_test
    page = developer_in_jupyterlab(browser, hub, "browser-dev", "browser-pass-123", tmp_path)
    try:
        page.keyboard.type(CODE)
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="IDS")
        output.wait_for(timeout=120_000)
        text = output.inner_text()
    except Exception:
        page.screenshot(path=str(tmp_path / "jupyterlab.png"))
        raise
    ids = re.findall(r"'([^']*)'", text)
    assert len(ids) == 3, text
    assert all(re.fullmatch(r"\d{6}\*{8}[\dX]{4}", i) for i in ids), ids
    page.close()

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cells = [c for c in hub.ledger("sandbox.cell") if c["actor"] == "browser-dev"]
        if any('load("people"' in c["payload"]["code"] for c in cells):
            break
        time.sleep(0.5)
    matching = [c for c in cells if 'load("people"' in c["payload"]["code"]]
    assert matching and matching[-1]["payload"]["status"] == "ok"
    assert matching[-1]["subject"] == "project:demo"
    hub.stop("browser-dev")


# One line (the editor auto-closes brackets and indents new lines): write a pipeline into
# the work volume and submit it, dry run included, through the platform API as the user.
JOURNEY = (
    'import pathlib; d = pathlib.Path("journey"); d.mkdir(exist_ok=True); '
    "(d / 'pipeline.toml').write_text(\"name = 'journey'\\ninputs = ['people']\\n"
    "outputs = ['journey_out']\\n\"); "
    "(d / 'main.py').write_text(\"from pyspark.sql import functions as F\\n\\n"
    "def run(ctx):\\n    ctx.write('journey_out', ctx.read('people').groupBy('district')"
    ".agg(F.count('*').alias('n')))\\n\"); "
    "from pipelines.client import submit; v = submit(str(d), dry_run=True); "
    "print('VERSION', v['version'], v['state'], v['submitted_by'])"
)


def test_journey_notebook_submission_then_console_approvals(
    browser, hub_under_test: HubUnderTest, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """A developer writes and submits a pipeline from a notebook cell in JupyterLab; the
    provider and the operator approve it in the console; the ledger names all three."""
    from test_console import login

    hub = hub_under_test
    page = developer_in_jupyterlab(browser, hub, "journey-dev", "journey-pass-123", tmp_path)
    try:
        page.keyboard.type(JOURNEY)
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="VERSION")
        output.wait_for(timeout=600_000)
        text = output.inner_text()
    except Exception:
        page.screenshot(path=str(tmp_path / "journey.png"))
        raise
    finally:
        page.close()
    _, version, state, submitter = text.split()[:4]
    assert (state, submitter) == ("in_review", "journey-dev"), text

    for reviewer, button in (("demo-provider", "#approve-provider"),
                             ("demo-operator", "#approve-operator")):  # fmt: skip
        console = login(browser, hub, reviewer)
        console.goto(f"{hub.url}/services/trustlab-console/reviews/{version}")
        console.click(button)
        console.wait_for_selector("#flash.ok")
        console.context.close()
    entries = {(e["action"], e["actor"]) for e in hub.ledger_entries(version)}
    assert {("pipeline.submit", "journey-dev"), ("pipeline.dry_run", "journey-dev"),
            ("pipeline.approve", "demo-provider"), ("pipeline.approve", "demo-operator"),
            ("pipeline.approved", "demo-operator")} <= entries  # fmt: skip
    hub.stop("journey-dev")
