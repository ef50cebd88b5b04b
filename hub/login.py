"""``trustlab login``: a hub token for the platform API, stored with mode 0600.

With a username and password the hub itself issues the token (``POST /hub/api/users/NAME
/tokens`` with the credentials in the body, checked by trustlab's authenticator), scoped to
the platform API only and valid for ``days``. A token made on the hub's token page works
too. Either way the API is asked who it belongs to before anything is stored.
"""

from __future__ import annotations

import getpass
import json
import socket
from pathlib import Path
from typing import Any

import httpx

from hub.client import API_PATH, PlatformClient, credentials_path, save_credentials
from hub.errors import TrustlabError

SCOPE = "access:services!service=trustlab-api"


def _hub_url(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    from hub.settings import get_settings

    s = get_settings()
    return f"http://{s.hub_ip}:{s.hub_port}"


def login(
    url: str | None, username: str | None, token: str | None, days: int = 30
) -> tuple[dict[str, Any], Path]:
    """Obtain (or take) a token, check it with the API, store it; (who, where stored)."""
    hub = _hub_url(url)
    if token is None:
        name = username or input("username: ").strip()
        password = getpass.getpass("password: ")
        token = _new_token(hub, name, password, days)
    client = PlatformClient(hub + API_PATH, token, timeout=30)
    try:
        who = client.whoami()
    finally:
        client.close()
    return who, save_credentials(hub + API_PATH, token, who["name"])


def _new_token(hub: str, name: str, password: str, days: int) -> str:
    body = {
        "auth": {"username": name, "password": password},
        "note": f"trustlab CLI on {socket.gethostname()}",
        "expires_in": days * 86400,
        "scopes": [SCOPE],
    }
    try:
        resp = httpx.post(f"{hub}/hub/api/users/{name}/tokens", json=body, timeout=30,
                          trust_env=False)  # fmt: skip
    except httpx.TransportError as exc:
        raise TrustlabError(f"the hub at {hub} is not reachable ({type(exc).__name__}); is it "
                            "running? (`trustlab hub status`)") from None  # fmt: skip
    if resp.status_code == 403:
        raise TrustlabError("the hub refused the login: wrong username or password, or the "
                            "account is inactive")  # fmt: skip
    if resp.status_code >= 400:
        raise TrustlabError(f"the hub refused a token (HTTP {resp.status_code}): "
                            f"{resp.text[:200]}")  # fmt: skip
    return str(resp.json()["token"])


def logout() -> bool:
    """Forget the stored token; revoke it at the hub when possible. False: none stored."""
    path = credentials_path()
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    hub = stored.get("api_url", "").removesuffix(API_PATH)
    headers = {"Authorization": f"token {stored.get('token', '')}"}
    try:  # best effort: revoking needs the token to hold the `tokens` scope
        me = httpx.get(f"{hub}/hub/api/user", headers=headers, timeout=10, trust_env=False)
        token_id = me.json().get("token_id") if me.status_code == 200 else None
        if token_id:
            httpx.delete(f"{hub}/hub/api/users/{stored.get('user')}/tokens/{token_id}",
                         headers=headers, timeout=10, trust_env=False)  # fmt: skip
    except (httpx.HTTPError, ValueError):
        pass
    path.unlink(missing_ok=True)
    return True
