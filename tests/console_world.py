"""A platform, its platform API and the console, each a real server on a free loopback
port, and real Chromium: the console's pages as each role sees them.

The hub's part (OAuth login, tokens) is replaced by one thing only: the API's ``identify``
maps a token to the person of that name, and the browser carries a console session made
with the console's own signing key. The hub login itself is tested in tests/e2e.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub.catalog import Catalog, Registration
from hub.identity import Directory, Role
from hub.platform import Platform
from hub.settings import Settings
from tests.labeling_world import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PEOPLE = {
    "dev": [Role("developer")],
    "prov": [Role("provider", "civil-affairs")],
    "prov-tax": [Role("provider", "tax-bureau")],
    "op": [Role("operator")],
    "op2": [Role("operator")],
    "aud": [Role("auditor")],
    "adm": [Role("admin")],
}


def serve(app: Any) -> tuple[Any, threading.Thread, int]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    return server, thread, port


@dataclass
class ConsoleWorld:
    platform: Platform
    url: str  # the console's home
    console: Any
    api_port: int
    browser: Any
    tmp: Path
    contexts: list[Any] = field(default_factory=list)

    def page(self, user: str, lang: str = "en") -> Any:
        """A fresh browser (its own cookies) signed in to the console as ``user``."""
        from hub.console import COOKIE, LANG_COOKIE, PREFIX

        context = self.browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
        session = self.session(user)
        host = self.url.split("/")[2]
        context.add_cookies([
            {"name": COOKIE, "value": session, "domain": host.split(":")[0], "path": PREFIX},
            {"name": LANG_COOKIE, "value": lang, "domain": host.split(":")[0], "path": PREFIX},
        ])  # fmt: skip
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.csp_errors = []  # type: ignore[attr-defined]
        page.on("console", lambda m: page.csp_errors.append(m.text)  # type: ignore[attr-defined]
                if "Content Security Policy" in m.text else None)  # fmt: skip
        return page

    def session(self, user: str) -> str:
        """A console session cookie for ``user`` (whose token the API knows as them)."""
        return self.console.sign(f"{user}:{int(time.time()) // 60 * 60 + 3600}:{user}")

    def csrf(self, user: str) -> str:
        """The CSRF token the console puts in ``user``'s forms (this minute's session)."""
        import hmac

        return hmac.new(self.console.secret, self.session(user).encode(),
                        "sha256").hexdigest()[:32]  # fmt: skip

    def go(self, page: Any, path: str) -> Any:
        return page.goto(self.url + path)


def seed(platform: Platform, tmp: Path) -> None:
    from test_catalog import chinese_rows, write_csv

    d = Directory(platform)
    for org in ("civil-affairs", "tax-bureau"):
        d.create_org(org, "adm")
    for name, roles in PEOPLE.items():
        d.add_user(name, roles, "a-good-password", "adm")
    d.create_project("p1", "the console's test project", ["dev"], "op")
    csv = write_csv(tmp / "residents.csv", chinese_rows(40))
    Catalog(platform, "op").register(Registration(str(csv)), "residents", "civil-affairs")
    Catalog(platform, "op").register(Registration(str(csv)), "households", "civil-affairs")
    Catalog(platform, "prov").confirm("households")  # contracts need a confirmed source


@contextlib.contextmanager
def running_console(tmp: Path) -> Iterator[ConsoleWorld]:
    """The seeded platform, its API and console served, and Chromium, until the end."""
    from playwright.sync_api import sync_playwright

    from hub.api.app import PREFIX as API_PREFIX
    from hub.api.app import create_app as api_app
    from hub.console import create_app as console_app

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing; `make test` installs it")
    platform = Platform(Settings(home=tmp / "home", database_url=f"sqlite:///{tmp / 'm.db'}"))
    platform.init()
    seed(platform, tmp)
    known = set(PEOPLE)
    api = api_app(platform, identify=lambda t: {"kind": "user", "name": t} if t in known
                  else None)  # fmt: skip
    api_server, api_thread, api_port = serve(api)
    app = console_app(platform)
    console = app.state.console
    console.api_url = f"http://127.0.0.1:{api_port}{API_PREFIX.rstrip('/')}"
    server, thread, port = serve(app)
    from hub.console import PREFIX

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        world = ConsoleWorld(platform, f"http://127.0.0.1:{port}{PREFIX}", console, api_port,
                             browser, tmp)  # fmt: skip
        try:
            yield world
        finally:
            for context in world.contexts:
                with contextlib.suppress(Exception):
                    context.close()
            browser.close()
            for s, th in ((server, thread), (api_server, api_thread)):
                s.should_exit = True
                th.join(10)
            platform.close()
