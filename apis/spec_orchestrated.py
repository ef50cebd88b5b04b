"""The ``orchestrated`` kind (编排式): a graph of steps, each a call to another published API.

A step runs once every step it depends on has: those in ``after`` and those its ``params``
or ``when`` read. Steps without a path between them run in parallel. Paths read a context
``{"params": <the caller's typed parameters>, "steps": {<id>: <the step's answer>}}``, so
``$.params.district`` or ``$.steps.people.data[0].record_id``; a path must start with
``$.params.<parameter>`` or ``$.steps.<id>``, which is how dependencies are known. A cycle,
an unknown step, more than ``MAX_STEPS`` steps or a chain longer than ``MAX_DEPTH`` is
refused here; an API including itself (through other orchestrated APIs) in the builder.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from apis import jsonpaths
from apis.spec_base import NAME, Parameter, _Common, _Strict, check_names
from apis.spec_registered import ResponseField, ResponseMap

MAX_STEPS = 16
MAX_DEPTH = 8  # steps in the longest chain
MAX_NESTING = 3  # orchestrated APIs inside orchestrated APIs
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
STEP_PARAM = re.compile(r"^[A-Za-z_\u3400-\u9fff][A-Za-z0-9_\u3400-\u9fff]{0,80}$")
REF = re.compile(r"^\$\.(params|steps)\.([A-Za-z_\u3400-\u9fff][A-Za-z0-9_\u3400-\u9fff]*)")


def reference(path: str) -> tuple[str, str]:
    """("params" | "steps", name) of a context path; ValueError for any other path."""
    jsonpaths.compiled(path)
    m = REF.match(path)
    if m is None:
        raise ValueError(f"{path[:60]!r} must start with $.params.<parameter> or $.steps.<id>")
    return m.group(1), m.group(2)


class Condition(_Strict):
    """Run the step only when the value at ``path`` compares as said (``truthy``: a first
    match that is true, non-zero, non-empty; ``exists``: any match)."""

    path: str
    op: Literal["truthy", "exists", "eq", "ne", "gt", "gte", "lt", "lte"] = "truthy"
    value: Any = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        reference(value)
        return value


class Step(_Strict):
    id: str
    api: str = Field(description="Another published API.")
    version: int = Field(ge=1)
    params: dict[str, str] = Field(
        default_factory=dict, description="The step API's query parameter → a context JSONPath."
    )
    after: list[str] = Field(default_factory=list)
    when: str | Condition | None = Field(None, description="A JSONPath, or a comparison.")
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not STEP_ID.match(value):
            raise ValueError("a step id is 1-32 lowercase letters, digits and _")
        return value

    @field_validator("api")
    @classmethod
    def _api(cls, value: str) -> str:
        if not NAME.match(value):
            raise ValueError(f"{value!r} is not an API name")
        return value

    @field_validator("params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not STEP_PARAM.match(name):
                raise ValueError(f"{name!r} is not a query parameter name")
            reference(path)
        return value

    def condition(self) -> Condition | None:
        return Condition(path=self.when) if isinstance(self.when, str) else self.when

    def reads(self) -> list[tuple[str, str]]:
        paths = list(self.params.values())
        cond = self.condition()
        return [reference(p) for p in paths + ([cond.path] if cond else [])]

    def needs(self) -> set[str]:
        """The steps this one waits for: ``after`` and those it reads."""
        return set(self.after) | {name for kind, name in self.reads() if kind == "steps"}


class Output(ResponseMap):
    step: str = Field(description="The step whose answer the API returns.")
    records: str = Field("$.data[*]", description="A JSONPath into that step's answer.")


class Orchestrated(_Common):
    kind: Literal["orchestrated"]
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    output: Output
    max_rows: int = Field(1000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _graph(self) -> Orchestrated:
        check_names("parameters", self.parameters)
        check_names("fields", self.output.fields)
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("steps: a step id is used twice")
        for i, s in enumerate(self.steps):
            for kind, name in s.reads():
                if kind == "params" and name not in self.parameters:
                    raise ValueError(f"steps.{i}: $.params.{name} is not one of the parameters")
            for name in s.needs():
                if name not in ids:
                    raise ValueError(f"steps.{i}: no step {name!r}")
                if name == s.id:
                    raise ValueError(f"steps.{i}: step {s.id} cannot wait for itself")
        if self.output.step not in ids:
            raise ValueError(f"output.step: no step {self.output.step!r}")
        depth = chain_depth(self.dependencies())
        if depth > MAX_DEPTH:
            raise ValueError(f"steps: a chain of {depth} steps; at most {MAX_DEPTH}")
        return self

    def dependencies(self) -> dict[str, set[str]]:
        return {s.id: s.needs() for s in self.steps}

    @property
    def fields(self) -> dict[str, ResponseField]:
        return self.output.fields

    def sources(self) -> list[str]:
        return []


def chain_depth(deps: dict[str, set[str]]) -> int:
    """Steps in the longest chain; ValueError naming a step on a cycle."""
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(node: str) -> int:
        if node in depth:
            return depth[node]
        if node in visiting:
            raise ValueError(f"steps: step {node} is on a cycle")
        visiting.add(node)
        depth[node] = 1 + max((visit(n) for n in deps[node]), default=0)
        visiting.discard(node)
        return depth[node]

    return max((visit(n) for n in deps), default=0)
