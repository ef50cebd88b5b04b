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
from urllib.parse import parse_qs, quote, urlencode

import httpx
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader

from hub.console_kit import (
    BASE_MESSAGES,
    CSP,
    ERRORS,
    Changed,
    OnceTokens,
    Resubmitted,
    negotiate,
    paged,
)
from hub.platform import Platform
from hub.plugins import plugins

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/trustlab-console/")
TEMPLATES = Path(__file__).with_name("templates")
COOKIE = "trustlab-console"
LANG_COOKIE = "trustlab-lang"
LANGS = ("en", "zh-CN")


class Console:
    """What a page plugin sees: the API as the reader, the router, i18n, layout, forms."""

    def __init__(self, platform: Platform, secret: bytes) -> None:
        self.platform = platform  # settings only: pages read nothing but the API
        self.secret = secret
        s = platform.settings
        self.api_url = os.environ.get(
            "TRUSTLAB_CONSOLE_API_URL", f"http://127.0.0.1:{s.api_port}/services/trustlab-api"
        )
        self.router = APIRouter()
        # (path under PREFIX, message key, roles that see it or None for all, order)
        self._nav: list[tuple[str, str, tuple[str, ...] | None, int, str]] = []
        self.waits: list[tuple[Callable[[Request, Any, dict[str, Any]], list[dict]], str]] = []
        # namespace ("" is the frame's; each feature has its own) → language → key → text
        self._messages: dict[str, dict[str, dict[str, str]]] = {
            "": {k: dict(v) for k, v in BASE_MESSAGES.items()}
        }
        self._loaders: list[Any] = [FileSystemLoader(str(TEMPLATES))]
        self._env = Environment(loader=ChoiceLoader(self._loaders), autoescape=True,
                                trim_blocks=True, lstrip_blocks=True)  # fmt: skip
        self.forms = OnceTokens(secret)

    # --- navigation and the home page's "what waits for me" --------------------------------

    def add_nav(
        self,
        path: str,
        key: str,
        roles: tuple[str, ...] | None = None,
        order: int = 50,
        ns: str = "",
    ) -> None:
        """A nav entry; ``roles``: only people holding one of them see it (the API still
        decides what they may do: hiding a link is not a permission)."""
        self._nav.append((path, key, roles, order, ns))

    def add_waits(
        self, fn: Callable[[Request, Any, dict[str, Any]], list[dict]], ns: str = ""
    ) -> None:
        """``fn(request, api, me)`` → items ``{"key", "count", "href", "newest"}`` of what
        waits for this person (the home page lists them, newest first)."""
        self.waits.append((fn, ns))

    # --- i18n ----------------------------------------------------------------------------

    def messages(self, table: dict[str, dict[str, str]], ns: str = "") -> None:
        """Add messages to namespace ``ns`` (each feature has its own, so two features'
        keys never shadow each other; the frame's keys are the fallback)."""
        for lang, entries in table.items():
            self._messages.setdefault(ns, {}).setdefault(lang, {}).update(entries)

    def lang(self, request: Request) -> str:
        """The browser's switch (cookie), else the user's saved choice, else the browser's
        preference (Accept-Language), else English."""
        lang = request.cookies.get(LANG_COOKIE)
        if lang in LANGS:
            return lang
        user = self.current_user(request)
        saved = self.preferences().get(user) if user else None
        return saved if saved in LANGS else negotiate(request.headers.get("accept-language"))

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
        tmp = self._prefs_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(prefs, ensure_ascii=False, indent=1))
        tmp.replace(self._prefs_file)

    def t(self, request: Request, key: str, ns: str = "", **kw: Any) -> str:
        lang = self.lang(request)
        text = key
        for space, language in ((ns, lang), ("", lang), (ns, "en"), ("", "en")):
            found = self._messages.get(space, {}).get(language, {}).get(key)
            if found is not None:
                text = found
                break
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
        """The platform API as the logged-in person: the console's pages are its clients
        and hold no rules of their own (the API decides, with this person's token)."""
        from hub.client import PlatformClient

        session = self._session(request)
        if session is None or not session[1]:
            raise _LoginRequired()
        client = getattr(request.state, "api_client", None)
        if client is None or client.api_url != self.api_url.rstrip("/"):  # one per request
            client = request.state.api_client = PlatformClient(self.api_url, session[1],
                                                               timeout=1800)  # fmt: skip
        return client

    def user(self, request: Request) -> str:
        """The logged-in user, or a redirect to the hub's login (raised)."""
        name = self.current_user(request)
        if name is None:
            raise _LoginRequired()
        return name

    def one(self, request: Request, path: str, **params: Any) -> Any:
        """GET one object: one that does not exist and one this person may not see get the
        same answer (404), so a page never tells which objects exist."""
        from hub.client import ApiRefused
        from hub.errors import NotFound

        try:
            return self.api(request).get(path, **params)
        except ApiRefused as exc:
            if exc.status == 403:
                raise NotFound("not found") from None
            raise

    def me(self, request: Request) -> dict[str, Any]:
        """``GET /me`` as this person, once per request: name, roles, projects."""
        cached = getattr(request.state, "me", None)
        if cached is None:
            cached = request.state.me = self.api(request).get("/me")
        return cached

    def held(self, request: Request) -> list[Any]:
        """This person's roles (``role``, ``org``), as the API sees them."""
        from hub.identity import Role

        return [Role(*(r.split(":", 1) if ":" in r else (r, None)))
                for r in self.me(request)["roles"]]  # fmt: skip

    def holds(self, request: Request, *roles: str, org: str | None = None) -> bool:
        return any(r.role in roles and (org is None or r.org == org) for r in self.held(request))

    def csrf(self, request: Request) -> str:
        return hmac.new(self.secret, (request.cookies.get(COOKIE) or "").encode(),
                        "sha256").hexdigest()[:32]  # fmt: skip

    async def form(self, request: Request) -> dict[str, Any]:
        """The POSTed form, after checking its CSRF token and that it is not a second
        submission of the same form (a double click, a reload, the back button)."""
        self.user(request)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            parsed = await request.form(max_files=1, max_fields=40)  # files spool to disk
            data: dict[str, Any] = {k: parsed[k] for k in parsed}
        else:
            data = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not isinstance(data.get("_csrf", ""), str) or not hmac.compare_digest(
            data.get("_csrf", ""), self.csrf(request)
        ):
            raise HTTPException(403, "stale form; reload the page")
        if "_once" in data and not self.forms.use(data["_once"]):
            raise Resubmitted()
        return data

    async def act(
        self,
        request: Request,
        call: Callable[[], Any],
        back: str,
        now: Callable[[], str] | None = None,
        form: dict[str, Any] | None = None,
    ) -> Response:
        """Do ``call`` (an API call, in the thread pool) and go ``back`` with the outcome
        as a flash: done, or the API's one-line reason. With ``now``, first the optimistic
        check of ``form``'s ``_seen`` against what the object is now."""
        from hub.errors import TrustlabError

        def run() -> Response:
            if now is not None:
                self.unchanged(request, form or {}, now())
            try:
                call()
            except TrustlabError as exc:
                return RedirectResponse(f"{back}?error={quote(str(exc))}", 303)
            return RedirectResponse(f"{back}?done=1", 303)

        return await run_in_threadpool(run)

    def unchanged(self, request: Request, form: dict[str, str], now: str) -> None:
        """The optimistic check: the form carries what the page showed (``_seen``); if the
        object moved on meanwhile, refuse with what changed."""
        seen = form.get("_seen")
        if seen is not None and seen != now:
            raise Changed(f"{seen} → {now}")

    # --- layout --------------------------------------------------------------------------

    def templates(self, folder: Path) -> None:
        """Add a feature's template folder (its templates may extend ``page.html``)."""
        self._loaders.append(FileSystemLoader(str(folder)))

    def _frame(self, request: Request, title: str, ns: str = "") -> dict[str, Any]:
        from markupsafe import Markup

        user = self.current_user(request)
        lang = self.lang(request)
        roles: list[str] = []
        if user is not None:
            try:
                roles = list(self.me(request)["roles"])
            except Exception:  # an error page still renders without them
                roles = []
        held = {r.split(":", 1)[0] for r in roles}
        here = request.url.path.removeprefix(PREFIX)
        nav = [(p, self.t(request, k, ns=space), p == here or (p and here.startswith(p + "/")))
               for p, k, who, _, space in sorted(self._nav, key=lambda n: (n[3], n[0]))
               if who is None or held & set(who)]  # fmt: skip
        once = self.forms.issue() if user else ""
        csrf = self.csrf(request)
        hidden = Markup(
            f'<input type="hidden" name="_csrf" value="{csrf}">'
            f'<input type="hidden" name="_once" value="{once}">'
        )
        return {
            "lang": lang,
            "other": "zh-CN" if lang == "en" else "en",
            "t": lambda key, **kw: self.t(request, key, ns=ns, **kw),
            "nav": [("", self.t(request, "home"), here == ""), *nav],
            "prefix": PREFIX,
            "user": user,
            "roles": ", ".join(roles) or "-",
            "title": title,
            "csrf": csrf,
            "hidden": lambda seen=None: hidden + (
                Markup('<input type="hidden" name="_seen" value="{}">').format(seen)
                if seen is not None else ""),
            "flash_done": request.query_params.get("done"),
            "flash_error": request.query_params.get("error"),
            "query": request.query_params,
        }  # fmt: skip

    def render(
        self,
        request: Request,
        template: str,
        title: str,
        status: int = 200,
        ns: str = "",
        **context: Any,
    ) -> HTMLResponse:
        """``template`` (Jinja2, autoescaped) inside the console's frame, in the reader's
        language (messages of namespace ``ns``, then the frame's)."""
        self.user(request)
        html_text = self._env.get_template(template).render(
            **{**self._frame(request, title, ns), **context}
        )
        return HTMLResponse(html_text, status_code=status)

    def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        """A styled error page in the reader's language, with or without a session."""
        title = self.t(request, f"error_{status}") if status in ERRORS else str(status)
        html_text = self._env.get_template("error.html").render(
            **self._frame(request, title), code=status, message=message
        )
        return HTMLResponse(html_text, status_code=status)

    def page(
        self, request: Request, title: str, message: str, status: int = 200, ns: str = ""
    ) -> HTMLResponse:
        """A page holding one message (text, escaped)."""
        return self.render(request, "message.html", title, status, ns, message=message)

    def feature(self, ns: str) -> Feature:
        """The console as feature ``ns`` sees it: its messages, nav entries, waits and
        pages in its own message namespace."""
        return Feature(self, ns)

    def table(
        self,
        request: Request,
        rows: list[dict[str, Any]],
        default: str,
        name: str = "",
        per_page: int = 25,
    ) -> dict[str, Any]:
        """One page of ``rows`` sorted by the query's ``{name}sort`` (``-col`` descending;
        default ``default``) and ``{name}page``: tables page and sort on the server, with
        plain links (no script needed)."""
        return paged(request, rows, default, name, per_page)


