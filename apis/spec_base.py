"""What every kind of API definition shares: the common fields, parameter types, names."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.errors import TrustlabError

SCHEMA_ID = "trustlab.api/1"
NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
IDENT = re.compile(r"^[A-Za-z_\u3400-\u9fff][A-Za-z0-9_\u3400-\u9fff]{0,62}$")
KINDS = ("wizard", "script", "registered", "orchestrated")
TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
OPS = ("eq", "in", "range", "prefix")
RESERVED = {"limit", "offset", "sort", "fields"}  # query parameters of every list endpoint

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]


class InvalidDefinition(TrustlabError):
    """An API definition that cannot be accepted; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    type: FieldType = "string"
    required: bool = True
    default: Any = None
    description: str = ""


class ServingSource(_Strict):
    serving: str = Field(min_length=1, max_length=100, description="A served product's name.")


class _Common(_Strict):
    schema_: Literal["trustlab.api/1"] = Field(alias="schema")
    name: str
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError("use 1-63 lowercase letters, digits and -, starting with a letter")
        return value


def check_names(what: str, names: Any) -> None:
    """Refuse a parameter or field name an API cannot have (``what``: the field's name)."""
    for name in names:
        if not IDENT.match(name) or name in RESERVED:
            raise ValueError(f"{what}: {name!r} cannot be a {what.rstrip('s')} name of an API")
