"""API definitions: the file a developer writes (YAML, TOML or JSON), one per API version.

Every definition names the API, its kind and what it returns (``fields``, with types the
OpenAPI document and the gateway use). The kinds:

- ``wizard`` (向导式): a served product; exposed fields, an optional ``key`` for
  ``GET …/{key}``, filters with operators, sortable fields, page sizes. No SQL is
  written: the gateway builds the query as an expression tree with every value bound.
- ``script`` (脚本式): one parameterized SELECT over the served products it names
  (``apis.sqlsafe`` checks it), typed parameters, typed output fields.
- ``registered`` (注册式): a third-party REST API called through ``apis.egress``
  (``apis.spec_registered``).
- ``orchestrated`` (编排式): a graph of steps, each another published API
  (``apis.spec_orchestrated``).

Validation here is the definition's own shape; what it says about the serving zone (the
product is served, its columns exist) is checked by ``apis.builder``.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from apis.spec_base import (
    IDENT,
    KINDS,
    NAME,
    OPS,
    RESERVED,
    SCHEMA_ID,
    TYPES,
    FieldType,
    InvalidDefinition,
    Parameter,
    ServingSource,
    _Common,
    _Strict,
    check_names,
)
from apis.spec_orchestrated import MAX_NESTING, Orchestrated, Step
from apis.spec_registered import Registered, Request, ResponseField, ResponseMap
from hub.hashing import canonical_json, digest

__all__ = [
    "IDENT", "KINDS", "MAX_NESTING", "NAME", "OPS", "RESERVED", "SCHEMA_ID", "TYPES",
    "AnyDefinition", "FieldType", "Filter", "InvalidDefinition", "Orchestrated", "Parameter",
    "Registered", "Request", "ResponseField", "ResponseMap", "Script", "ServingSource", "Step",
    "Wizard",
]  # fmt: skip


class Filter(_Strict):
    field: str
    ops: list[Literal["eq", "in", "range", "prefix"]] = Field(default_factory=lambda: ["eq"])

    @field_validator("ops")
    @classmethod
    def _ops(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError("name each operator once, at least one")
        return value


class Wizard(_Common):
    kind: Literal["wizard"]
    source: ServingSource
    fields: list[str] = Field(min_length=1, description="The columns the API returns.")
    key: str | None = Field(None, description="A column that identifies one row: GET …/{key}.")
    filters: list[Filter] = Field(default_factory=list)
    sort: list[str] = Field(default_factory=list, description="Columns a caller may sort by.")
    page_size: int = Field(50, ge=1, le=100_000)
    max_page_size: int = Field(200, ge=1, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> Wizard:
        if len(set(self.fields)) != len(self.fields):
            raise ValueError("fields: a field is named twice")
        for name in self.fields:
            if not IDENT.match(name) or name in RESERVED:
                raise ValueError(f"fields: {name!r} cannot be a field name of an API")
        known = set(self.fields)
        if self.key is not None and self.key not in known:
            raise ValueError(f"key: {self.key!r} is not one of the fields")
        seen = set()
        for f in self.filters:
            if f.field not in known:
                raise ValueError(f"filters: {f.field!r} is not one of the fields")
            if f.field in seen:
                raise ValueError(f"filters: {f.field!r} is named twice; merge its operators")
            seen.add(f.field)
        for s in self.sort:
            if s not in known:
                raise ValueError(f"sort: {s!r} is not one of the fields")
        if self.page_size > self.max_page_size:
            raise ValueError("page_size: larger than max_page_size")
        return self

    def sources(self) -> list[str]:
        return [self.source.serving]


class Script(_Common):
    kind: Literal["script"]
    source: list[ServingSource] = Field(min_length=1)
    sql: str = Field(min_length=1, max_length=20_000)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    fields: dict[str, FieldType] = Field(min_length=1, description="Output columns and types.")
    max_rows: int = Field(1000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _consistent(self) -> Script:
        check_names("parameters", self.parameters)
        check_names("fields", self.fields)
        return self

    def sources(self) -> list[str]:
        return [s.serving for s in self.source]


AnyDefinition = Wizard | Script | Registered | Orchestrated
Definition = Annotated[AnyDefinition, Field(discriminator="kind")]


class _Envelope(BaseModel):
    definition: Definition


def parse(data: Any) -> AnyDefinition:
    """The definition, or ``InvalidDefinition`` naming the first failing field."""
    if not isinstance(data, dict):
        raise InvalidDefinition("an API definition is a mapping (YAML, TOML or JSON object)")
    if data.get("kind") not in KINDS:
        raise InvalidDefinition(
            f"API definition field kind: {data.get('kind')!r} is not one of {', '.join(KINDS)}"
        )
    try:
        return _Envelope.model_validate({"definition": data}).definition
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][2:])  # past definition.<kind>
        message = first["msg"].removeprefix("Value error, ")
        if not where:
            where, _, message = message.partition(": ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidDefinition(f"API definition field {where}: {message}{more}") from None


def load(path: Path) -> AnyDefinition:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidDefinition(f"cannot read {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidDefinition(f"{path} cannot be parsed: {first}") from None
    return parse(data)


def to_json(d: AnyDefinition) -> dict[str, Any]:
    return json.loads(d.model_dump_json(by_alias=True))


def definition_hash(d: AnyDefinition, algorithm: str) -> str:
    return digest(algorithm, canonical_json(to_json(d))).hex()


def output_types(d: AnyDefinition, schema: dict[str, str]) -> dict[str, str]:
    """Each returned field's type; ``schema`` maps a served column to its Arrow type."""
    if isinstance(d, Script):
        return dict(d.fields)
    if isinstance(d, Registered | Orchestrated):
        return {name: f.type for name, f in d.fields.items()}
    return {f: arrow_to_type(schema.get(f, "string")) for f in d.fields}


def arrow_to_type(arrow: str) -> str:
    a = arrow.lower()
    if a.startswith(("int", "uint")):
        return "integer"
    if a.startswith(("float", "double", "halffloat", "decimal")):
        return "number"
    if a == "bool":
        return "boolean"
    if a.startswith("date"):
        return "date"
    if a.startswith("timestamp"):
        return "datetime"
    return "string"
