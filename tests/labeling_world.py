"""A real Label Studio server for the labeling tests, and the people and contracts a
labeling project needs.

One embedded Label Studio per test session (its first start migrates its database, ~30 s),
on a free port, tied to the test process: it ends with it, however the run ends. Each
test platform uses it as an external server (``labelstudio_url`` + the admin token file),
and its accounts carry the platform's install id, so platforms never collide.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from hub.contracts import Contracts
from hub.identity import Directory, Role
from hub.platform import Platform
from hub.settings import Settings
from labeling.server import LabelStudioServer
from labeling.studio import Studio

PEOPLE = {
    "dev": [Role("developer")],
    "prov": [Role("provider", "civil-affairs")],
    "op": [Role("operator")],
    "aud": [Role("auditor")],
    "ann-a": [Role("annotator")],
    "ann-b": [Role("annotator")],
    "rev": [Role("annotator")],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    home = tmp_path_factory.mktemp("label-studio")
    server = LabelStudioServer(Settings(home=home, labelstudio_port=free_port()))
    server.start(log=lambda _m: None, tied=True)
    yield server
    server.stop()


def use_server(settings: Settings, server: LabelStudioServer) -> Settings:
    """``settings`` pointed at the session's server, its admin token in place."""
    media = server.media_root / settings.home.name  # inside the server's document root
    s = settings.model_copy(
        update={
            "labelstudio_url": server.url,
            "media_root": media,
            "labelstudio_document_root": server.document_root,
        }
    )
    (s.home / "labelstudio").mkdir(parents=True, exist_ok=True)
    token = s.home / "labelstudio" / "admin-token"
    token.write_text(server.admin_token())
    token.chmod(0o600)
    return s


def people(platform: Platform) -> None:
    d = Directory(platform)
    if "civil-affairs" not in {o["name"] for o in d.list_orgs()}:
        d.create_org("civil-affairs", "admin")
    known = {u["name"] for u in d.list_users()}
    for name, roles in PEOPLE.items():
        if name not in known:
            d.add_user(name, roles, None, "admin")


def contract(platform: Platform, project: str, dataset: str, modes: list[str]) -> str:
    c = Contracts(platform)
    ref = c.request(project, dataset, "dev", modes)["ref"]
    c.decide(ref, "prov", True)
    return c.decide(ref, "op", True)["ref"]


def as_person(platform: Platform, person: str) -> Studio:
    """Label Studio as ``person`` does it: with their own account's token."""
    from labeling.projects import Projects

    server = Projects(platform).server
    account = Studio(server).account(person)
    return Studio(server, token=account["token"])


def ls_project_ids(server: LabelStudioServer) -> set[int]:
    return {int(p.id) for p in Studio(server).ls.projects.list()}


@contextlib.contextmanager
def suggestions_service(platform: Platform) -> Iterator[Platform]:
    """trustlab's ML backend for ``platform``, on its loopback address and a free port, as
    a platform whose settings name that port."""
    import threading

    import uvicorn

    from labeling.backend import create_app

    host = platform.settings.labeling_ml_host
    with socket.socket() as s:
        s.bind((host, 0))
        port = int(s.getsockname()[1])
    p = Platform(platform.settings.model_copy(update={"labeling_ml_port": port}))
    server = uvicorn.Server(uvicorn.Config(create_app(p), host=host, port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    try:
        yield p
    finally:
        server.should_exit = True
        thread.join(10)
        p.close()
