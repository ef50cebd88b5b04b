"""Sample routes of the platform API: masking policies and sample builds.

Changing a dataset's masking policy: a provider reviewer of the dataset's owner (a
change to an L4 column then waits for an operator, who approves or rejects it). Building
its sample: the owner's provider reviewer, or an operator. Reading a policy (rules and
parameters, never values) and the list of sample builds: any signed-in user. A rule's
preview (masked values of the source): the owner's provider reviewers. Example rows of
the published, masked sample: the owner's provider reviewers, operators, auditors, admins.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hub.api.datasets import owner_of, require_owner_reviewer
from hub.api.deps import CallerDep, PlatformDep

router = APIRouter(prefix="/samples", tags=["samples"])


class RuleIn(BaseModel):
    rule: str
    params: dict[str, Any] = Field(default_factory=dict)
    justification: str | None = None  # keeping an L2+ column unmasked needs one


class PreviewIn(RuleIn):
    column: str
    rows: int = Field(8, ge=1, le=20)


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


@router.get("/rules")
def rules(who: CallerDep) -> list[dict[str, Any]]:
    """The masking rules there are: name, version, note, accepted kinds, parameters."""
    from sandbox.masking import registry

    return [{"name": r.name, "version": r.version, "note": r.note, "kinds": list(r.kinds),
             "params": r.defaults()} for _, r in sorted(registry().items())]  # fmt: skip


@router.post("/{dataset}/preview")
def preview(dataset: str, body: PreviewIn, who: CallerDep, p: PlatformDep) -> dict[str, Any]:
    """A rule on a few of the column's values: the masked values (never the raw ones), or
    why the masking floor refuses it. Nothing is changed."""
    from sandbox.preview import preview as run

    require_owner_reviewer(who, owner_of(p, dataset))
    return run(p, dataset, body.column, body.rule, body.params, body.justification, body.rows)


@router.get("/{dataset}/builds")
def builds(dataset: str, who: CallerDep, p: PlatformDep) -> list[dict[str, Any]]:
    """The dataset's sample builds, newest first: rows, k-anonymity, the leak gate."""
    from sandbox.preview import builds as run

    return run(p, dataset)


@router.get("/{dataset}/examples")
def examples(dataset: str, who: CallerDep, p: PlatformDep,
             rows: int = Query(10, ge=1, le=50)) -> dict[str, Any]:  # fmt: skip
    """The first rows of the newest published sample (masked, as sandboxes see them)."""
    from sandbox.preview import examples as run

    require_owner_reviewer(who, owner_of(p, dataset), also=("operator", "auditor", "admin"))
    return run(p, dataset, rows)
