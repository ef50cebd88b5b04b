"""Credentials of registered APIs, kept server-side: ``HOME/keys/api-secrets.json``.

A definition names a credential (``request.secret``); its value lives only here (mode
0600, JSON name → value) and in the header the gateway sends upstream. It never appears
in a definition, a response, an error, a log line, the ledger or an OpenAPI document.
Operators set and list them (``trustlab api secret set NAME`` reads the value from stdin
or a prompt, never from an argument); a change is ledgered by name only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from apis.spec_registered import SECRET_NAME
from hub.errors import NotFound, TrustlabError
from hub.identity import Directory
from hub.platform import Platform

MAX_VALUE = 8192


def store_path(platform: Platform) -> Path:
    return platform.settings.home / "keys" / "api-secrets.json"


def _read(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def _write(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(values, fh)
    os.replace(tmp, path)


class Secrets:
    """The store, for operators (``set``, ``names``) and the gateway (``value``)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.path = store_path(platform)

    def set(self, name: str, value: str, actor: str) -> dict[str, str]:
        Directory(self.platform).require(actor, "operator")
        if not SECRET_NAME.match(name):
            raise TrustlabError("a secret's name is 1-64 letters, digits and _.-")
        if not value or len(value) > MAX_VALUE or any(c in value for c in "\r\n\x00"):
            raise TrustlabError(f"a secret's value is one non-empty line (at most {MAX_VALUE})")
        values = _read(self.path)
        replaced = name in values
        values[name] = value
        _write(self.path, values)
        with self.platform.db.session() as session:
            self.platform.ledger.append(
                session, actor, "api.secret.set", f"api-secret:{name}", {"replaced": replaced}
            )
        return {"name": name, "state": "replaced" if replaced else "set"}

    def names(self, actor: str) -> list[str]:
        Directory(self.platform).require(actor, "operator")
        return sorted(_read(self.path))

    def exists(self, name: str) -> bool:
        return name in _read(self.path)

    def value(self, name: str) -> str:
        """The credential (the gateway's use only); NotFound names it, never a value."""
        found = _read(self.path).get(name)
        if found is None:
            raise NotFound(f"no API secret {name!r}; an operator sets it with `api secret set`")
        return found
