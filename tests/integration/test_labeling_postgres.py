"""The embedded Label Studio on PostgreSQL (``TRUSTLAB_LABELSTUDIO_DATABASE_URL``): a fresh
database on the test server is migrated on first start, and trustlab's whole client path —
projects, batched imports, an annotator's account and answer, export snapshots — works on
it, with every row in PostgreSQL and no SQLite file beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.settings import Settings
from labeling.server import LabelStudioServer
from labeling.studio import Studio
from tests.labeling_world import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_label_studio_runs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = Settings(home=tmp_path, labelstudio_port=free_port(),
                        labelstudio_database_url=postgres_url)  # fmt: skip
    server = LabelStudioServer(settings)
    server.start(log=lambda _m: None, tied=True)
    try:
        admin = Studio(server)
        pid = admin.create_project("pg · ann", '<View><Text name="text" value="$text"/>'
                                   '<Choices name="c" toName="text"><Choice value="是"/>'
                                   '<Choice value="否"/></Choices></View>', "on PostgreSQL")  # fmt: skip
        tasks = [{"data": {"text": f"第{i}条"}, "meta": {"trustlab_key": f"k{i}"}}
                 for i in range(250)]  # fmt: skip
        ids = admin.import_tasks(pid, tasks, batch=100)
        assert len(ids) == 250 == len(set(ids))
        account = admin.account("ann-pg")
        annotator = Studio(server, token=account["token"])
        result = [{"from_name": "c", "to_name": "text", "type": "choices",
                   "value": {"choices": ["是"]}}]  # fmt: skip
        annotator.annotate(ids[7], result, lead_time=1.5)
        (done,) = admin.snapshot(pid)
        assert done["id"] == ids[7] and done["data"]["text"] == "第7条"
        assert done["annotations"][0]["result"][0]["value"]["choices"] == ["是"]
    finally:
        server.stop()
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM task")).scalar() == 250
        assert conn.execute(text("SELECT count(*) FROM task_completion")).scalar() == 1
        emails = conn.execute(text("SELECT email FROM htx_user")).scalars().all()
    engine.dispose()
    assert account["email"] in emails
    assert not list((tmp_path / "labelstudio").rglob("*.sqlite3"))
