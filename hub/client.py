"""A small client of the platform API, for the CLI, notebooks and scripts.

Which token and address it uses, first match wins:

1. ``TRUSTLAB_TOKEN`` (a hub token), at ``TRUSTLAB_API_URL`` or this machine's hub;
2. inside a sandbox: the server's own hub token (``JUPYTERHUB_API_TOKEN``), at the address
   the spawner gave (``TRUSTLAB_API_URL``, the only peer the sandbox network allows);
3. what ``trustlab login`` stored (``~/.config/trustlab/credentials.json``, mode 0600).

The token says who acts; nothing else does. Every refusal, and a hub that cannot be
reached, is a ``TrustlabError`` with one line that says what to do (the CLI exits 2).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from hub.errors import InvalidState, NotFound, TrustlabError

API_PATH = "/services/trustlab-api"


class ApiRefused(TrustlabError):
    """The platform API refused the request; the message is its one-line reason."""

    def __init__(self, status: int, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code  # 1 for a failed check (a leak), else 2


class HubUnreachable(TrustlabError):
    """No platform API answers at the configured address."""


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "trustlab" / "credentials.json"


def default_api_url(settings: Any = None) -> str:
    """The API behind this machine's hub proxy (``http://HUB_IP:HUB_PORT/services/…``)."""
    if os.environ.get("TRUSTLAB_API_URL"):
        return os.environ["TRUSTLAB_API_URL"].rstrip("/")
    if settings is None:
        from hub.settings import get_settings

        settings = get_settings()
    return f"http://{settings.hub_ip}:{settings.hub_port}{API_PATH}"


def save_credentials(api_url: str, token: str, user: str) -> Path:
    """Store a login with mode 0600 (written whole, never half)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"api_url": api_url, "token": token, "user": user}, f)
    tmp.replace(path)
    return path


class PlatformClient:
    """``get``/``post`` the platform API with a hub token; JSON in, JSON out."""

    def __init__(self, api_url: str, token: str, timeout: float = 1800) -> None:
        self.api_url = api_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.api_url,
            headers={"Authorization": f"token {token}"},
            timeout=httpx.Timeout(timeout, connect=10),
            trust_env=False,  # the platform is on this machine or the sandbox's gateway
        )

    @classmethod
    def discover(cls, settings: Any = None) -> PlatformClient:
        """The client for whoever runs this (see the module docstring)."""
        token = os.environ.get("TRUSTLAB_TOKEN")
        if token:
            return cls(default_api_url(settings), token)
        sandbox = os.environ.get("JUPYTERHUB_API_TOKEN")
        if sandbox and os.environ.get("TRUSTLAB_API_URL"):
            return cls(os.environ["TRUSTLAB_API_URL"], sandbox)
        try:
            stored = json.loads(credentials_path().read_text())
            return cls(stored["api_url"], stored["token"])
        except (OSError, ValueError, KeyError):
            raise TrustlabError(
                "not logged in: run `trustlab login` (or set TRUSTLAB_TOKEN to a hub token)"
            ) from None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise HubUnreachable(
                f"the platform API at {self.api_url} is not reachable ({type(exc).__name__}); "
                "is the hub running? (`trustlab hub status`, `make up`)"
            ) from None
        if resp.status_code < 400:
            return resp.json() if resp.content else None
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        detail = answer.get("detail") if isinstance(answer, dict) else None
        if not isinstance(detail, str):  # FastAPI's validation errors: a list of problems
            detail = _validation(detail) or f"HTTP {resp.status_code} from {path}"
        kind = {404: NotFound, 409: InvalidState}.get(resp.status_code)
        if kind is not None:
            raise kind(detail)
        raise ApiRefused(resp.status_code, detail, int(answer.get("exit_code") or 2))

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, json=body or {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def whoami(self) -> dict[str, Any]:
        return self.get("/me")

    def close(self) -> None:
        self._http.close()


def _validation(detail: Any) -> str | None:
    if isinstance(detail, list) and detail:
        parts = []
        for d in detail[:3]:
            where = ".".join(str(x) for x in d.get("loc", [])[1:]) or "request"
            parts.append(f"{where}: {d.get('msg')}")
        return "invalid request: " + "; ".join(parts)
    return None
