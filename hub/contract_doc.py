"""The contract document (数字合约): the JSON form the management side sends and receives.

``trustlab contract import FILE`` reads it, ``contract export`` writes it; its JSON Schema
is published as ``docs/contract.schema.json`` (``python -m hub.contract_doc`` rewrites
it, a test keeps it equal to this model). A document names:

- ``ref``: the contract's identifier in the management system (unique in trustlab);
- ``parties``: the provider organisations (every object's owner, exactly), the platform
  operator, and the user side (a project; an API consumer application later);
- ``objects``: per dataset or product, the allowed columns and usage modes;
- ``purpose`` (category and text), ``valid_from`` / ``valid_until`` and daily ``limits``.

Validation here is the document's own shape; what it says about the catalog (datasets
that exist, columns they have, confirmed classifications) is checked by ``hub.contracts``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import TrustlabError
from hub.hashing import canonical_json, digest

SCHEMA_ID = "trustlab.contract/1"
MODES = ("sandbox", "pipeline", "api", "labeling")
PURPOSES = (
    "research",  # 科学研究
    "statistics",  # 统计分析
    "public_service",  # 公共服务
    "product_development",  # 产品开发
    "model_training",  # 模型训练
    "other",  # 其他
)
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "contract.schema.json"


class InvalidContract(TrustlabError):
    """A contract document that cannot be accepted; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserParty(_Strict):
    kind: Literal["project", "application"] = Field(
        description="project: a trustlab project (sandboxes, pipelines, labeling); "
        "application: an API consumer application."
    )
    name: str = Field(min_length=1, max_length=100)


class Parties(_Strict):
    providers: list[str] = Field(
        min_length=1,
        description="The data provider organisations (数据提供方): exactly the owners of "
        "the objects.",
    )
    operator: str = Field(
        "platform", min_length=1, max_length=200, description="The platform operator (运营方)."
    )
    user: UserParty = Field(description="The data user side (数据使用方).")


