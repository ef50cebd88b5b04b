"""Masking policies: which rule (and parameters) masks each column of a dataset.

A policy is versioned: every change writes a new immutable version, ledgered. The first
version is made from the confirmed classification (each PII type's default rule). A
policy is *checked* against the dataset before every build, and the check is default-deny:
a column classified as PII with no rule, or with ``keep``, refuses the build.
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
from hub.models import Dataset
from hub.platform import Platform
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
    """A rule per column from its classification; PII types without a default get none."""
    rules: Rules = {}
    for col in info["columns"]:
        if col["pii"] in DEFAULT_RULES:
            name, params = DEFAULT_RULES[col["pii"]]
            rules[col["name"]] = {"rule": name, "params": dict(params)}
    return rules


def check_rules(
    info: dict[str, Any], rules: Rules, context: MaskingContext
) -> dict[str, MaskingRule]:
    """Instantiate and check every rule against the dataset; default deny for PII columns."""
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
        if spec is None:
            if col["pii"] != "none":
                raise PolicyError(
                    f"column {name!r} is classified as {col['pii']} but the masking policy has "
                    f"no rule for it; set one with `trustlab sample policy set {info['name']} "
                    f"--column {name} --rule RULE`"
                )
            spec = {"rule": "keep", "params": {}}
        rule = make_rule(spec["rule"], spec.get("params", {}), context)
        if col["pii"] != "none" and rule.name == "keep":
            raise PolicyError(
                f"column {name!r} is classified as {col['pii']}: rule 'keep' would copy it "
                "unmasked; choose a masking rule, or 'drop'"
            )
        if col["type"] not in rule.kinds:
            raise PolicyError(
                f"rule {rule.name} cannot mask column {name!r} of type {col['type']}; it takes "
                f"{', '.join(rule.kinds)}"
            )
        built[name] = rule
    return built


class Policies:
    """Masking policies; ``actor`` is who changes one (the authenticated caller)."""

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

    def current(self, name: str) -> PolicyVersion | None:
        with self.platform.db.session() as session:
            ds = self._dataset(session, name)
            row = session.scalars(
                select(MaskingPolicy)
                .where(MaskingPolicy.dataset_id == ds.id)
                .order_by(MaskingPolicy.version.desc())
                .limit(1)
            ).first()
            return _version(name, row) if row else None

    def _write(self, name: str, rules: Rules, action: str, detail: dict[str, Any]) -> PolicyVersion:
        info = self.catalog.show(name)
        check_rules(info, rules, masking_context(self.platform))
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
            )
            session.add(row)
            session.flush()
            self.platform.ledger.append(
                session,
                actor,
                action,
                f"dataset:{name}",
                {"policy_version": row.version, "policy_hash": policy_hash, **detail},
            )
            return _version(name, row)

    def ensure(self, name: str) -> tuple[PolicyVersion, bool]:
        """The current policy, creating version 1 from the classification when there is none."""
        current = self.current(name)
        if current is not None:
            return current, False
        info = self.catalog.require_confirmed(name)
        rules = default_rules(info)
        return self._write(name, rules, "masking_policy.create", {"rules": rules}), True

    def set_rule(self, name: str, column: str, rule: str, params: dict[str, Any]) -> PolicyVersion:
        current, _ = self.ensure(name)
        rules = json.loads(json.dumps(current.rules))
        rules[column] = {"rule": rule, "params": params}
        return self._write(
            name,
            rules,
            "masking_policy.update",
            {"column": column, "rule": rule, "params": params},
        )

    def unset(self, name: str, column: str) -> PolicyVersion:
        current, _ = self.ensure(name)
        if column not in current.rules:
            raise PolicyError(f"the policy of {name!r} has no rule for column {column!r}")
        rules = {c: r for c, r in current.rules.items() if c != column}
        return self._write(name, rules, "masking_policy.update", {"column": column, "rule": None})


def _version(name: str, row: MaskingPolicy) -> PolicyVersion:
    return PolicyVersion(row.id, name, row.version, json.loads(row.rules_json), row.policy_hash)
