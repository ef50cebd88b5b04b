"""Submission, scanning, two-party review: the gate in front of production.

States: submitted → scanned (or blocked) → dry run passed (in_review) or dry_run_failed →
approved / rejected → deployed → retired. A version is its content hash; every decision is
bound to that hash and is a ledger entry.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InvalidState, NotFound, TrustlabError
from hub.identity import Directory, PermissionDenied
from hub.models import Dataset
from hub.platform import Platform
from hub.terms import require
from pipelines.manifest import check_code, load_manifest, snapshot_files, take_snapshot, version_id
from pipelines.models import Decision, PipelineVersion, Waiver
from pipelines.scanner import RULES, SEVERITIES, Scanner, report


class Review:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.directory = Directory(platform)

    @property
    def store(self) -> Path:
        return self.platform.settings.home / "pipelines"

    # --- lookups -------------------------------------------------------------------------

    def _version(self, session: Session, ref: str) -> PipelineVersion:
        ref = ref.strip().lower()
        if len(ref) < 8:
            raise TrustlabError(f"version {ref!r} is too short: give at least 8 hex characters")
        found = session.scalars(
            select(PipelineVersion).where(PipelineVersion.id.startswith(ref))
        ).all()
        if not found:
            raise NotFound(f"no pipeline version {ref!r}; see `trustlab pipeline list`")
        if len(found) > 1:
            raise TrustlabError(f"version prefix {ref!r} is ambiguous; give more characters")
        return found[0]

    def severities(self) -> dict[str, str]:
        """Rule severities in force: defaults, then the operator's settings (validated)."""
        overrides = dict(self.platform.settings.scanner_severity)
        for rule, level in overrides.items():
            if rule not in RULES:
                raise TrustlabError(
                    f"TRUSTLAB_SCANNER_SEVERITY names unknown rule {rule!r}; known: "
                    f"{', '.join(RULES)}"
                )
            if level not in SEVERITIES:
                raise TrustlabError(f"severity of {rule} must be one of {', '.join(SEVERITIES)}")
        return overrides

    def _record_severities(self, session: Session, overrides: dict[str, str], actor: str) -> None:
        """Ledger the severity overrides when they differ from the last ones recorded."""
        last = self.platform.ledger.entries(session, 1, action="scanner.severity")
        before = last[0]["payload"]["overrides"] if last else {}
        if before != overrides:
            self.platform.ledger.append(
                session,
                actor,
                "scanner.severity",
                "scanner",
                {"before": before, "overrides": overrides},
            )

    def sensitive_columns(self, inputs: tuple[str, ...]) -> list[str]:
        from hub.catalog import Catalog

        cols = []
        for name in inputs:
            info = Catalog(self.platform).show(name)
            cols += [c["name"] for c in info["columns"] if c["pii"] != "none"]
        return cols

    def scan_folder(self, folder: Path, skipped: dict[str, str] | None = None) -> dict[str, Any]:
        """Scan a folder (no submission): the JSON report; ``skipped``: what a client left
        out of the files it sent."""
        manifest = load_manifest(folder)
        check_code(folder)
        scanner = Scanner(
            manifest.inputs,
            manifest.outputs,
            self.severities(),
            self._sensitive_if_known(manifest.inputs),
        )
        snap = take_snapshot(folder)
        return report(scanner.scan_files(snap.files, {**(skipped or {}), **snap.skipped}))

    def _sensitive_if_known(self, inputs: tuple[str, ...]) -> list[str]:
        try:
            return self.sensitive_columns(inputs)
        except NotFound:
            return []

    # --- submit and scan ----------------------------------------------------------------

    def submit(
        self, folder: Path, user: str, project: str, skipped: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """Snapshot ``folder`` as a version of ``project``'s pipeline, submitted by ``user``
        (the authenticated caller: a developer member of the project), and scan it.

        Every input must be covered by a contract in force of the project that allows
        pipeline use (``hub.terms``). ``skipped``: what a client that sent
        the files left out of them (scanned as findings with the folder's own).
        """
        manifest = load_manifest(folder)
        check_code(folder)
        snap = take_snapshot(folder)
        files = snap.files
        left_out = {**(skipped or {}), **snap.skipped}
        vid = version_id(files)
        with self.platform.db.session() as session:
            self.directory.require_member(user, project, session=session)
            for name in manifest.inputs:
                ds = session.scalar(select(Dataset).where(Dataset.name == name))
                if ds is None:
                    raise NotFound(
                        f"input {name!r} is not in the catalog; see `trustlab dataset list`"
                    )
                if ds.kind == "sample":
                    raise TrustlabError(f"input {name!r} is a sample; name its source dataset")
                if not ds.confirmed and ds.kind == "source":
                    raise InvalidState(
                        f"input {name!r} has no confirmed classification yet; its owner runs "
                        f"`trustlab dataset confirm {name}`"
                    )
            for name in manifest.inputs:  # a contract in force allows pipeline use
                require(session, project, name, "pipeline")
            if session.get(PipelineVersion, vid) is not None:
                raise TrustlabError(
                    f"this exact code is already version {vid[:12]}; see "
                    f"`trustlab pipeline status {vid[:12]}`"
                )
            previous = session.scalars(
                select(PipelineVersion)
                .where(PipelineVersion.name == manifest.name)
                .order_by(PipelineVersion.submitted_at.desc())
                .limit(1)
            ).first()
        target = self.store / manifest.name / vid
        self._write_snapshot(files, target)
        with self.platform.db.session() as session:
            version = PipelineVersion(
                id=vid,
                name=manifest.name,
                project=project,
                submitted_by=user,
                previous_id=previous.id if previous else None,
                snapshot=str(target),
                manifest=json.dumps(manifest.to_json()),
                skipped=json.dumps(left_out),
            )
            session.add(version)
            session.flush()
            self.platform.ledger.append(
                session,
                user,
                "pipeline.submit",
                f"pipeline:{manifest.name}",
                {
                    "version": vid,
                    "project": project,
                    "previous": version.previous_id,
                    "files": sorted(files),
                    "inputs": list(manifest.inputs),
                    "outputs": list(manifest.outputs),
                    "skipped": sorted(left_out),
                },
            )
        self.scan(vid, user)
        return self.status(vid)

    def _write_snapshot(self, files: dict[str, bytes], target: Path) -> None:
        """Write atomically: a half-written snapshot never appears under its final name."""
        if target.exists():
            shutil.rmtree(target)  # leftover of an aborted earlier attempt (no DB row)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
        for rel, data in files.items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(0o444)  # read-only, and readable by the runner's unprivileged user
        for folder in [tmp, *(p for p in tmp.rglob("*") if p.is_dir())]:
            folder.chmod(0o755)
        tmp.rename(target)

    def scan(self, ref: str, actor: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            inputs = tuple(json.loads(self._version(session, ref).manifest)["inputs"])
        sensitive = self._sensitive_if_known(inputs)  # reads the catalog: its own session
        with self.platform.db.session() as session:
            v = self._version(session, ref)
            if v.state not in ("submitted", "scanned", "blocked"):
                raise InvalidState(
                    f"version {v.id[:12]} is {v.state}; scanning happens before review"
                )
            manifest = json.loads(v.manifest)
            overrides = self.severities()
            self._record_severities(session, overrides, actor)
            scanner = Scanner(manifest["inputs"], manifest["outputs"], overrides, sensitive)
            skipped = json.loads(v.skipped or "{}")
            findings = scanner.scan_files(snapshot_files(Path(v.snapshot)), skipped)
            result = report(findings, [(w.rule, w.file, w.line) for w in v.waivers])
            v.scan = json.dumps(result)
            v.state = "blocked" if result["blocked"] else "scanned"
            self.platform.ledger.append(
                session,
                actor,
                "pipeline.scan",
                f"pipeline:{v.name}",
                {
                    "version": v.id,
                    "blocked": result["blocked"],
                    "findings": [
                        {k: f[k] for k in ("rule", "severity", "file", "line", "waived")}
                        for f in result["findings"]
                    ],
                },
            )
        return result

    def waive(
        self, ref: str, rule: str, file: str, line: int, reason: str, operator: str
    ) -> dict[str, Any]:
        if len(reason.strip()) < 10:
            raise TrustlabError("a waiver needs a reason of at least a sentence: --reason TEXT")
        self.directory.require(operator, "operator")
        with self.platform.db.session() as session:
            v = self._version(session, ref)
            if v.state not in ("blocked", "scanned"):
                raise InvalidState(f"version {v.id[:12]} is {v.state}; waivers come before review")
            if operator == v.submitted_by:
                raise PermissionDenied("the submitter cannot waive findings on its own version")
            findings = json.loads(v.scan or '{"findings": []}')["findings"]
            if not any((f["rule"], f["file"], f["line"]) == (rule, file, line) for f in findings):
                raise NotFound(f"version {v.id[:12]} has no {rule} finding at {file}:{line}")
            session.add(Waiver(version=v, rule=rule, file=file, line=line, reason=reason,
                               operator=operator))  # fmt: skip
            self.platform.ledger.append(
                session,
                operator,
                "pipeline.waive",
                f"pipeline:{v.name}",
                {"version": v.id, "rule": rule, "file": file, "line": line, "reason": reason},
            )
        return self.scan(ref, operator)

    # --- dry run result ------------------------------------------------------------------

    def dry_run(self, ref: str, actor: str, log: Any = print) -> dict[str, Any]:
        """Run a scanned, unblocked version on the samples in the runner container and
        record the verdict (``actor``: its submitter, a developer of its project, or an
        operator)."""
        from pipelines.dryrun import run_in_container

        with self.platform.db.session() as session:
            v = self._version(session, ref)
            allowed = (
                actor == v.submitted_by
                or self._is_operator(actor, session)
                or bool(v.project and self._is_member(actor, v.project, session))
            )
            if not allowed:
                raise PermissionDenied(
                    f"{actor!r} may not dry-run {v.id[:12]}: its submitter, a developer of "
                    f"project {v.project!r} or an operator may"
                )
            if v.state not in ("scanned", "dry_run_failed"):
                raise InvalidState(f"version {v.id[:12]} is {v.state}; only a scanned, "
                                   "unblocked version is dry-run")  # fmt: skip
            vid = v.id
            # the inputs still covered, and only their contracted columns mounted
            columns = {name: list(require(session, v.project or "", name, "pipeline").columns)
                       for name in json.loads(v.manifest)["inputs"]}  # fmt: skip
        status = {**self.status(vid), "snapshot": str(self.store / v.name / vid),
                  "contract_columns": columns}  # fmt: skip
        result = run_in_container(self.platform, status, log=log)
        return self.record_dry_run(vid, result, actor)

    def _is_operator(self, name: str, session: Session) -> bool:
        return any(r.role == "operator" for r in self.directory.roles(name, session))

    def _is_member(self, name: str, project: str, session: Session) -> bool:
        try:
            self.directory.require_member(name, project, session=session)
        except (PermissionDenied, NotFound):
            return False
        return True

    def record_dry_run(self, ref: str, result: dict[str, Any], actor: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            v = self._version(session, ref)
            if v.state not in ("scanned", "dry_run_failed", "in_review"):
                raise InvalidState(
                    f"version {v.id[:12]} is {v.state}; only a scanned, unblocked version is "
                    "dry-run"
                )
            if v.decisions:
                raise InvalidState(f"version {v.id[:12]} already has review decisions")
            v.dry_run = json.dumps(result)
            v.state = "in_review" if result["passed"] else "dry_run_failed"
            self.platform.ledger.append(
                session,
                actor,
                "pipeline.dry_run",
                f"pipeline:{v.name}",
                {
                    "version": v.id,
                    "passed": result["passed"],
                    "problems": result.get("problems", []),
                    "inputs": result.get("inputs", {}),
                },
            )
        return self.status(ref)

    # --- two-party review ----------------------------------------------------------------

    def required(self, v: PipelineVersion, session: Session) -> list[tuple[str, str]]:
        """(role, org) pairs that must approve: each input's owner, and the operator."""
        owners = set()
        for name in json.loads(v.manifest)["inputs"]:
            ds = session.scalar(select(Dataset).where(Dataset.name == name))
            if ds is None:
                raise NotFound(f"input {name!r} of {v.name} is no longer in the catalog")
            owners.add(ds.owner.name)
        return [("provider", o) for o in sorted(owners)] + [("operator", "")]

    def approve(self, ref: str, role: str | None, user: str) -> dict[str, Any]:
        return self._decide(ref, role, user, "approve", None)

    def reject(self, ref: str, user: str, reason: str, role: str | None = None) -> dict[str, Any]:
        if not (reason or "").strip():
            raise TrustlabError("a rejection needs a reason: --reason TEXT")
        return self._decide(ref, role, user, "reject", reason)

    def _decide(
        self, ref: str, role: str | None, user: str, decision: str, reason: str | None
    ) -> dict[str, Any]:
        if role not in (None, "provider", "operator"):
            raise TrustlabError("--as must be provider or operator")
        with self.platform.db.session() as session:
            v = self._version(session, ref)
            if v.state != "in_review":
                hint = {
                    "approved": "it is already approved",
                    "rejected": "it was rejected; submit a changed version",
                    "blocked": "the scan blocked it",
                    "scanned": "its dry run has not passed yet",
                    "dry_run_failed": "its dry run failed",
                }.get(v.state, f"it is {v.state}")
                raise InvalidState(f"version {v.id[:12]} cannot be reviewed: {hint}")
            if user == v.submitted_by:
                raise PermissionDenied("the submitter cannot review its own version")
            required = self.required(v, session)
            held = self.directory.roles(user, session)
            slots = [
                (r, o)
                for r, o in required
                if (role is None or r == role)
                and any(h.role == r and (r != "provider" or h.org == o) for h in held)
            ]
            if not slots:
                need = (
                    role
                    or "provider (of " + ", ".join(o for r, o in required if o) + ") or operator"
                )
                raise PermissionDenied(
                    f"{user!r} cannot review {v.name}: it needs a {need} reviewer; {user!r} has "
                    f"{', '.join(map(str, held)) or 'no roles'}"
                )
            done = {(d.role, d.org) for d in v.decisions}
            open_slots = [s for s in slots if s not in done]
            if not open_slots:
                raise InvalidState(
                    f"{user!r}'s part of the review of {v.id[:12]} is already decided"
                )
            for r, o in open_slots:
                session.add(
                    Decision(
                        version=v,
                        version_hash=v.id,
                        role=r,
                        org=o,
                        reviewer=user,
                        decision=decision,
                        reason=reason,
                    )
                )
                self.platform.ledger.append(
                    session,
                    user,
                    f"pipeline.{decision}",
                    f"pipeline:{v.name}",
                    {"version": v.id, "role": r, "org": o or None, "reason": reason},
                    seal=True,
                )
            session.flush()
            if decision == "reject":
                v.state = "rejected"
            elif self._all_approved(v, required):
                v.state = "approved"
                self.platform.ledger.append(
                    session,
                    user,
                    "pipeline.approved",
                    f"pipeline:{v.name}",
                    {
                        "version": v.id,
                        "by": [f"{d.role}:{d.org or '-'}:{d.reviewer}" for d in v.decisions],
                    },
                    seal=True,
                )
        return self.status(ref)

    @staticmethod
    def _all_approved(v: PipelineVersion, required: list[tuple[str, str]]) -> bool:
        """Every required (role, org) approved *this* hash; any other hash is void."""
        approvals = {
            (d.role, d.org)
            for d in v.decisions
            if d.decision == "approve" and d.version_hash == v.id
        }
        return all(slot in approvals for slot in required)

    def is_approved(self, ref: str) -> bool:
        """Whether the exact version hash ``ref`` holds all approvals (production's check)."""
        with self.platform.db.session() as session:
            v = session.get(PipelineVersion, ref)
            if v is None or v.state not in ("approved", "deployed"):
                return False
            return self._all_approved(v, self.required(v, session))

    # --- views ---------------------------------------------------------------------------

    def status(self, ref: str) -> dict[str, Any]:
        with self.platform.db.session() as session:
            v = self._version(session, ref)
            required = self.required(v, session)
            decided = {(d.role, d.org): d for d in v.decisions}
            scan = json.loads(v.scan) if v.scan else None
            return {
                "version": v.id,
                "name": v.name,
                "project": v.project,
                "state": v.state,
                "submitted_by": v.submitted_by,
                "submitted_at": v.submitted_at.isoformat(),
                "previous": v.previous_id,
                "manifest": json.loads(v.manifest),
                "scan": scan,
                "dry_run": json.loads(v.dry_run) if v.dry_run else None,
                "reviews": [
                    {
                        "role": r,
                        "org": o or None,
                        "decision": decided[(r, o)].decision if (r, o) in decided else None,
                        "reviewer": decided[(r, o)].reviewer if (r, o) in decided else None,
                        "reason": decided[(r, o)].reason if (r, o) in decided else None,
                        "at": decided[(r, o)].decided_at.isoformat() if (r, o) in decided else None,
                    }
                    for r, o in required
                ],
                "waivers": [
                    {
                        "rule": w.rule,
                        "file": w.file,
                        "line": w.line,
                        "reason": w.reason,
                        "operator": w.operator,
                    }
                    for w in v.waivers
                ],
            }

    def list(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            query = select(PipelineVersion).order_by(PipelineVersion.submitted_at.desc())
            if name:
                query = query.where(PipelineVersion.name == name)
            return [
                {"version": v.id, "name": v.name, "project": v.project, "state": v.state,
                 "submitted_by": v.submitted_by, "submitted_at": v.submitted_at.isoformat()}
                for v in session.scalars(query)
            ]  # fmt: skip

    def files(self, ref: str) -> dict[str, str]:
        with self.platform.db.session() as session:
            snapshot = Path(self._version(session, ref).snapshot)
        return {
            p.relative_to(snapshot).as_posix(): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(snapshot.rglob("*"))
            if p.is_file()
        }

    def diff(self, ref: str) -> str:
        """Unified diff of this version against the previous version of the same pipeline."""
        import difflib

        with self.platform.db.session() as session:
            previous = self._version(session, ref).previous_id
        new = self.files(ref)
        old = self.files(previous) if previous else {}
        out: list[str] = []
        for rel in sorted(set(old) | set(new)):
            out += difflib.unified_diff(
                old.get(rel, "").splitlines(keepends=True),
                new.get(rel, "").splitlines(keepends=True),
                fromfile=f"a/{rel}" if rel in old else "/dev/null",
                tofile=f"b/{rel}" if rel in new else "/dev/null",
            )
        return "".join(out)
