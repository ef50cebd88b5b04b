"""The console: a JupyterHub service for reviewers, operators and auditors.

People log in through the hub (OAuth), so the console knows the same identity and roles as
everywhere else. The console itself has only the frame (login, language, navigation);
feature packages add pages through the ``trustlab.console`` entry point group: each is a
function ``register(console)`` that adds routes to ``console.router`` and a nav entry.

Text is English or Simplified Chinese, switchable per user (``/lang/zh-CN``, remembered for
the user and in the browser); pages call ``console.t(request, "key")`` and feature packages
add their messages with ``console.messages(...)``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from hub.platform import Platform
from hub.plugins import plugins

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/trustlab-console/")
TEMPLATES = Path(__file__).with_name("templates")
COOKIE = "trustlab-console"
LANG_COOKIE = "trustlab-lang"
LANGS = ("en", "zh-CN")

BASE_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "trustlab console",
        "signed_in_as": "Signed in as",
        "roles": "roles",
        "home": "Home",
        "welcome": "Choose a page above.",
        "forbidden": "You do not hold the role this needs.",
        "language": "中文",
    },
    "zh-CN": {
        "title": "trustlab 控制台",
        "signed_in_as": "当前用户",
        "roles": "角色",
        "home": "首页",
        "welcome": "请从上方选择页面。",
        "forbidden": "您没有执行此操作所需的角色。",
        "language": "English",
    },
}


class Console:
    """What a page plugin sees: the platform, the router, identity, i18n, layout."""

    def __init__(self, platform: Platform, secret: bytes) -> None:
        self.platform = platform
        self.secret = secret
        s = platform.settings
        self.api_url = os.environ.get(
            "TRUSTLAB_CONSOLE_API_URL", f"http://127.0.0.1:{s.api_port}/services/trustlab-api"
        )
        self.router = APIRouter()
        self.nav: list[tuple[str, str]] = []  # (path under PREFIX, message key)
        self._messages: dict[str, dict[str, str]] = {k: dict(v) for k, v in BASE_MESSAGES.items()}
        self._loaders: list[Any] = [FileSystemLoader(str(TEMPLATES))]
        self._env = Environment(loader=ChoiceLoader(self._loaders), autoescape=True,
                                trim_blocks=True, lstrip_blocks=True)  # fmt: skip

    # --- i18n ----------------------------------------------------------------------------

    def messages(self, table: dict[str, dict[str, str]]) -> None:
        for lang, entries in table.items():
            self._messages.setdefault(lang, {}).update(entries)

    def lang(self, request: Request) -> str:
        """The browser's choice (cookie), else the user's saved choice, else English."""
        lang = request.cookies.get(LANG_COOKIE)
        if lang in LANGS:
            return lang
        user = self.current_user(request)
        return self.preferences().get(user, "en") if user else "en"

    @property
    def _prefs_file(self) -> Any:
        return self.platform.settings.home / "hub" / "console-languages.json"

    def preferences(self) -> dict[str, str]:
        import json

        try:
            return json.loads(self._prefs_file.read_text())
        except (OSError, ValueError):
            return {}

    def remember_language(self, user: str, lang: str) -> None:
        """Per user, so the choice follows the reviewer to another browser."""
        import json

        prefs = {**self.preferences(), user: lang}
        self._prefs_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._prefs_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(prefs, ensure_ascii=False, indent=1))
        tmp.replace(self._prefs_file)

    def t(self, request: Request, key: str, **kw: Any) -> str:
        text = self._messages[self.lang(request)].get(key) or self._messages["en"].get(key, key)
        return text.format(**kw) if kw else text

    # --- identity ------------------------------------------------------------------------

    def sign(self, value: str) -> str:
        mac = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}|{mac}"

    def unsign(self, token: str | None) -> str | None:
        if not token or "|" not in token:
            return None
        value, mac = token.rsplit("|", 1)
        good = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, good) else None

    def _session(self, request: Request) -> tuple[str, str] | None:
        """(user, hub token) of a signed, unexpired console session."""
        session = self.unsign(request.cookies.get(COOKIE))
        if session:
            name, expires, token = [*session.split(":", 2), "", ""][:3]
            if expires.isdigit() and int(expires) > time.time():
                return name, token
        return None

    def current_user(self, request: Request) -> str | None:
        session = self._session(request)
        return session[0] if session else None

    def api(self, request: Request) -> Any:
        """The platform API as the logged-in reviewer: the console's pages are its clients
        and hold no rules of their own (the API decides, with this person's token)."""
        from hub.client import PlatformClient

        session = self._session(request)
        if session is None or not session[1]:
            raise _LoginRequired()
        return PlatformClient(self.api_url, session[1], timeout=1800)

    def user(self, request: Request) -> str:
        """The logged-in user, or a redirect to the hub's login (raised)."""
        name = self.current_user(request)
        if name is None:
            raise _LoginRequired()
        return name

    def roles(self, user: str) -> list[Any]:
        from hub.identity import Directory

        return Directory(self.platform).roles(user)

    def csrf(self, request: Request) -> str:
        return hmac.new(self.secret, (request.cookies.get(COOKIE) or "").encode(),
                        "sha256").hexdigest()[:32]  # fmt: skip

    async def form(self, request: Request) -> dict[str, str]:
        """The POSTed form, after checking its CSRF token."""
        data = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not hmac.compare_digest(data.get("_csrf", ""), self.csrf(request)):
            raise HTTPException(403, "stale form; reload the page")
        return data

    # --- layout --------------------------------------------------------------------------

    def templates(self, folder: Path) -> None:
        """Add a feature's template folder (its templates may extend ``page.html``)."""
        self._loaders.append(FileSystemLoader(str(folder)))

    def render(
        self, request: Request, template: str, title: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """``template`` (Jinja2, autoescaped) inside the console's frame, in the reader's
        language."""
        user = self.user(request)
        lang = self.lang(request)
        frame = {
            "lang": lang,
            "other": "zh-CN" if lang == "en" else "en",
            "t": lambda key, **kw: self.t(request, key, **kw),
            "nav": [("", "home"), *self.nav],
            "prefix": PREFIX,
            "user": user,
            "roles": ", ".join(str(r) for r in self.roles(user)) or "-",
            "css": CSS,
            "title": title,
        }
        html_text = self._env.get_template(template).render(**frame, **context)
        return HTMLResponse(html_text, status_code=status)

    def page(self, request: Request, title: str, message: str, status: int = 200) -> HTMLResponse:
        """A page holding one message (text, escaped)."""
        return self.render(request, "message.html", title, status, message=message)


class _LoginRequired(Exception):
    pass


def same_origin(request: Request, target: str | None) -> str:
    """``target`` as a path inside the console when it is on this very origin, else the
    console's home: a redirect never leaves the console (no open redirect)."""
    from urllib.parse import urlsplit

    if not target:
        return PREFIX
    parts = urlsplit(target)
    if parts.scheme not in ("", "http", "https") or (
        parts.netloc and parts.netloc != request.url.netloc
    ):
        return PREFIX
    path = parts.path
    if not path.startswith(PREFIX) or "\\" in target or path.startswith("//"):
        return PREFIX
    return path + (f"?{parts.query}" if parts.query else "")


CSS = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;color:#1d2330}
header{background:#1d2330;color:#fff;padding:.6em 1em;display:flex;gap:1.5em;align-items:center}
header a{color:#9cd2ff;margin-right:.8em} .who{margin-left:auto}
main{padding:1em 2em} table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccd;padding:.25em .6em;text-align:left;vertical-align:top}
pre{background:#f5f6fa;padding:.6em;overflow:auto} .high{color:#b00020;font-weight:bold}
.ok{color:#1b7f3b} .bad{color:#b00020} .add{background:#e6ffed} .del{background:#ffeef0}
.finding{background:#fff3cd} button{padding:.4em 1em;margin:.3em}
.inline{display:inline} td.n{text-align:right}
"""


def create_app(platform: Platform | None = None, hub_api: str | None = None,
               transport: Any = None) -> FastAPI:  # fmt: skip
    platform = platform or Platform()
    platform.init()
    secret = (os.environ.get("JUPYTERHUB_API_TOKEN") or secrets.token_hex(32)).encode()
    console = Console(platform, secret)
    hub_api = hub_api or os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    public_hub = os.environ.get("TRUSTLAB_CONSOLE_HUB_URL", "")  # browser-facing hub prefix
    client_id = os.environ.get("JUPYTERHUB_CLIENT_ID", "service-trustlab-console")
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    redirect_uri = os.environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL", "")
    app = FastAPI(title="trustlab console", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_LoginRequired)
    async def login(request: Request, exc: _LoginRequired) -> Response:
        state = secrets.token_urlsafe(16)
        query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri,
                           "response_type": "code", "state": state})  # fmt: skip
        resp = RedirectResponse(f"{public_hub}/hub/api/oauth2/authorize?{query}", 302)
        resp.set_cookie("trustlab-oauth-state", console.sign(f"{state}:{request.url.path}"),
                        httponly=True, samesite="lax", max_age=600)  # fmt: skip
        return resp

    @app.get(PREFIX + "oauth_callback")
    async def oauth_callback(request: Request, code: str = "", state: str = "") -> Response:
        stored = console.unsign(request.cookies.get("trustlab-oauth-state"))
        if not stored or not state or not stored.startswith(state + ":"):
            raise HTTPException(400, "OAuth state mismatch; start again from the console")
        async with httpx.AsyncClient(timeout=15, transport=transport) as client:
            resp = await client.post(f"{hub_api}/oauth2/token", data={
                "client_id": client_id, "client_secret": token, "grant_type":
                "authorization_code", "code": code, "redirect_uri": redirect_uri})  # fmt: skip
            if resp.status_code != 200:
                raise HTTPException(403, "the hub refused the login")
            access = resp.json()["access_token"]
            who = await client.get(f"{hub_api}/user", headers={"Authorization": f"token {access}"})
        if who.status_code != 200:
            raise HTTPException(403, "the hub refused the login")
        name = who.json()["name"]
        out = RedirectResponse(same_origin(request, stored.split(":", 1)[1]), 302)
        # The reviewer's own hub token (scoped to the console and the platform API) rides in
        # the signed, httponly session cookie: pages call the API as that person.
        session = f"{name}:{int(time.time()) + 8 * 3600}:{access}"
        out.set_cookie(COOKIE, console.sign(session), httponly=True, samesite="lax",
                       path=PREFIX)  # fmt: skip
        out.delete_cookie("trustlab-oauth-state")
        return out

    @app.get(PREFIX + "lang/{lang}")
    async def set_lang(request: Request, lang: str) -> Response:
        if lang not in LANGS:
            raise HTTPException(404, "unknown language")
        user = console.current_user(request)
        if user:
            console.remember_language(user, lang)
        resp = RedirectResponse(same_origin(request, request.headers.get("referer")), 302)
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path=PREFIX)
        return resp

    @app.get(PREFIX)
    def home(request: Request) -> HTMLResponse:  # reads roles: in the thread pool
        return console.render(request, "home.html", console.t(request, "home"))

    for _, ep in sorted(plugins("trustlab.console").items()):
        register: Callable[[Console], None] = ep.load()
        register(console)
    app.include_router(console.router, prefix=PREFIX.rstrip("/"))
    app.state.console = console
    return app


def main() -> None:
    from urllib.parse import urlparse

    import uvicorn

    from hub.orphan import exit_with_parent

    exit_with_parent()
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8100"))
    uvicorn.run(create_app(), host=url.hostname or "127.0.0.1", port=url.port or 8100,
                log_level="warning")  # fmt: skip


if __name__ == "__main__":
    main()