class ContractObject(_Strict):
    dataset: str = Field(min_length=1, max_length=200, description="A source or a product.")
    columns: list[str] | Literal["*"] = Field(
        description='The columns this contract allows ("*": every column the dataset has).'
    )
    modes: list[Literal["sandbox", "pipeline", "api", "labeling"]] = Field(
        min_length=1, description="How the data may be used (使用方式)."
    )

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            if not value:
                raise ValueError('name at least one column, or "*" for all')
            if len(set(value)) != len(value):
                raise ValueError("a column is named twice")
        return value

    @field_validator("modes")
    @classmethod
    def _modes(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a mode is named twice")
        return value


class Purpose(_Strict):
    category: Literal[PURPOSES] = Field(description="用途类别")  # type: ignore[valid-type]
    text: str = Field(min_length=1, max_length=4000, description="用途说明")


class Limits(_Strict):
    runs_per_day: int | None = Field(None, ge=1, description="Production runs per day.")
    rows_per_day: int | None = Field(None, ge=1, description="Input rows read per day.")
    calls_per_day: int | None = Field(None, ge=1, description="API calls per day.")


class MaskRule(_Strict):
    rule: str = Field(min_length=1, max_length=100, description="A masking rule's name.")
    params: dict[str, Any] = Field(default_factory=dict)


FieldTreatment = Literal["clear", "pseudonym", "hidden"] | MaskRule


class RowScope(_Strict):
    field: str = Field(min_length=1, max_length=100)
    op: Literal["eq", "in", "range", "prefix"]
    value: Any = Field(
        description='eq: a value; in: a list; range: {"gte"|"gt": low, "lte"|"lt": high}; '
        "prefix: a string."
    )

    @model_validator(mode="after")
    def _value(self) -> RowScope:
        v = self.value
        if self.op == "in" and not (isinstance(v, list) and v):
            raise ValueError("value: the in operator takes a non-empty list")
        if self.op == "range" and not (
            isinstance(v, dict) and v and set(v) <= {"gte", "gt", "lte", "lt"}
        ):
            raise ValueError('value: the range operator takes {"gte"|"gt": …, "lte"|"lt": …}')
        if self.op == "prefix" and not (isinstance(v, str) and v):
            raise ValueError("value: the prefix operator takes a non-empty string")
        if self.op == "eq" and isinstance(v, list | dict):
            raise ValueError("value: the eq operator takes one value")
        return self


class ApiTerms(_Strict):
    """What an application may do with one API (application contracts only)."""

    api: str = Field(min_length=1, max_length=100, description="A published API's name.")
    fields: dict[str, FieldTreatment] = Field(
        min_length=1,
        description='Per returned field: "clear", "pseudonym" (keyed per application), '
        '"hidden", or {"rule": masking rule, "params": {...}}; fields not named are hidden.',
    )
    row_scope: list[RowScope] = Field(
        default_factory=list, description="Rows the application may see (all must hold)."
    )
    quota_per_day: int = Field(ge=1, description="Calls per day to this API.")
    rate_per_second: float = Field(gt=0, le=10_000, description="Sustained calls per second.")
    max_rows_per_call: int = Field(ge=1, le=100_000)
    valid_until: datetime | None = Field(
        None, description="An earlier end for this API than the contract's (ISO 8601)."
    )

    @field_validator("valid_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2027-01-01T00:00:00+08:00")
        return value.astimezone(UTC) if value is not None else None


class ContractDocument(_Strict):
    schema_: Literal["trustlab.contract/1"] = Field(alias="schema")
    ref: str = Field(description="The contract's identifier in the management system.")
    title: str = Field(min_length=1, max_length=300)
    parties: Parties
    objects: list[ContractObject] = Field(
        default_factory=list,
        description="At least one, except for an application contract naming only APIs "
        "that read no product (registered third-party APIs).",
    )
    purpose: Purpose
    valid_from: datetime = Field(description="ISO 8601 with a time zone.")
    valid_until: datetime | None = Field(
        description="ISO 8601 with a time zone; null: no end date (migrated grants)."
    )
    limits: Limits = Field(default_factory=Limits)
    apis: list[ApiTerms] = Field(
        default_factory=list,
        description="Application contracts: the APIs the application may call and how.",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        if not REF.match(value):
            raise ValueError("use 1-100 letters, digits and . _ : -, starting with an alphanumeric")
        return value

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2027-01-01T00:00:00+08:00")
        return value.astimezone(UTC) if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> ContractDocument:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until: must be later than valid_from")
        if not self.objects and self.parties.user.kind != "application":
            raise ValueError("objects: name at least one dataset")
        names = [o.dataset for o in self.objects]
        if len(set(names)) != len(names):
            raise ValueError("objects: a dataset is named twice; merge its terms")
        if self.parties.user.kind == "application":
            if any(set(o.modes) - {"api"} for o in self.objects):
                raise ValueError("objects: an application party may use the api mode only")
            if not self.apis:
                raise ValueError("apis: an application contract names the APIs it may call")
            names = [a.api for a in self.apis]
            if len(set(names)) != len(names):
                raise ValueError("apis: an API is named twice; merge its terms")
            for a in self.apis:
                if a.valid_until and self.valid_until and a.valid_until > self.valid_until:
                    raise ValueError(f"apis: {a.api} ends after the contract")
        elif self.apis:
            raise ValueError("apis: only an application contract names APIs")
        return self

    def to_json(self) -> dict[str, Any]:
        # A document without APIs serializes as before they existed: its hash is unchanged.
        return json.loads(
            self.model_dump_json(by_alias=True, exclude=None if self.apis else {"apis"})
        )

    def digest(self, algorithm: str = "sha256") -> str:
        """The hash approvals bind: of the canonical JSON of the whole document."""
        return digest(algorithm, canonical_json(self.to_json())).hex()


def parse(data: Any) -> ContractDocument:
    """The document, or ``InvalidContract`` naming the first failing field."""
    if not isinstance(data, dict):
        raise InvalidContract("a contract document is a JSON object")
    try:
        return ContractDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        if not where:  # a check across fields says which one it is about: "field: …"
            where, _, message = message.partition(": ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidContract(f"contract field {where}: {message}{more}") from None


def load(path: Path) -> ContractDocument:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidContract(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidContract(f"{path} is not JSON: {exc}") from None
    return parse(data)


def json_schema() -> dict[str, Any]:
    schema = ContractDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://trustlab.invalid/schemas/contract-1.json"
    schema["title"] = "trustlab contract document (数字合约)"
    return schema


def write_schema(path: Path = SCHEMA_FILE) -> Path:
    path.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n")
    return path


def now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    print(write_schema())
