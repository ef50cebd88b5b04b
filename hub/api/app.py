"""The platform API app and its service entry point (``python -m hub.api``).

Errors a user can cause become one-line JSON answers ``{"detail": …, "error": …}``:
401 without a good token, 403 for a missing role (ledgered as ``access.refused`` when the
request would have changed something), 404 unknown, 409 wrong state, 400 bad input.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from hub import __version__
from hub.api.deps import Unauthenticated
from hub.errors import AlreadyExists, InvalidState, NotFound, TrustlabError
from hub.identity import PermissionDenied
from hub.platform import Platform
from hub.plugins import plugins

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/trustlab-api/")
SERVICE = "trustlab-api"
ACCESS_SCOPE = f"access:services!service={SERVICE}"
STATUS = [
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (InvalidState, 409),
    (AlreadyExists, 409),
]


def status_of(exc: TrustlabError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def hub_identify() -> tuple[Callable[[str], dict[str, Any] | None], Callable[[dict], bool]]:
    """Token → hub user model, and the access-scope check, from the hub's own ``HubAuth``."""
    from jupyterhub.services.auth import HubAuth

    auth = HubAuth(cache_max_age=30)
    scopes = auth.access_scopes or {ACCESS_SCOPE}

    def identify(token: str) -> dict[str, Any] | None:
        return auth.user_for_token(token, sync=True)

    return identify, lambda model: bool(auth.check_scopes(scopes, model))


def create_app(
    platform: Platform | None = None,
    identify: Callable[[str], dict[str, Any] | None] | None = None,
    may_use: Callable[[dict[str, Any]], bool] | None = None,
) -> FastAPI:
    """The API; ``identify``/``may_use`` stand in for the hub in unit tests only."""
    platform = platform or Platform()
    platform.init()
    if identify is None:
        identify, may_use = hub_identify()
    app = FastAPI(
        title="trustlab platform API",
        version=__version__,
        description="Every call carries a hub token; roles are checked server-side. "
        "See docs/api.md.",
        docs_url=PREFIX + "docs",
        openapi_url=PREFIX + "openapi.json",
        redoc_url=None,
    )
    app.state.platform = platform
    app.state.identify = identify
    app.state.may_use = may_use or (lambda model: True)

    @app.exception_handler(TrustlabError)
    async def trustlab_error(request: Request, exc: TrustlabError) -> JSONResponse:
        code = status_of(exc)
        caller = getattr(request.state, "caller", None)
        if code == 403 and request.method not in ("GET", "HEAD", "OPTIONS"):
            who = caller.name if caller else "(unidentified token)"
            await run_in_threadpool(_ledger_refusal, platform, who, request, exc)
        body = {"detail": str(exc), "error": type(exc).__name__, "exit_code": exc.exit_code}
        return JSONResponse(body, status_code=code)

    from hub.api import alerts, contracts, datasets, routes

    for own in (routes, datasets, contracts, alerts):
        app.include_router(own.router, prefix=PREFIX.rstrip("/"))
    for _, ep in sorted(plugins("trustlab.api").items()):
        found = ep.load()
        app.include_router(found if isinstance(found, APIRouter) else found(),
                           prefix=PREFIX.rstrip("/"))  # fmt: skip
    return app


def _ledger_refusal(platform: Platform, who: str, request: Request, exc: Exception) -> None:
    route = request.scope.get("route")
    with platform.db.session() as session:
        platform.ledger.append(
            session,
            who,
            "access.refused",
            f"api:{getattr(route, 'path', request.url.path).removeprefix(PREFIX.rstrip('/'))}",
            {
                "method": request.method,
                "path": request.url.path,
                "reason": str(exc),
                **({"evidence": exc.evidence} if getattr(exc, "evidence", None) else {}),
            },
        )


def main() -> None:
    """Serve on 127.0.0.1 (the proxy, host clients) and, when the hub names one, on the
    sandbox network's gateway too (notebook clients; the firewall admits this port)."""
    import socket
    from urllib.parse import urlparse

    import uvicorn

    from hub.orphan import exit_with_parent

    exit_with_parent()

    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8110"))
    port = url.port or 8110
    hosts = [url.hostname or "127.0.0.1"]
    gateway = os.environ.get("TRUSTLAB_API_GATEWAY")
    if gateway and gateway not in hosts:
        hosts.append(gateway)
    sockets = []
    for host in hosts:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sockets.append(sock)
    config = uvicorn.Config(create_app(), log_level="warning", timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=sockets)
