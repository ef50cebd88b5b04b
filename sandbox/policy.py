"""Masking policies: which rule (and parameters) masks each column of a dataset.

A policy is versioned: every change writes a new immutable version, ledgered with the
column's rule before and after. The first version is made from the confirmed
classification (each PII type's default rule). A policy is *checked* against the dataset
and the masking floor (``sandbox.floor``) when it is written and before every build, and
the check is default-deny: a PII column, or any column at L2 or above, with no rule
refuses the build. A change to an L4 column waits for an operator (``pending``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.catalog import Catalog
from hub.errors import InvalidState, NotFound
from hub.hashing import canonical_json, digest
from hub.models import Dataset, utcnow
from hub.platform import Platform
from sandbox.floor import level_of
from sandbox.masking import DEFAULT_RULES, MaskingContext, MaskingRule, PolicyError, make_rule
from sandbox.models import MaskingPolicy

Rules = dict[str, dict[str, Any]]  # column -> {"rule": name, "params": {...}}


@dataclass(frozen=True)
class PolicyVersion:
    id: int
    dataset: str
    version: int
    rules: Rules
    policy_hash: str
    status: str = "active"


def masking_context(platform: Platform) -> MaskingContext:
    """The platform masking secret (created on first use, mode 0600)."""
    path: Path = platform.settings.masking_key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
        os.replace(tmp, path)
    secret = path.read_bytes()
    if len(secret) < 16:
        raise PolicyError(f"{path} holds fewer than 16 bytes; restore the platform masking key")
    return MaskingContext(secret=secret, hash_algorithm=platform.settings.hash_algorithm)


def default_rules(info: dict[str, Any]) -> Rules:
    """A rule per column from its classification; PII types without a default get none,
    and so does a column of no PII type at L2 or above (its owner must decide)."""
    rules: Rules = {}
    for col in info["columns"]:
        if col["pii"] == "none" and level_of(col) >= 2:
            continue
        if col["pii"] in DEFAULT_RULES:
            name, params = DEFAULT_RULES[col["pii"]]
            rules[col["name"]] = {"rule": name, "params": dict(params)}
    return rules


def check_rules(
    info: dict[str, Any],
    rules: Rules,
    context: MaskingContext,
    floor: dict[str, Any] | None = None,
    complete: bool = True,
) -> dict[str, MaskingRule]:
    """Instantiate and check every rule against the dataset and the masking floor.

    Default deny: a column classified as PII, or at L2 and above, needs a rule; ``keep``
    needs a justification on a no-PII L2+ column and is refused on a PII column (see
    ``sandbox.floor``). ``floor`` defaults to the built-in ``masking_floor`` setting.
    ``complete=False`` (a policy being edited) checks only the columns that have a rule.
    """
    from hub.settings import Settings
    from sandbox.floor import check_column

    if floor is None:
        floor = Settings.model_fields["masking_floor"].get_default(call_default_factory=True)
    columns = {c["name"]: c for c in info["columns"]}
    missing = sorted(set(rules) - set(columns))
    if missing:
        raise PolicyError(
            f"the masking policy of {info['name']!r} names column(s) {missing} that the "
            f"dataset does not have; remove them with `trustlab sample policy unset`"
        )
    built: dict[str, MaskingRule] = {}
    for name, col in columns.items():
        spec = rules.get(name)
        if spec is None and not complete:
            continue
        if spec is None:
            if col["pii"] != "none" or level_of(col) >= 2:
                what = col["pii"] if col["pii"] != "none" else f"L{level_of(col)}"
                raise PolicyError(
                    f"column {name!r} is classified as {what} but the masking policy has no "
                    f"rule for it; set one with `trustlab sample policy set {info['name']} "
                    f"--column {name} --rule RULE`"
                )
            spec = {"rule": "keep", "params": {}}
        rule = make_rule(spec["rule"], spec.get("params", {}), context)
        if col["type"] not in rule.kinds:
            raise PolicyError(
                f"rule {rule.name} cannot mask column {name!r} of type {col['type']}; it takes "
                f"{', '.join(rule.kinds)}"
            )
        check_column(col, spec, rule, floor)
        built[name] = rule
    return built


class Policies:
    """Masking policies; ``actor`` is who changes one (the authenticated caller).

    Who may: the API lets only the owner's provider reviewers write a version, and only
    operators decide one that is pending. A version that changes an L4 column is
    ``pending`` until an operator approves it; every write and decision is ledgered with
    the column's rule before and after.
    """

    def __init__(self, platform: Platform, actor: str | None = None) -> None:
        self.platform = platform
        self.catalog = Catalog(platform, actor)
        self._actor = self.catalog._actor

    def _dataset(self, session: Session, name: str) -> Dataset:
        ds = session.scalars(select(Dataset).where(Dataset.name == name)).first()
        if ds is None:
            raise NotFound(f"no dataset named {name!r}; `trustlab dataset list` shows the catalog")
        if ds.kind == "sample":
            raise InvalidState(f"{name!r} is a sample; policies belong to the dataset it samples")
        return ds

    def _latest(self, name: str, status: str) -> PolicyVersion | None:
        with self.platform.db.session() as session:
            ds = self._dataset(session, name)
            row = session.scalars(
                select(MaskingPolicy)
                .where(MaskingPolicy.dataset_id == ds.id, MaskingPolicy.status == status)
                .order_by(MaskingPolicy.version.desc())
                .limit(1)
            ).first()
            return _version(name, row) if row else None

    def current(self, name: str) -> PolicyVersion | None:
        """The newest active version (what builds use)."""
        return self._latest(name, "active")

    def pending(self, name: str) -> PolicyVersion | None:
        """A version waiting for an operator, if any."""
        return self._latest(name, "pending")

    def _check(self, name: str, rules: Rules, complete: bool) -> dict[str, Any]:
        info = self.catalog.show(name)
        floor = self.platform.settings.masking_floor
        check_rules(info, rules, masking_context(self.platform), floor, complete=complete)
        return info

    def _write(
        self, name: str, rules: Rules, action: str, detail: dict[str, Any], status: str
    ) -> PolicyVersion:
        actor = self._actor()
        policy_hash = digest(self.platform.settings.hash_algorithm, canonical_json(rules)).hex()
        with self.platform.db.session() as session:
            ds = self._dataset(session, name)
            last = session.scalars(
                select(MaskingPolicy.version)
                .where(MaskingPolicy.dataset_id == ds.id)
                .order_by(MaskingPolicy.version.desc())
                .limit(1)
            ).first()
            row = MaskingPolicy(
                dataset_id=ds.id,
                version=(last or 0) + 1,
                rules_json=canonical_json(rules).decode(),
                policy_hash=policy_hash,
                created_by=actor,
                status=status,
                change_json=json.dumps(detail, ensure_ascii=False),
            )
            session.add(row)
            session.flush()
            self.platform.ledger.append(
                session,
                actor,
                action,
                f"dataset:{name}",
                {"policy_version": row.version, "policy_hash": policy_hash, "status": status,
                 **detail},
            )  # fmt: skip
            return _version(name, row)

    def draft(self, name: str) -> Rules:
        """The rules a build would use now, without writing anything: the current
        version's, or those version 1 would get from the classification."""
        current = self.current(name)
        if current is not None:
            return current.rules
        if self.pending(name) is not None:
            raise InvalidState(
                f"the first masking policy of {name!r} waits for an operator: "
                f"`trustlab sample policy approve {name}`"
            )
        return default_rules(self.catalog.require_confirmed(name))

    def ensure(self, name: str) -> tuple[PolicyVersion, bool]:
        """The current policy, creating version 1 from the classification when there is none.

        Version 1 holds each PII type's default rule; a column of no PII type at L2 or
        above gets none, so a build stays refused until the owner decides (default deny).
        """
        current = self.current(name)
        if current is not None:
            return current, False
        if self.pending(name) is not None:
            raise InvalidState(
                f"the first masking policy of {name!r} waits for an operator: "
                f"`trustlab sample policy approve {name}`"
            )
        info = self.catalog.require_confirmed(name)
        rules = default_rules(info)
        self._check(name, rules, complete=False)
        return self._write(name, rules, "masking_policy.create", {"rules": rules}, "active"), True

    def _change(self, name: str, column: str, after: dict[str, Any] | None) -> PolicyVersion:
        if self.pending(name) is not None:
            raise InvalidState(
                f"a change to the masking policy of {name!r} waits for an operator; approve "
                f"or reject it first (`trustlab sample policy show {name}`)"
            )
        current, _ = self.ensure(name)
        before = current.rules.get(column)
        rules = json.loads(json.dumps(current.rules))
        if after is None:
            if before is None:
                raise PolicyError(f"the policy of {name!r} has no rule for column {column!r}")
            del rules[column]
            col = next((c for c in self.catalog.show(name)["columns"] if c["name"] == column), {})
            if col and (col["pii"] != "none" or level_of(col) >= 2):
                what = col["pii"] if col["pii"] != "none" else f"L{level_of(col)}"
                raise PolicyError(
                    f"column {column!r} is classified as {what} but the masking policy has "
                    "no rule for it without this one (default deny); set another rule instead"
                )
        else:
            rules[column] = after
        levels = {c["name"]: level_of(c) for c in self.catalog.show(name)["columns"]}
        if column not in levels:
            raise PolicyError(f"{name!r} has no column {column!r}; columns: {', '.join(levels)}")
        self._check(name, rules, complete=False)
        status = "pending" if levels[column] >= 4 else "active"
        detail = {"column": column, "before": before, "after": after}
        return self._write(name, rules, "masking_policy.update", detail, status)

    def set_rule(
        self,
        name: str,
        column: str,
        rule: str,
        params: dict[str, Any],
        justification: str | None = None,
    ) -> PolicyVersion:
        """A new version with COLUMN masked by RULE (pending when COLUMN is L4)."""
        spec: dict[str, Any] = {"rule": rule, "params": params}
        if justification:
            spec["justification"] = justification.strip()
        return self._change(name, column, spec)

    def unset(self, name: str, column: str) -> PolicyVersion:
        return self._change(name, column, None)

    def decide(self, name: str, approve: bool, reason: str | None = None) -> PolicyVersion:
        """An operator approves (activates) or rejects the pending version."""
        pending = self.pending(name)
        if pending is None:
            raise InvalidState(f"no masking policy change of {name!r} waits for a decision")
        if not approve and not (reason or "").strip():
            raise PolicyError("a rejection needs a reason (--reason)")
        if approve:
            # The platform may have changed its floor meanwhile: check again.
            self._check(name, pending.rules, complete=False)
        actor = self._actor()
        with self.platform.db.session() as session:
            row = session.get(MaskingPolicy, pending.id)
            assert row is not None
            if actor == row.created_by:
                raise InvalidState(
                    "the operator who decides a masking policy change must not be the one "
                    "who made it"
                )
            row.status = "active" if approve else "rejected"
            row.decided_by = actor
            row.decided_at = utcnow()
            self.platform.ledger.append(
                session,
                actor,
                "masking_policy.approve" if approve else "masking_policy.reject",
                f"dataset:{name}",
                {"policy_version": row.version, "policy_hash": row.policy_hash,
                 "reason": reason, **json.loads(row.change_json or "{}")},
            )  # fmt: skip
            return _version(name, row)


def _version(name: str, row: MaskingPolicy) -> PolicyVersion:
    return PolicyVersion(
        row.id, name, row.version, json.loads(row.rules_json), row.policy_hash, row.status
    )
