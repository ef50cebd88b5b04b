"""Contracts (数字合约): import, two-party approval, suspension, revocation, expiry.

A contract is created as a draft from a document (``hub.contract_doc``): imported from the
management system, or asked for by a project member (``request``). It becomes **active**
only when a provider reviewer of every object's owner and an operator have approved that
exact version (its hash); no person fills two places, and a member who asked for a
contract (``request``) does not decide it. A new
document under the same ``ref`` is the next version (an amendment or a renewal): the
version in force stays so until the new one is approved.

States: ``draft`` (no version approved yet) → ``active`` → ``suspended`` (a freeze, or an
operator or owner pausing it; ``resume`` lifts it) | ``expired`` (``valid_until`` passed;
a renewal approved restores it) | ``revoked`` (final). ``rejected``: a draft whose first
version was rejected. Every change is ledgered under ``contract:<ref>``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.contract_doc import ContractDocument, InvalidContract, parse
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, PermissionDenied
from hub.models import Contract, ContractApproval, ContractVersion, Dataset, Project
from hub.platform import Platform
from hub.terms import aware, dataset_columns, in_force, now

OPEN = ("pending",)


class Contracts:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.directory = Directory(platform)

    # --- documents ------------------------------------------------------------------------

    def _check_catalog(self, session: Session, doc: ContractDocument) -> list[str]:
        """Refuse a document the catalog contradicts; returns notes (overlaps)."""
        at = now()
        if doc.valid_until is not None and doc.valid_until <= at:
            raise InvalidContract(
                f"contract field valid_until: {doc.valid_until.isoformat()} has passed; the "
                "management side must renew the dates before import"
            )
        services: set[str] = set()  # third-party providers the party's feature vouches for
        if doc.parties.user.kind != "project":
            services = self._check_party(session, doc)
        elif session.scalar(select(Project).where(Project.name == doc.parties.user.name)) is None:
            raise InvalidContract(f"contract field parties.user.name: no project "
                                  f"{doc.parties.user.name!r}")  # fmt: skip
        owners: set[str] = set()
        for i, obj in enumerate(doc.objects):
            where = f"contract field objects.{i}"
            ds = session.scalar(select(Dataset).where(Dataset.name == obj.dataset))
            if ds is None:
                raise InvalidContract(f"{where}.dataset: no dataset {obj.dataset!r} in the "
                                      "catalog; see `trustlab dataset list`")  # fmt: skip
            if ds.kind == "sample":
                raise InvalidContract(f"{where}.dataset: {obj.dataset!r} is a sample; name "
                                      "its source (a sandbox mounts the sample)")  # fmt: skip
            if ds.kind == "source" and not ds.confirmed:
                raise InvalidContract(
                    f"{where}.dataset: {obj.dataset!r} has no confirmed classification; its "
                    f"owner confirms it first (`trustlab dataset confirm {obj.dataset}`)"
                )
            if obj.columns != "*":
                have = set(dataset_columns(session, obj.dataset))
                lacking = [c for c in obj.columns if c not in have]
                if lacking:
                    raise InvalidContract(f"{where}.columns: {obj.dataset!r} has no column "
                                          f"{', '.join(map(repr, lacking))}")  # fmt: skip
            owners.add(ds.owner.name)
        listed = set(doc.parties.providers)
        if listed != owners | services:
            raise InvalidContract(
                f"contract field parties.providers: the objects' owners are "
                f"{', '.join(sorted(owners | services)) or 'none'}, the document lists "
                f"{', '.join(sorted(listed))}"
            )
        return self._overlaps(session, doc, at)

    def _check_party(self, session: Session, doc: ContractDocument) -> set[str]:
        """Other user sides (API applications) are checked by the feature that has them; it
        returns the providers it vouches for besides the objects' owners (the providers of
        registered third-party APIs)."""
        from hub.plugins import plugins

        kind = doc.parties.user.kind
        found = plugins("trustlab.parties")
        if kind not in found:
            raise InvalidContract(f"contract field parties.user.kind: {kind} parties need the "
                                  "feature that serves them, which is not installed")  # fmt: skip
        return set(found[kind].load()(session, doc) or ())

    def _overlaps(self, session: Session, doc: ContractDocument, at: Any) -> list[str]:
        notes = []
        mine = {(o.dataset, m) for o in doc.objects for m in o.modes}
        for c in session.scalars(select(Contract).where(
                Contract.party == doc.parties.user.name, Contract.ref != doc.ref,
                Contract.party_kind == doc.parties.user.kind,
                Contract.state == "active")):  # fmt: skip
            if not in_force(c, at):
                continue
            theirs = {(o["dataset"], m) for o in _doc(session, c)["objects"] for m in o["modes"]}
            common = sorted(mine & theirs)
            if common:
                what = ", ".join(f"{d}/{m}" for d, m in common)
                notes.append(f"overlaps contract {c.ref} on {what}: the narrower terms apply "
                             "(columns intersected, earliest end, every limit)")  # fmt: skip
        return notes

    def import_document(self, data: Any, actor: str, origin: str = "import") -> dict[str, Any]:
        """Create the draft (or the next version of ``ref``) for approval."""
        doc = data if isinstance(data, ContractDocument) else parse(data)
        if origin == "import" and not any(
            r.role in ("operator", "admin") for r in self.directory.roles(actor)
        ):
            raise PermissionDenied(f"{actor!r} may not import contracts: an operator imports "
                                   "what the management system negotiated")  # fmt: skip
        algorithm = self.platform.settings.hash_algorithm
        digest = doc.digest(algorithm)
        with self.platform.db.session() as session:
            notes = self._check_catalog(session, doc)
            c = session.scalar(select(Contract).where(Contract.ref == doc.ref))
            if c is None:
                c = Contract(ref=doc.ref, party_kind=doc.parties.user.kind,
                             party=doc.parties.user.name, state="draft", origin=origin,
                             created_by=actor)  # fmt: skip
                session.add(c)
                session.flush()
                number = 1
            else:
                if c.state == "revoked":
                    raise InvalidState(f"contract {c.ref} is revoked; a new contract needs a "
                                       "new ref")  # fmt: skip
                if c.party != doc.parties.user.name:
                    raise InvalidContract(f"contract field parties.user.name: contract "
                                          f"{c.ref} belongs to {c.party!r}")  # fmt: skip
                pending = [v for v in c.versions if v.status in OPEN]
                if pending:
                    raise InvalidState(
                        f"contract {c.ref} v{pending[0].number} still awaits approval; "
                        f"decide it (or reject it) before importing another version"
                    )
                if any(v.hash == digest for v in c.versions):
                    raise InvalidState(f"contract {c.ref} already has this exact document")
                number = len(c.versions) + 1
                if c.state == "rejected":
                    c.state = "draft"
            v = ContractVersion(contract_id=c.id, number=number,
                                document=json.dumps(doc.to_json(), ensure_ascii=False),
                                hash=digest, status="pending", created_by=actor)  # fmt: skip
            session.add(v)
            self.platform.ledger.append(
                session, actor, "contract.import", f"contract:{doc.ref}",
                {"version": number, "hash": digest, "origin": origin, "notes": notes,
                 "document": doc.to_json()},
            )  # fmt: skip
        info = self.show(doc.ref)
        info["notes"] = notes
        return info

    def request(
        self,
        project: str,
        dataset: str,
        user: str,
        modes: list[str],
        columns: list[str] | None = None,
        days: int | None = None,
        purpose: str = "",
        category: str = "product_development",
    ) -> dict[str, Any]:
        """A project member asks for ``dataset`` on standard terms: a draft contract."""
        with self.platform.db.session() as session:
            self.directory.require_member(user, project, session=session)
            ds = session.scalar(select(Dataset).where(Dataset.name == dataset))
            owner = ds.owner.name if ds is not None else "unknown"
            taken = set(session.scalars(select(Contract.ref)))
        start = now().replace(microsecond=0)
        span = timedelta(days=days or self.platform.settings.contract_request_days)
        ref, n = f"req-{project}-{dataset}"[:96], 1
        while (ref if n == 1 else f"{ref}-{n}") in taken:
            n += 1
        doc = {
            "schema": "trustlab.contract/1",
            "ref": ref if n == 1 else f"{ref}-{n}",
            "title": f"{dataset} for project {project}",
            "parties": {"providers": [owner], "operator": "platform",
                        "user": {"kind": "project", "name": project}},
            "objects": [{"dataset": dataset, "columns": columns or "*", "modes": modes}],
            "purpose": {"category": category, "text": purpose or f"requested by {user}"},
            "valid_from": start.isoformat(),
            "valid_until": (start + span).isoformat(),
        }  # fmt: skip
        return self.import_document(doc, user, origin="request")

    def export(self, ref: str, version: int | None = None) -> dict[str, Any]:
        with self.platform.db.session() as session:
            c = self._get(session, ref)
            number = version or c.version or len(c.versions)
            v = next((v for v in c.versions if v.number == number), None)
            if v is None:
                raise NotFound(f"contract {ref} has no version {number}")
            return json.loads(v.document)

    # --- approval -------------------------------------------------------------------------

    def required(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        return [("provider", org) for org in sorted(doc["parties"]["providers"])] + [
            ("operator", "")
        ]

    def decide(self, ref: str, reviewer: str, approve: bool, reason: str | None = None,
               role: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Record ``reviewer``'s decision on the pending version, in the role they hold for
        it (a provider reviewer of an owner, or an operator); activate when all approved."""
        if not approve and not (reason or "").strip():
            raise TrustlabError("a rejection needs a reason: add --reason TEXT")
        with self.platform.db.session() as session:
            c = self._get(session, ref)
            v = next((v for v in c.versions if v.status in OPEN), None)
            if v is None:
                raise InvalidState(f"contract {ref} has no version awaiting approval")
            doc = json.loads(v.document)
            if c.origin == "request" and reviewer == v.created_by:
                raise PermissionDenied(f"{reviewer!r} wrote contract {ref} v{v.number}; "
                                       "another person decides it")  # fmt: skip
            have = self.directory.roles(reviewer, session)
            done = {(a.role, a.org) for a in v.approvals}
            slots = [s for s in self.required(doc) if s not in done and (role is None or
                     s[0] == role) and any(r.role == s[0] and (s[0] != "provider" or
                     r.org == s[1]) for r in have)]  # fmt: skip
            if not slots:
                need = ", ".join(f"{r} of {o}" if o else r for r, o in self.required(doc)
                                 if (r, o) not in done)  # fmt: skip
                raise PermissionDenied(f"{reviewer!r} holds none of the approvals contract "
                                       f"{ref} still needs ({need or 'none'})")  # fmt: skip
            if any(a.reviewer == reviewer for a in v.approvals):
                raise PermissionDenied(f"{reviewer!r} already decided contract {ref} "
                                       f"v{v.number}; another person decides next")  # fmt: skip
            slot = slots[0]
            session.add(ContractApproval(version_id=v.id, version_hash=v.hash, role=slot[0],
                                         org=slot[1], reviewer=reviewer,
                                         decision="approve" if approve else "reject",
                                         reason=reason))  # fmt: skip
            subject = f"contract:{ref}"
            payload = {"version": v.number, "hash": v.hash, "role": slot[0], "org": slot[1],
                       "reason": reason}  # fmt: skip
            if not approve:
                v.status = "rejected"
                if c.version is None:
                    c.state = "rejected"
                self.platform.ledger.append(session, reviewer, "contract.reject", subject,
                                            payload)  # fmt: skip
            else:
                self.platform.ledger.append(session, reviewer, "contract.approve", subject,
                                            payload)  # fmt: skip
                session.flush()
                session.refresh(v)
                if {(a.role, a.org) for a in v.approvals if a.decision == "approve"} >= set(
                    self.required(doc)
                ):
                    self._activate(session, c, v, doc, reviewer)
        return self.show(ref)

    def _activate(self, session: Session, c: Contract, v: ContractVersion, doc: dict,
                  actor: str) -> None:  # fmt: skip
        for old in c.versions:
            if old.status == "approved" and old.id != v.id:
                old.status = "superseded"
        v.status = "approved"
        before = c.state
        c.version = v.number
        c.valid_from = _dt(doc["valid_from"])
        c.valid_until = _dt(doc["valid_until"]) if doc.get("valid_until") else None
        until = aware(c.valid_until)
        expired = until is not None and until <= now()
        frozen = c.state == "suspended"  # a renewal does not lift a freeze
        c.state = "expired" if expired else ("suspended" if frozen else "active")
        if not frozen:  # a freeze keeps its own record (its lifting checks it)
            c.state_by, c.state_at = actor, now()
            c.state_reason = "approved by every party" if not expired else "approved after its end"
        self.platform.ledger.append(
            session, actor, "contract.activate", f"contract:{c.ref}",
            {"version": v.number, "hash": v.hash, "state": c.state, "before": before,
             "approvals": [{"role": a.role, "org": a.org, "reviewer": a.reviewer}
                           for a in v.approvals]},
        )  # fmt: skip

    # --- suspension, revocation, expiry ---------------------------------------------------

    def _may_change(self, session: Session, c: Contract, actor: str, operator_only: bool) -> None:
        roles = self.directory.roles(actor, session)
        if any(r.role in ("operator", "admin") for r in roles):
            return
        if not operator_only:
            owners = set(_doc(session, c)["parties"]["providers"]) if c.version else set()
            if any(r.role == "provider" and r.org in owners for r in roles):
                return
        who = "an operator" if operator_only else "an operator or the data owner's reviewer"
        raise PermissionDenied(f"{actor!r} may not change contract {c.ref}: {who} does")

    def set_state(self, ref: str, actor: str, action: str, reason: str) -> dict[str, Any]:
        """``suspend`` (operator or owner), ``resume`` (operator), ``revoke`` (either)."""
        if not reason.strip():
            raise TrustlabError(f"to {action} a contract needs a reason: add --reason TEXT")
        allowed = {"suspend": ("active",), "resume": ("suspended",),
                   "revoke": ("draft", "active", "suspended", "expired")}  # fmt: skip
        with self.platform.db.session() as session:
            c = self._get(session, ref)
            self._may_change(session, c, actor, operator_only=action == "resume")
            if c.state not in allowed[action]:
                raise InvalidState(f"contract {ref} is {c.state}; cannot {action} it")
            before = c.state
            if action == "resume":
                until = aware(c.valid_until)
                c.state = "expired" if until is not None and until <= now() else "active"
            else:
                c.state = {"suspend": "suspended", "revoke": "revoked"}[action]
            c.state_reason, c.state_by, c.state_at = reason, actor, now()
            for v in c.versions:
                if action == "revoke" and v.status in OPEN:
                    v.status = "rejected"
            self.platform.ledger.append(session, actor, f"contract.{action}", f"contract:{ref}",
                                        {"before": before, "state": c.state,
                                         "reason": reason})  # fmt: skip
        return self.show(ref)

    def sweep(self, actor: str = "contract-monitor") -> list[str]:
        """Record every contract whose end passed as expired; returns their refs."""
        at = now()
        changed = []
        with self.platform.db.session() as session:
            for c in session.scalars(select(Contract).where(
                    Contract.state.in_(("active", "suspended")),
                    Contract.valid_until.is_not(None))):  # fmt: skip
                until = aware(c.valid_until)
                if until is not None and until <= at:
                    before, c.state = c.state, "expired"
                    c.state_reason, c.state_by, c.state_at = "valid_until passed", actor, at
                    self.platform.ledger.append(session, actor, "contract.expire",
                                                f"contract:{c.ref}",
                                                {"before": before, "valid_until":
                                                 until.isoformat()})  # fmt: skip
                    changed.append(c.ref)
        return changed

    # --- reading --------------------------------------------------------------------------

    def _get(self, session: Session, ref: str) -> Contract:
        c = session.scalar(select(Contract).where(Contract.ref == ref))
        if c is None:
            raise NotFound(f"no contract {ref!r}; see `trustlab contract list`")
        return c

    def show(self, ref: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            c = self._get(session, ref)
            return self._describe(session, c)

    def _describe(self, session: Session, c: Contract) -> dict[str, Any]:
        at = now()
        versions = []
        for v in c.versions:
            doc = json.loads(v.document)
            done = {(a.role, a.org) for a in v.approvals if a.decision == "approve"}
            versions.append({
                "number": v.number, "hash": v.hash, "status": v.status,
                "created_by": v.created_by, "created_at": v.created_at.isoformat(),
                "decisions": [{"role": a.role, "org": a.org, "reviewer": a.reviewer,
                               "decision": a.decision, "reason": a.reason}
                              for a in v.approvals],
                "awaiting": [f"{r} of {o}" if o else r for r, o in self.required(doc)
                             if (r, o) not in done] if v.status in OPEN else [],
            })  # fmt: skip
        current = next((v for v in c.versions if v.number == c.version), None)
        shown = current or (c.versions[-1] if c.versions else None)
        doc = json.loads(shown.document) if shown else {}
        return {
            "ref": c.ref, "party": c.party, "party_kind": c.party_kind, "state": c.state,
            "in_force": in_force(c, at), "version": c.version, "origin": c.origin,
            "valid_from": _iso(c.valid_from), "valid_until": _iso(c.valid_until),
            "state_reason": c.state_reason, "state_by": c.state_by,
            "title": doc.get("title"), "objects": doc.get("objects", []),
            "purpose": doc.get("purpose"), "limits": doc.get("limits", {}),
            "versions": versions,
        }  # fmt: skip

    def list(self, party: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            query = select(Contract).order_by(Contract.ref)
            if party:
                query = query.where(Contract.party == party)
            if state:
                query = query.where(Contract.state == state)
            return [self._describe(session, c) for c in session.scalars(query)]


def _doc(session: Session, c: Contract) -> dict[str, Any]:
    from hub.terms import document

    return document(session, c)


def _dt(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(t: Any) -> str | None:
    return aware(t).isoformat() if t is not None else None  # type: ignore[union-attr]


def ledger_migrated(platform: Platform) -> int:
    """Ledger the contracts the 0004 migration made from approved grants (once each)."""
    with platform.db.session() as session:
        pending = session.scalars(
            select(Contract).where(Contract.state_by == "migration:pending")
        ).all()
        for c in pending:
            v = c.versions[0]
            platform.ledger.append(session, "platform-host", "contract.migrate",
                                   f"contract:{c.ref}",
                                   {"version": 1, "hash": v.hash, "origin": "grant",
                                    "note": "an approved grant became this contract without "
                                    "an end date; it was approved by the owner only",
                                    "document": json.loads(v.document)})  # fmt: skip
            c.state_by = "migration"
    return len(pending)
