"""An annotator labels a task in Label Studio's own UI, in real Chromium, with the login
trustlab made for them; trustlab then reads the answer back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hub.derived import DerivedColumn, DerivedVersion, add_derived_version
from hub.identity import Directory
from hub.platform import Platform
from hub.settings import Settings
from labeling.progress import Progress
from labeling.projects import ProjectRequest, Projects
from labeling.server import LabelStudioServer
from labeling.studio import Accounts
from tests.labeling_world import contract, label_studio, people, use_server

__all__ = ["label_studio"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
TEXTS = ["服务态度很好，办理很快", "排队两个小时还没办完", "材料已提交"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          label_studio: LabelStudioServer) -> Iterator[Platform]:  # fmt: skip
    home = tmp_path_factory.mktemp("label-ui-home")
    p = Platform(use_server(Settings(home=home), label_studio))
    p.init()
    people(p)
    Directory(p).create_project("feedback", "", ["dev"], "admin")
    folder = home / "lake" / "products" / "feedback_notes" / "v1"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"note": TEXTS}), folder / "part-00000.parquet")
    with p.db.session() as s:
        add_derived_version(s, "feedback_notes", "product", "civil-affairs", DerivedVersion(
            content_hash="f" * 64, hash_algorithm="sha256", location=str(folder),
            rows=len(TEXTS), size_bytes=1, columns=[DerivedColumn("note", "string")]),
            "production", "review:test")  # fmt: skip
    contract(p, "feedback", "feedback_notes", ["labeling"])
    yield p
    p.close()


def test_an_annotator_labels_a_task_in_chromium(world: Platform, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; `make test` installs it")
    req = ProjectRequest(name="sentiment", project="feedback", dataset="feedback_notes",
                         template="text-classification", labels=["正面", "负面", "中性"],
                         annotators=["ann-a"], fields={"text": "note"})  # fmt: skip
    info = Projects(world).create(req, "dev")
    account = Accounts(world.settings.home).get("ann-a")
    url = info["label_studio"]["ann-a"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        try:
            page.goto(f"{world.settings.labelstudio_url}/user/login/")
            page.fill("input[name=email]", account["email"])
            page.fill("input[name=password]", account["password"])
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/user/login" not in u, timeout=30_000)
            page.goto(f"{url}data?labeling=1")
            text = page.locator(".lsf-richtext, [class*=richtext]").first
            text.wait_for(timeout=60_000)
            shown = text.inner_text()
            assert shown in TEXTS  # the task's own text, nothing else
            choice = "负面" if "排队" in shown else "正面"
            page.locator("label", has_text=choice).first.click()
            with page.expect_response(lambda r: "/api/tasks/" in r.url and "annotations" in r.url
                                      and r.request.method == "POST") as saved:  # fmt: skip
                page.get_by_test_id("bottombar-submit-button").click()
            assert saved.value.status == 201
        except Exception:
            page.screenshot(path=str(tmp_path / "label-studio.png"))
            raise
        finally:
            browser.close()
    assert Progress(world).sync("sentiment", "dev")["labeled"] == 1
    status = Progress(world).status("sentiment")
    assert status["annotators"]["ann-a"]["done"] == 1
    from sqlalchemy import select

    from labeling.models import LabelAssignment, LabelTask

    with world.db.session() as s:
        done = s.execute(select(LabelTask.data, LabelAssignment.result).join(LabelAssignment)
                         .where(LabelAssignment.result.is_not(None))).one()  # fmt: skip
    text_of, result = json.loads(done[0])["text"], json.loads(done[1])
    assert result[0]["value"]["choices"] == ["负面" if "排队" in text_of else "正面"]
