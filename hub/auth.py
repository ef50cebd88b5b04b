"""JupyterHub authentication against trustlab's users (the embedded default).

Users and roles live in the metadata DB (``trustlab user add``); the hub mirrors roles
into groups (``developers``, ``providers``, ``provider-<org>``, ``operators``,
``auditors``, ``admins``) at every login and auth refresh, so a role granted or revoked
with the CLI reaches the hub within ``auth_refresh_age`` seconds. In production, OIDC via
OAuthenticator replaces this class (see docs/sandboxes.md); roles still come from here.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.auth import Authenticator

from hub.identity import Directory


class TrustlabAuthenticator(Authenticator):
    def _directory(self) -> Directory:
        from hub.spawner import platform

        return Directory(platform())

    async def authenticate(self, handler, data: dict[str, str]) -> dict[str, Any] | None:
        name = self.normalize_username(data.get("username", ""))
        user = self._directory().authenticate(name, data.get("password", ""))
        if user is None:
            self.log.warning("failed login for %r", name)
            return None
        return {"name": name, "groups": user["groups"], "admin": user["admin"]}

    async def refresh_user(self, user, handler=None) -> bool | dict[str, Any]:
        try:
            info = self._directory().show_user(user.name)
        except Exception:
            return False
        if not info["active"]:
            return False
        return {"name": user.name, "groups": info["groups"], "admin": info["admin"]}
