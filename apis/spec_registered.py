"""The ``registered`` kind (注册式): a third-party REST API the gateway calls for consumers.

The definition fixes the scheme, host and port; ``{param}`` placeholders are only allowed
in the path and query, and their values are percent-encoded whole (``/``, ``@``, ``?``,
``#`` included), so a caller cannot change where the call goes. The credential is named,
never written: ``secret`` is a name in the server-side store (``apis.secrets``). The
response is mapped to records (``response.records``, a JSONPath) and typed fields.
"""

from __future__ import annotations

import re
import string
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, field_validator, model_validator

from apis import jsonpaths
from apis.spec_base import FieldType, Parameter, _Common, _Strict, check_names

SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
# Headers a definition may not set itself: the transport's, and credentials (use `secret`).
FORBIDDEN_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection",
                     "authorization", "proxy-authorization", "cookie", "x-api-key"}  # fmt: skip


class Request(_Strict):
    method: Literal["GET", "POST"] = "GET"
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL; {p} in path/query")
    headers: dict[str, str] = Field(default_factory=dict, description="Fixed, non-secret headers.")
    secret: str | None = Field(None, description="The NAME of a server-side credential.")
    secret_header: str = Field("Authorization", description="The header the credential goes in.")
    secret_prefix: str = Field("", max_length=40, description='E.g. "Bearer ".')
    timeout_s: float = Field(10.0, gt=0, le=120)
    max_bytes: int = Field(1_000_000, ge=1, le=50_000_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - a malformed port raises here
        except ValueError:
            raise ValueError("the URL is malformed") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("give an http:// or https:// URL with a host")
        if any(c in parts.netloc for c in "{}@%\\"):
            raise ValueError("the scheme, host and port are fixed: no {…}, @ or % in them")
        if parts.fragment or "#" in value:
            raise ValueError("a URL called by the gateway has no #fragment")
        try:
            items = list(string.Formatter().parse(value))
        except ValueError:
            raise ValueError("placeholders are {name}; braces are not allowed otherwise") from None
        for literal, name, format_spec, conversion in items:
            bad_name = name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
            if "{" in literal or "}" in literal or format_spec or conversion or bad_name:
                raise ValueError("placeholders are {parameter}; braces are not allowed otherwise")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not HEADER.match(name) or name.lower() in FORBIDDEN_HEADERS:
                raise ValueError(
                    f"{name!r} cannot be set here; credentials go in the server-side store, "
                    "named by request.secret"
                )
            if any(c in text for c in "\r\n\x00") or len(text) > 1000:
                raise ValueError(f"{name}: a header value is one line of at most 1000 characters")
        return value

    @model_validator(mode="after")
    def _secret(self) -> Request:
        if self.secret is not None and not SECRET_NAME.match(self.secret):
            raise ValueError("secret: give the NAME of a stored credential (letters, digits, _.-)")
        if not HEADER.match(self.secret_header) or self.secret_header.lower() in {
            "host", "content-length", "content-type", "transfer-encoding", "connection"
        }:  # fmt: skip
            raise ValueError(f"secret_header: {self.secret_header!r} cannot carry a credential")
        if any(c in self.secret_prefix for c in "\r\n\x00"):
            raise ValueError("secret_prefix: one line")
        if self.secret_header.lower() in {h.lower() for h in self.headers}:
            raise ValueError(f"headers: {self.secret_header} is the credential's header")
        return self

    def placeholders(self) -> list[str]:
        return _placeholders(self.url)

    def origin(self) -> str:
        """scheme://host[:port]/, which no parameter can change."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/"

    def render(self, values: dict[str, Any]) -> str:
        """The URL with each placeholder's value percent-encoded whole."""
        url = self.url
        for name in self.placeholders():
            url = url.replace("{" + name + "}", quote(as_text(values.get(name)), safe=""))
        if urlsplit(url).netloc != urlsplit(self.url).netloc:  # cannot happen; never call it
            raise ValueError("a parameter changed the URL's host")
        return url


def _placeholders(url: str) -> list[str]:
    return list(dict.fromkeys(n for _, n, *_ in string.Formatter().parse(url) if n is not None))


def as_text(value: Any) -> str:
    """A parameter's value as it goes into a URL or a query string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class ResponseField(_Strict):
    path: str = Field(description="A JSONPath relative to one record, e.g. $.name.")
    type: FieldType = "string"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        jsonpaths.compiled(value)
        return value


class ResponseMap(_Strict):
    records: str = Field("$", description="A JSONPath to the records ($: one object).")
    fields: dict[str, ResponseField] = Field(min_length=1)

    @field_validator("records")
    @classmethod
    def _records(cls, value: str) -> str:
        jsonpaths.compiled(value)
        return value


class Registered(_Common):
    kind: Literal["registered"]
    provider: str = Field(min_length=1, max_length=200, description="Whose service it is.")
    request: Request
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    response: ResponseMap
    max_rows: int = Field(1000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> Registered:
        check_names("parameters", self.parameters)
        check_names("fields", self.response.fields)
        for name in self.request.placeholders():
            if name not in self.parameters:
                raise ValueError(f"request.url: {{{name}}} is not one of the parameters")
        return self

    @property
    def fields(self) -> dict[str, ResponseField]:
        return self.response.fields

    def sources(self) -> list[str]:
        return []
