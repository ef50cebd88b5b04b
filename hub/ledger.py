"""The tamper-evident evidence ledger.

Entries are hash-chained: ``hash = H(prev_hash || canonical JSON of (seq, time, actor,
action, subject, payload))``. Every ``checkpoint_interval`` entries a checkpoint stores the
RFC 6962 Merkle root over entries ``1..tree_size`` (leaf data = the entry hash), signed with
the platform's Ed25519 key. Entries are written in the caller's transaction, so an entry
exists exactly when the work it records was committed.

What verification can and cannot show: an altered, deleted, reordered or inserted entry
breaks the chain; an attacker who rewrites the chain consistently is caught by the first
signed checkpoint covering the change; entries after the newest checkpoint are protected
by the chain alone, which is why checkpoints are frequent and ``audit verify`` reports how
many entries are not yet covered.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub import merkle
from hub.errors import ConfigError, InvalidState, LedgerIntegrityError
from hub.hashing import canonical_json, digest
from hub.keys import key_id, load_public_key, public_pem, verify_signature
from hub.models import Checkpoint, LedgerEntry, PlatformState

PROOF_FORMAT = "trustlab-inclusion-proof/1"
EXPORT_FORMAT = "trustlab-ledger-export/1"
_ENTRY_FIELDS = ("seq", "time", "actor", "action", "subject", "payload", "prev_hash", "hash")
_CHECKPOINT_FIELDS = ("id", "tree_size", "root", "algorithm", "time", "key_id", "signature")
_ADVISORY_LOCK = 0x7472757374  # "trust": serialises ledger appends on PostgreSQL
_HASH_KEY = "ledger.hash_algorithm"


def genesis_hash(algorithm: str) -> str:
    return "00" * len(digest(algorithm, b""))


def entry_body(
    seq: int, time: str, actor: str, action: str, subject: str, payload: Any
) -> dict[str, Any]:
    return {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "subject": subject,
        "payload": payload,
    }


def entry_hash(algorithm: str, prev_hash: str, body: dict[str, Any]) -> str:
    return digest(algorithm, bytes.fromhex(prev_hash) + canonical_json(body)).hex()


def _stored_body(entry: LedgerEntry) -> dict[str, Any]:
    return entry_body(
        entry.seq, entry.time, entry.actor, entry.action, entry.subject, json.loads(entry.payload)
    )


def _checkpoint_body(cp: Checkpoint | dict[str, Any]) -> dict[str, Any]:
    get = cp.get if isinstance(cp, dict) else lambda k: getattr(cp, k)
    return {k: get(k) for k in ("tree_size", "root", "algorithm", "time", "key_id")}


def stamp(text: str) -> str:
    """An ISO date or time (naive: UTC) in the ledger's own time format, for range queries."""
    from hub.errors import TrustlabError

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TrustlabError(
            f"{text!r} is not an ISO date or time (e.g. 2026-12-03T08:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CompactRange:
    """Running RFC 6962 root of a growing prefix: O(log n) state, O(log n) per root."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, root), sizes decreasing

    def append(self, leaf: bytes) -> None:
        node = merkle.leaf_hash(self.algorithm, leaf)
        size = 1
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            node = merkle.node_hash(self.algorithm, left, node)
            size += left_size
        self._stack.append((size, node))
        self.size += 1

    @property
    def frontier(self) -> list[tuple[int, str]]:
        return [(size, node.hex()) for size, node in self._stack]

    @classmethod
    def resume(cls, algorithm: str, frontier: list[list[int | str]]) -> CompactRange:
        """Continue from a stored frontier (as written by ``frontier``)."""
        rng = cls(algorithm)
        rng._stack = [(int(size), bytes.fromhex(str(node))) for size, node in frontier]
        rng.size = sum(size for size, _ in rng._stack)
        return rng

    def root(self) -> bytes:
        if not self._stack:
            return digest(self.algorithm, b"")
        node = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            node = merkle.node_hash(self.algorithm, left, node)
        return node


@dataclass
class VerifyReport:
    """The outcome of ``Ledger.verify``: ``ok`` or the first problem found."""

    entries: int = 0
    checkpoints: int = 0
    covered: int = 0  # entries covered by the newest valid signed checkpoint
    newest_checkpoint_time: str | None = None  # ISO time the newest valid one was signed
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Ledger:
    """Append, checkpoint, verify and prove, over one metadata DB session at a time."""

    def __init__(
        self,
        algorithm: str,
        private_key: Ed25519PrivateKey | None = None,
        public_key: Ed25519PublicKey | None = None,
        checkpoint_interval: int = 100,
    ) -> None:
        self.algorithm = algorithm
        self.private_key = private_key
        self.public_key = public_key or (private_key.public_key() if private_key else None)
        self.checkpoint_interval = checkpoint_interval

    # -- writing ---------------------------------------------------------------------------
    def ensure_algorithm(self, session: Session) -> None:
        """Fix the hash algorithm on first use; refuse to mix algorithms in one ledger."""
        state = session.get(PlatformState, _HASH_KEY)
        if state is None:
            session.add(PlatformState(key=_HASH_KEY, value=self.algorithm))
            session.flush()
        elif state.value != self.algorithm:
            raise ConfigError(
                f"this ledger uses {state.value}, but TRUSTLAB_HASH_ALGORITHM is "
                f"{self.algorithm}; set it back to {state.value}"
            )

    def append(
        self,
        session: Session,
        actor: str,
        action: str,
        subject: str,
        payload: dict[str, Any],
        seal: bool = False,
    ) -> LedgerEntry:
        """Append an entry in ``session``'s transaction (it exists only if that commits).

        ``seal``: sign a checkpoint right after it, in the same transaction (decisions that
        must not rest on the hash chain alone: approvals, deployments, published runs).
        """
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        self.ensure_algorithm(session)
        last = session.scalars(
            select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(1)
        ).first()
        seq = last.seq + 1 if last else 1
        prev = last.hash if last else genesis_hash(self.algorithm)
        payload_obj = json.loads(canonical_json(payload))  # reject non-JSON payloads early
        time = _now()
        body = entry_body(seq, time, actor, action, subject, payload_obj)
        entry = LedgerEntry(
            seq=seq,
            time=time,
            actor=actor,
            action=action,
            subject=subject,
            payload=canonical_json(payload_obj).decode(),
            prev_hash=prev,
            hash=entry_hash(self.algorithm, prev, body),
        )
        session.add(entry)
        session.flush()
        if self.private_key is not None and (seal or seq % self.checkpoint_interval == 0):
            self.checkpoint(session)
        return entry

    def checkpoint(self, session: Session) -> Checkpoint | None:
        """Sign the Merkle root over all entries so far (None when nothing new to cover)."""
        if self.private_key is None:
            raise ConfigError("no ledger signing key is configured (TRUSTLAB_LEDGER_KEY_PATH)")
        self.ensure_algorithm(session)
        size = session.scalar(select(func.max(LedgerEntry.seq))) or 0
        last = session.scalars(
            select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
        ).first()
        if size == 0 or (last is not None and last.tree_size >= size):
            return None
        rng = CompactRange(self.algorithm)
        if last is not None:
            rng = CompactRange.resume(self.algorithm, json.loads(last.frontier))
        hashes = session.scalars(
            select(LedgerEntry.hash)
            .where(LedgerEntry.seq > rng.size, LedgerEntry.seq <= size)
            .order_by(LedgerEntry.seq)
        )
        for h in hashes:
            rng.append(bytes.fromhex(h))
        assert self.public_key is not None
        cp = Checkpoint(
            tree_size=size,
            root=rng.root().hex(),
            algorithm=self.algorithm,
            time=_now(),
            key_id=key_id(self.public_key),
            frontier=json.dumps(rng.frontier),
        )
        signature = self.private_key.sign(canonical_json(_checkpoint_body(cp)))
        cp.signature = base64.b64encode(signature).decode()
        session.add(cp)
        session.flush()
        return cp

    # -- reading ---------------------------------------------------------------------------
    def entries(
        self,
        session: Session,
        limit: int = 20,
        action: str | None = None,
        subject: str | None = None,
        actor: str | None = None,
        subject_prefix: str | None = None,
        since: str | None = None,
        until: str | None = None,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` entries matching the filters (a time range, sequence
        numbers below ``before`` for the next page), oldest first, as JSON."""
        query = select(LedgerEntry).order_by(LedgerEntry.seq.desc()).limit(limit)
        if since is not None:
            query = query.where(LedgerEntry.time >= stamp(since))
        if until is not None:
            query = query.where(LedgerEntry.time < stamp(until))
        if before is not None:
            query = query.where(LedgerEntry.seq < before)
        for column, value in ((LedgerEntry.action, action), (LedgerEntry.subject, subject),
                              (LedgerEntry.actor, actor)):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        if subject_prefix is not None:
            query = query.where(LedgerEntry.subject.startswith(subject_prefix))
        rows = [
            {"seq": e.seq, "time": e.time, "actor": e.actor, "action": e.action,
             "subject": e.subject, "payload": json.loads(e.payload), "hash": e.hash}
            for e in session.scalars(query)
        ]  # fmt: skip
        rows.reverse()
        return rows

    def export(self, session: Session) -> dict[str, Any]:
        """Every entry and checkpoint as stored, plus the public key: what an auditor takes
        away to verify offline (``verify_export``)."""
        assert self.public_key is not None
        entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
        checkpoints = session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size))
        return {
            "format": EXPORT_FORMAT,
            "algorithm": self.algorithm,
            "public_key": public_pem(self.public_key),
            "entries": [{k: getattr(e, k) for k in _ENTRY_FIELDS} for e in entries],
            "checkpoints": [{k: getattr(c, k) for k in _CHECKPOINT_FIELDS} for c in checkpoints],
        }

    def verify(self, session: Session) -> VerifyReport:
        """Recompute the chain and every checkpoint; report the first bad sequence number."""
        checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size)))
        entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).yield_per(1000)
        return self.verify_rows(entries, checkpoints)

    def verify_rows(self, entries: Any, checkpoints: list[Any]) -> VerifyReport:
        """``verify`` over any rows with the stored fields (DB rows or an export)."""
        report = VerifyReport()
        report.checkpoints = len(checkpoints)
        pending = {cp.tree_size: cp for cp in checkpoints}
        rng = CompactRange(self.algorithm)
        prev = genesis_hash(self.algorithm)
        last_good_cp = 0
        for expected, entry in enumerate(entries, start=1):
            report.entries = expected
            problem = self._check_entry(entry, expected, prev)
            if problem:
                report.first_bad_seq = expected
                report.problems.append(problem)
                return report
            prev = entry.hash
            rng.append(bytes.fromhex(entry.hash))
            cp = pending.pop(expected, None)
            if cp is not None:
                problem = self._check_checkpoint(cp, rng.root())
                if problem:
                    report.first_bad_seq = last_good_cp + 1
                    report.problems.append(
                        f"{problem}; the first bad entry is in {last_good_cp + 1}..{cp.tree_size}"
                    )
                    return report
                last_good_cp = expected
                report.newest_checkpoint_time = cp.time
        report.covered = last_good_cp
        for cp in pending.values():  # checkpoints beyond the last entry: the log was truncated
            report.first_bad_seq = report.entries + 1
            report.problems.append(
                f"checkpoint #{cp.id} covers {cp.tree_size} entries but the ledger has only "
                f"{report.entries}: entries {report.entries + 1}..{cp.tree_size} were removed"
            )
            break
        return report

    def _check_entry(self, entry: LedgerEntry, expected: int, prev: str) -> str | None:
        if entry.seq != expected:
            return f"entry {expected} is missing (found {entry.seq} in its place)"
        if entry.prev_hash != prev:
            return f"entry {expected}: prev_hash does not match entry {expected - 1}"
        try:
            body = _stored_body(entry)
        except json.JSONDecodeError:
            return f"entry {expected}: payload is not valid JSON"
        if entry_hash(self.algorithm, entry.prev_hash, body) != entry.hash:
            return f"entry {expected}: content does not match its hash (altered)"
        return None

    def _check_checkpoint(self, cp: Checkpoint, root: bytes) -> str | None:
        if self.public_key is None:
            raise ConfigError("no ledger public key to verify checkpoints with")
        if cp.algorithm != self.algorithm:
            return f"checkpoint #{cp.id} uses {cp.algorithm}, the ledger {self.algorithm}"
        if not _signature_ok(self.public_key, cp):
            return f"checkpoint #{cp.id} (tree size {cp.tree_size}): signature is invalid"
        if cp.root != root.hex():
            return (
                f"checkpoint #{cp.id} (tree size {cp.tree_size}): signed Merkle root does not "
                "match the entries"
            )
        return None

    def proof(self, session: Session, seq: int) -> dict[str, Any]:
        """An inclusion proof of entry ``seq`` in the newest signed checkpoint covering it."""
        entry = session.get(LedgerEntry, seq)
        if entry is None:
            raise InvalidState(f"no ledger entry {seq}; `trustlab audit log` lists entries")
        cp = session.scalars(
            select(Checkpoint)
            .where(Checkpoint.tree_size >= seq)
            .order_by(Checkpoint.tree_size.desc())
        ).first()
        if cp is None:  # reading never writes: say when it will be covered
            raise InvalidState(
                f"ledger entry {seq} is not covered by a signed checkpoint yet; the next "
                "scheduled checkpoint covers it (or an operator runs `trustlab audit "
                "checkpoint`)"
            )
        assert self.public_key is not None
        leaves = [
            bytes.fromhex(h)
            for h in session.scalars(
                select(LedgerEntry.hash)
                .where(LedgerEntry.seq <= cp.tree_size)
                .order_by(LedgerEntry.seq)
            )
        ]
        return {
            "format": PROOF_FORMAT,
            "algorithm": self.algorithm,
            "entry": {**_stored_body(entry), "prev_hash": entry.prev_hash, "hash": entry.hash},
            "leaf_index": seq - 1,
            "tree_size": cp.tree_size,
            "path": [h.hex() for h in merkle.inclusion_proof(self.algorithm, leaves, seq - 1)],
            "checkpoint": {**_checkpoint_body(cp), "signature": cp.signature},
            "public_key": public_pem(self.public_key),
        }


