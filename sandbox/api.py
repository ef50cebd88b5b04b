"""Sample routes of the platform API: masking policies and sample builds.

Changing a dataset's masking policy: a provider reviewer of the dataset's owner (a
change to an L4 column then waits for an operator, who approves or rejects it). Building
its sample: the owner's provider reviewer, or an operator. Reading a policy (rules and
parameters, never values): any signed-in user.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from hub.api.datasets import owner_of, require_owner_reviewer
from hub.api.deps import CallerDep, PlatformDep

router = APIRouter(prefix="/samples", tags=["samples"])


class RuleIn(BaseModel):
    rule: str
    params: dict[str, Any] = Field(default_factory=dict)
    justification: str | None = None  # keeping an L2+ column unmasked needs one


class DecisionIn(BaseModel):
    reason: str | None = None


class BuildIn(BaseModel):
    rows: int | None = Field(None, ge=1)
    all_rows: bool = False
    strategy: str = "random"
    by: str | None = None
    seed: int = 7
    min_k: int | None = Field(None, ge=2)
    synthetic: bool = False


def _policy_json(dataset: str, version: Any, created: bool = False) -> dict[str, Any]:
    return {"dataset": dataset, "version": version.version, "hash": version.policy_hash,
            "rules": version.rules, "status": version.status, "created": created}  # fmt: skip


@router.get("/{dataset}/policy")
def show_policy(dataset: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """The current policy, or (version null) the one its classification would give, and
    a version waiting for an operator (``pending``), if any."""
    from hub.catalog import Catalog
    from sandbox.policy import Policies, default_rules

    policies = Policies(p)
    current = policies.current(dataset)
    pending = policies.pending(dataset)
    if current is None:
        rules = default_rules(Catalog(p).show(dataset))
        data = {"dataset": dataset, "version": None, "hash": None, "rules": rules}
    else:
        data = _policy_json(dataset, current)
    data["pending"] = _policy_json(dataset, pending) if pending else None
    return data


@router.post("/{dataset}/policy/{column}")
def set_rule(
    dataset: str, column: str, body: RuleIn, who: CallerDep, p: PlatformDep
) -> dict[str, Any]:
    from sandbox.policy import Policies

    require_owner_reviewer(who, owner_of(p, dataset))
    version = Policies(p, who.name).set_rule(
        dataset, column, body.rule, body.params, body.justification
    )
    return _policy_json(dataset, version)


@router.delete("/{dataset}/policy/{column}")
def unset_rule(dataset: str, column: str, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    from sandbox.policy import Policies

    require_owner_reviewer(who, owner_of(p, dataset))
    return _policy_json(dataset, Policies(p, who.name).unset(dataset, column))


@router.post("/{dataset}/policy-decision/{verdict}")
def decide_policy(
    dataset: str, verdict: str, body: DecisionIn, who: CallerDep, p: PlatformDep
) -> dict[str, Any]:
    """An operator approves or rejects the pending version (one that changes an L4 column)."""
    from hub.errors import TrustlabError
    from sandbox.policy import Policies

    if verdict not in ("approve", "reject"):
        raise TrustlabError(f"unknown decision {verdict!r}; use approve or reject")
    who.require("operator")
    version = Policies(p, who.name).decide(dataset, verdict == "approve", body.reason)
    return _policy_json(dataset, version)


@router.post("/{dataset}/build")
def build(dataset: str, body: BuildIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """Sample, mask by the policy, gate for leaks, publish (a minute or so on large data)."""
    from sandbox.builder import BuildRequest, SampleBuilder

    require_owner_reviewer(who, owner_of(p, dataset), also=("operator",))
    req = BuildRequest(dataset, body.rows, body.all_rows, body.strategy, body.by, body.seed,
                       None, body.min_k, body.synthetic)  # fmt: skip
    result = SampleBuilder(p, actor=who.name).build(req)
    data = asdict(result)
    data["gate"] = result.gate.to_json()
    return data