class Feature:
    """A feature's view of the console: the same console, with ``ns`` bound."""

    def __init__(self, console: Console, ns: str) -> None:
        self._console, self.ns = console, ns

    def __getattr__(self, name: str) -> Any:
        return getattr(self._console, name)

    def messages(self, table: dict[str, dict[str, str]]) -> None:
        self._console.messages(table, ns=self.ns)

    def t(self, request: Request, key: str, **kw: Any) -> str:
        return self._console.t(request, key, ns=self.ns, **kw)

    def add_nav(self, path: str, key: str, roles: tuple[str, ...] | None = None,
                order: int = 50) -> None:  # fmt: skip
        self._console.add_nav(path, key, roles, order, ns=self.ns)

    def add_waits(self, fn: Callable[[Request, Any, dict[str, Any]], list[dict]]) -> None:
        self._console.add_waits(fn, ns=self.ns)

    def render(self, request: Request, template: str, title: str, status: int = 200,
               **context: Any) -> HTMLResponse:  # fmt: skip
        return self._console.render(request, template, title, status, ns=self.ns, **context)

    def page(self, request: Request, title: str, message: str, status: int = 200) -> HTMLResponse:
        return self._console.page(request, title, message, status, ns=self.ns)


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


def create_app(platform: Platform | None = None, hub_api: str | None = None,
               transport: Any = None) -> FastAPI:  # fmt: skip
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from hub.client import ApiRefused, HubUnreachable
    from hub.errors import InvalidState, NotFound, TrustlabError

    platform = platform or Platform()
    secret = (os.environ.get("JUPYTERHUB_API_TOKEN") or secrets.token_hex(32)).encode()
    console = Console(platform, secret)
    hub_api = hub_api or os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
    public_hub = os.environ.get("TRUSTLAB_CONSOLE_HUB_URL", "")  # browser-facing hub prefix
    client_id = os.environ.get("JUPYTERHUB_CLIENT_ID", "service-trustlab-console")
    token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
    redirect_uri = os.environ.get("JUPYTERHUB_OAUTH_CALLBACK_URL", "")
    app = FastAPI(title="trustlab console", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable) -> Response:
        try:
            resp = await call_next(request)
        finally:
            client = getattr(request.state, "api_client", None)
            if client is not None:
                client.close()
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        if resp.headers.get("content-type", "").startswith("text/html"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.exception_handler(_LoginRequired)
    async def login(request: Request, exc: _LoginRequired) -> Response:
        state = secrets.token_urlsafe(16)
        query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri,
                           "response_type": "code", "state": state})  # fmt: skip
        resp = RedirectResponse(f"{public_hub}/hub/api/oauth2/authorize?{query}", 302)
        resp.set_cookie("trustlab-oauth-state", console.sign(f"{state}:{request.url.path}"),
                        httponly=True, samesite="lax", max_age=600)  # fmt: skip
        return resp

    def _error(request: Request, status: int, message: str) -> Response:
        return console.error(request, status, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code if exc.status_code in ERRORS else 400
        text = console.t(request, "not_found") if status == 404 else str(exc.detail)
        return await run_in_threadpool(_error, request, status, text)

    @app.exception_handler(Resubmitted)
    async def resubmitted(request: Request, exc: Resubmitted) -> Response:
        return await run_in_threadpool(_error, request, 409, console.t(request, "resubmitted"))

    @app.exception_handler(Changed)
    async def changed(request: Request, exc: Changed) -> Response:
        text = console.t(request, "stale_form", what=str(exc))
        return await run_in_threadpool(_error, request, 409, text)

    @app.exception_handler(TrustlabError)
    async def api_error(request: Request, exc: TrustlabError) -> Response:
        """What the API refused, as a page: unknown and not-yours look the same (404)."""
        if isinstance(exc, HubUnreachable):
            status, text = 503, console.t(request, "api_down")
        elif isinstance(exc, NotFound):
            status, text = 404, console.t(request, "not_found")
        elif isinstance(exc, ApiRefused) and exc.status == 401:
            return await login(request, _LoginRequired())  # the hub token expired
        elif isinstance(exc, ApiRefused) and exc.status == 403:
            status, text = 403, str(exc)
        elif isinstance(exc, InvalidState):
            status, text = 409, str(exc)
        else:
            status, text = 400, str(exc)
        return await run_in_threadpool(_error, request, status, text)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        import logging

        ref = secrets.token_hex(4)
        logging.getLogger("trustlab.console").exception("console error %s", ref)
        text = console.t(request, "server_error", ref=ref)
        return await run_in_threadpool(_error, request, 500, text)

    @app.get(PREFIX + "static/console.css")
    async def stylesheet() -> Response:
        return Response(STYLESHEET, media_type="text/css; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600"})  # fmt: skip

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

    for name, ep in sorted(plugins("trustlab.console").items()):
        register: Callable[[Any], None] = ep.load()
        register(console.feature(name))
    app.include_router(console.router, prefix=PREFIX.rstrip("/"))

    @app.api_route(PREFIX + "{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    def unknown(request: Request, rest: str) -> Response:
        console.user(request)  # a stranger is sent to log in first, and learns nothing
        raise HTTPException(404)

    app.state.console = console
    return app


STYLESHEET = (Path(__file__).with_name("static") / "console.css").read_text()


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
