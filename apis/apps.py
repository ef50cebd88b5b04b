"""Consumer applications and their API keys.

A key reads ``tlk_<id>_<secret>``. It is shown once, when issued; the platform keeps the
id and an HMAC-SHA256 of the secret under a pepper of its own (``HOME/keys/api-keys.key``),
so a copy of the database does not yield usable keys. The gateway compares in constant
time. Rotating issues a new key and lets the old ones work for ``API_KEY_OVERLAP_HOURS``
more; revoking ends a key at once. Operators manage applications; every change is
ledgered under ``application:<name>`` (never the secret).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from apis.models import ApiKey, Application
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, check_name
from hub.platform import Platform
from hub.terms import aware, now

KEY = re.compile(r"^tlk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")


def pepper(platform: Platform) -> bytes:
    path = platform.settings.home / "keys" / "api-keys.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
        os.replace(tmp, path)
    return Path(path).read_bytes()


def secret_hash(pepper_bytes: bytes, secret: str) -> str:
    return hmac.new(pepper_bytes, secret.encode(), hashlib.sha256).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    m = KEY.match(key)
    return (m.group(1), m.group(2)) if m else None


def _new_key() -> tuple[str, str, str]:
    import base64

    key_id = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"tlk_{key_id}_{secret}"


class Applications:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.directory = Directory(platform)

    def create(self, name: str, org: str, actor: str, contact: str | None = None) -> dict:
        check_name("application", name)
        if not org.strip():
            raise TrustlabError("name the consumer organisation (--org)")
        with self.platform.db.session() as session:
            self.directory.require(actor, "operator", session=session)
            if session.scalar(select(Application).where(Application.name == name)):
                raise InvalidState(f"application {name} exists")
            app = Application(name=name, org=org.strip(), contact=contact, created_by=actor)
            session.add(app)
            session.flush()
            self.platform.ledger.append(
                session, actor, "application.create", f"application:{name}", {"org": app.org}
            )
            return self._describe(app)

    def issue_key(self, name: str, actor: str, *, rotate: bool = False) -> dict[str, Any]:
        """A new key (its only showing). ``rotate``: the app's live keys end after the overlap."""
        key_id, secret, key = _new_key()
        hashed = secret_hash(pepper(self.platform), secret)
        with self.platform.db.session() as session:
            self.directory.require(actor, "operator", session=session)
            app = self._app(session, name)
            if app.state != "active":
                raise InvalidState(f"application {name} is {app.state}")
            ending = []
            if rotate:
                until = now() + timedelta(hours=self.platform.settings.api_key_overlap_hours)
                for k in app.keys:
                    if k.revoked_at is None and (
                        k.expires_at is None or aware(k.expires_at) > until
                    ):
                        k.expires_at = until
                        ending.append(k.key_id)
            session.add(
                ApiKey(key_id=key_id, application_id=app.id, secret_hash=hashed, created_by=actor)
            )
            self.platform.ledger.append(
                session,
                actor,
                "application.key",
                f"application:{name}",
                {"key_id": key_id, "rotated": ending},
            )
            return {"application": name, "key_id": key_id, "key": key, "rotated": ending}

    def revoke_key(self, name: str, key_id: str, actor: str, reason: str) -> dict[str, Any]:
        if not reason:
            raise TrustlabError("revoking a key needs a reason (--reason)")
        with self.platform.db.session() as session:
            self.directory.require(actor, "operator", session=session)
            app = self._app(session, name)
            key = next((k for k in app.keys if k.key_id == key_id), None)
            if key is None:
                raise NotFound(f"application {name} has no key {key_id}")
            if key.revoked_at is not None:
                raise InvalidState(f"key {key_id} is already revoked")
            key.revoked_at = now()
            self.platform.ledger.append(
                session,
                actor,
                "application.key.revoke",
                f"application:{name}",
                {"key_id": key_id, "reason": reason},
            )
            return self._describe(app)

    def show(self, name: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            return self._describe(self._app(session, name))

    def list(self) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            apps = session.scalars(select(Application).order_by(Application.name))
            return [self._describe(a) for a in apps]

    def _app(self, session: Any, name: str) -> Application:
        app = session.scalar(select(Application).where(Application.name == name))
        if app is None:
            raise NotFound(f"no application {name!r}; see `trustlab app list`")
        return app

    def _describe(self, app: Application) -> dict[str, Any]:
        at = now()

        def state(k: ApiKey) -> str:
            if k.revoked_at is not None:
                return "revoked"
            if k.expires_at is not None and aware(k.expires_at) <= at:
                return "expired"
            return "rotating" if k.expires_at is not None else "active"

        return {
            "name": app.name,
            "org": app.org,
            "contact": app.contact,
            "state": app.state,
            "keys": [
                {
                    "key_id": k.key_id,
                    "state": state(k),
                    "created_at": k.created_at.isoformat(),
                    "expires_at": aware(k.expires_at).isoformat() if k.expires_at else None,
                }
                for k in app.keys
            ],
        }