def _signature_ok(key: Ed25519PublicKey, cp: Checkpoint | dict[str, Any]) -> bool:
    sig = cp["signature"] if isinstance(cp, dict) else cp.signature
    try:
        raw = base64.b64decode(sig, validate=True)
    except (ValueError, TypeError):
        return False
    return verify_signature(key, raw, canonical_json(_checkpoint_body(cp)))


def check_proof(proof: Any, public_key: Ed25519PublicKey | None = None) -> dict[str, Any]:
    """Verify an inclusion proof offline; return the proven entry or raise LedgerIntegrityError.

    ``public_key`` pins the platform key (recommended); without it the key embedded in the
    proof is used, which only shows internal consistency, not who signed.
    """
    try:
        if proof.get("format") != PROOF_FORMAT:
            raise LedgerIntegrityError(f"not a {PROOF_FORMAT} document")
        algorithm = proof["algorithm"]
        entry = proof["entry"]
        cp = proof["checkpoint"]
        body = entry_body(
            entry["seq"],
            entry["time"],
            entry["actor"],
            entry["action"],
            entry["subject"],
            entry["payload"],
        )
        path = [bytes.fromhex(h) for h in proof["path"]]
        leaf = bytes.fromhex(entry["hash"])
        index, size = proof["leaf_index"], proof["tree_size"]
        root = bytes.fromhex(cp["root"])
        key = public_key or load_public_key(proof["public_key"])
    except LedgerIntegrityError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        raise LedgerIntegrityError(f"malformed proof: {exc}") from None
    if algorithm not in ("sha256", "sm3") or cp.get("algorithm") != algorithm:
        raise LedgerIntegrityError("proof and checkpoint disagree on the hash algorithm")
    if entry_hash(algorithm, entry["prev_hash"], body) != entry["hash"]:
        raise LedgerIntegrityError(f"entry {entry['seq']}: content does not match its hash")
    if not isinstance(index, int) or index != entry["seq"] - 1 or cp.get("tree_size") != size:
        raise LedgerIntegrityError("proof index or tree size does not match the entry/checkpoint")
    if not merkle.verify_inclusion(algorithm, leaf, index, size, path, root):
        raise LedgerIntegrityError(
            f"entry {entry['seq']} is not included in the tree of size {size} (path invalid)"
        )
    if not _signature_ok(key, cp):
        raise LedgerIntegrityError(f"checkpoint (tree size {size}): signature is invalid")
    if cp.get("key_id") != key_id(key):
        raise LedgerIntegrityError("checkpoint was signed by a different key than the one pinned")
    return entry


def verify_export(doc: Any, public_key: Ed25519PublicKey | None = None) -> VerifyReport:
    """Verify an exported ledger offline; ``public_key`` pins the platform key (else the
    export's own key is used, which proves consistency, not origin)."""
    from types import SimpleNamespace

    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise LedgerIntegrityError(f"not a ledger export (format {EXPORT_FORMAT} expected)")
    try:
        key = public_key or load_public_key(doc["public_key"].encode())
        entries = [SimpleNamespace(**{k: e[k] for k in _ENTRY_FIELDS}) for e in doc["entries"]]
        checkpoints = [
            SimpleNamespace(**{k: c[k] for k in _CHECKPOINT_FIELDS}) for c in doc["checkpoints"]
        ]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise LedgerIntegrityError(f"the ledger export is malformed: {exc!r}") from None
    checkpoints.sort(key=lambda c: c.tree_size)
    return Ledger(doc.get("algorithm", "sha256"), public_key=key).verify_rows(entries, checkpoints)
