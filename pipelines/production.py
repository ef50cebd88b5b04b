"""Production: the host-side steps of runs of deployed versions, and their records.

``Production`` adds to ``pipelines.deployments`` (deploy, rollback, retire, trigger) the
DAG's host steps ``verify``, ``publish`` and ``record``, run by
Airflow as ``python -m pipelines.production STEP --deployment N --dag-id D --run-id R``.
Exit status 0 means done, 3 (``contract.FAIL``) failed for good (Airflow does not retry),
anything else is an infrastructure fault (Airflow retries with backoff).

Invariants: only an active deployment of a version that holds every approval *and* whose
snapshot still hashes to it runs; the runner executes the bytes verify hashed (a copy, so a
later edit of the snapshot cannot reach a running job); a product version exists in the
catalog only after its output passed validation, unchanged since; the ledger gets an entry
for each deploy, refusal, tamper alert, publication and finished run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InvalidState, NotFound, TrustlabError
from hub.platform import Platform
from hub.terms import ContractRefused, Terms, charge, require, terms
from pipelines import binding as bound
from pipelines import contract
from pipelines.airflowctl import Airflow, AirflowError
from pipelines.deployments import PRODUCT_SCHEME, Deployments, Refused, now
from pipelines.manifest import (
    InvalidPipeline,
    conditions_hold,
    snapshot_files,
    switch_params,
    version_id,
)
from pipelines.models import Deployment, PipelineVersion, Run
from pipelines.review import Review

__all__ = ["PRODUCT_SCHEME", "Production", "Refused", "now"]

RUNNER_UID = 1000
MULTI_OWNER = "platform"  # owner of a product whose inputs belong to several organisations


class Production(Deployments):
    """Deployments (``pipelines.deployments``), and the host steps and records of runs."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.review = Review(platform)
        self.airflow = Airflow(platform.settings)

    def runs(self, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            query = select(Run).order_by(Run.id.desc()).limit(limit)
            if name:
                query = query.where(Run.name == name)
            return [_run_row(r) for r in session.scalars(query)]

    def run_info(self, ref: str, log_lines: int = 30) -> dict[str, Any]:
        """A run by trustlab id or Airflow run id: tasks, validation, products, log tail."""
        with self.platform.db.session() as session:
            query = select(Run)
            query = (query.where(Run.id == int(ref)) if ref.isdigit()
                     else query.where(Run.airflow_run_id == ref))  # fmt: skip
            found = session.scalars(query).all()
            if not found:
                raise NotFound(f"no production run {ref!r}; see `trustlab runs list`")
            if len(found) > 1:
                raise TrustlabError(f"run id {ref!r} is ambiguous; use the trustlab run number")
            info = _run_row(found[0], full=True)
        try:
            client = self.airflow.client()
            tasks = client.task_instances(info["dag_id"], info["airflow_run_id"])
            info["tasks"] = [_task_row(t) for t in tasks]
            failed = [t for t in tasks if t.get("state") in ("failed", "up_for_retry")]
            pick = failed[0] if failed else next((t for t in tasks if t["task_id"] == "run"), None)
            if pick is not None and pick.get("try_number"):
                text = client.log(info["dag_id"], info["airflow_run_id"], pick["task_id"],
                                  pick["try_number"])  # fmt: skip
                info["log_task"] = pick["task_id"]
                info["log_tail"] = text.splitlines()[-log_lines:]
        except AirflowError as exc:
            info["tasks"] = []
            info["airflow_error"] = str(exc)
        return info

    # --- host steps of a run -------------------------------------------------------------

    def _work(self, dag: str, run_id: str) -> Path:
        return self.staging_root / dag / contract.runkey(run_id)

    def verify(
        self,
        deployment: int,
        dag: str,
        run_id: str,
        conf: dict[str, Any] | None = None,
        binding: str | None = None,
    ) -> dict[str, Any]:
        """Check the version may run, pin the inputs, lay out the staging folder.

        ``binding`` is the digest of the spec the DAG was built from: a run whose spec,
        runner image or code differs from the frozen deployment is refused and ledgered as
        ``pipeline.tamper`` before any container starts (``pipelines.binding``).

        ``conf`` is the Airflow run's conf: ``{"params": {switch: value}}``. When the
        manifest's ``[when]`` conditions do not hold, the run is recorded as skipped and
        ``run_now`` is false (the DAG's branch then skips run, validate and publish).
        """
        from hub.catalog import Catalog

        with self.platform.db.session() as session:
            dep = session.get(Deployment, deployment)
            if dep is None or dep.dag_id != dag:
                raise Refused(f"DAG {dag} matches no deployment; it was not made by trustlab")
            run = session.scalar(select(Run).where(Run.dag_id == dag, Run.airflow_run_id == run_id))
            if run is not None and run.state == "published":
                raise Refused(f"run {run_id} already published; trigger a new run")
            if run is None:
                run = Run(deployment_id=dep.id, version_id=dep.version_id, name=dep.name,
                          dag_id=dag, airflow_run_id=run_id)  # fmt: skip
                session.add(run)
            run.state, run.started_at, run.ended_at, run.error = "running", now(), None, None
            session.flush()
            run_pk, vid, name = run.id, dep.version_id, dep.name
            v = dep.version
            problem = None
            if dep.state != "active":
                problem = f"deployment {dep.id} of {name} is retired"
            elif v.state != "deployed" or not self.review._all_approved(
                v, self.review.required(v, session)
            ):
                problem = f"version {vid[:12]} is {v.state} and no longer holds every approval"
            snapshot, manifest = Path(v.snapshot), json.loads(v.manifest)
            spec = json.loads(dep.spec)
            project, evidence = v.project or "", {}
            allowed: dict[str, Terms] = {}
            if problem is None:
                try:  # every input covered by a contract in force allowing pipeline use
                    allowed = {n: require(session, project, n, "pipeline")
                               for n in manifest["inputs"]}  # fmt: skip
                except ContractRefused as exc:
                    problem, evidence = str(exc), exc.evidence
        mismatch = bound.check(spec, binding, self._spec_path(name))
        if problem is None and mismatch:
            reason = "; ".join(mismatch.problems)
            self._fail_run(run_pk, "refused", reason)
            with self.platform.db.session() as session:
                self.platform.ledger.append(
                    session, "production", "pipeline.tamper", f"pipeline-version:{vid}",
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "deployment": deployment,
                     "expected_binding": contract.binding_digest(spec),
                     "found_binding": binding, **mismatch.to_json()},
                )  # fmt: skip
            raise Refused(f"{reason}; the run is refused and the ledger alerted")
        files = snapshot_files(snapshot)
        found = version_id(files)
        if problem is None and found != vid:
            self._fail_run(run_pk, "refused", f"code changed after approval: {found[:12]}")
            with self.platform.db.session() as session:
                self.platform.ledger.append(
                    session, "production", "pipeline.tamper", f"pipeline-version:{vid}",
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "expected": vid,
                     "found": found, "snapshot": str(snapshot)},
                )  # fmt: skip
            raise Refused(
                f"the code of {name} no longer hashes to approved version {vid[:12]} "
                f"(found {found[:12]}); the run is refused and the ledger alerted"
            )
        if problem is not None:
            self._fail_run(run_pk, "refused", problem)
            with self.platform.db.session() as session:
                self.platform.ledger.append(
                    session, "production", "pipeline.run.refused", f"pipeline-version:{vid}",
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "reason": problem,
                     "project": project, **({"contract": evidence} if evidence else {})},
                )  # fmt: skip
            raise Refused(problem)
        try:
            params = switch_params(manifest, (conf or {}).get("params") or {})
        except InvalidPipeline as exc:
            self._fail_run(run_pk, "refused", str(exc))
            raise Refused(str(exc)) from None
        with self.platform.db.session() as session:
            run = session.get(Run, run_pk)
            assert run is not None
            run.params = json.dumps(params, ensure_ascii=False)
            if not conditions_hold(manifest.get("when", {}), params):
                run.state = "skipped"
                run.error = f"[when] {manifest['when']} does not hold for {params}"
                return {"run": run_pk, "version": vid, "run_now": False, "params": params}
        work = self._work(dag, run_id)
        if work.exists():
            shutil.rmtree(work)
        docker_mode = spec.get("runner", "docker") == "docker"  # frozen at deploy time
        for sub in (contract.CODE, contract.INPUTS, contract.OUT, contract.CHECK):
            (work / sub).mkdir(parents=True)
        for rel, data in files.items():  # the exact bytes that were hashed
            target = work / contract.CODE / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        catalog = Catalog(self.platform)
        inputs: dict[str, Any] = {}
        try:
            for name_in in manifest["inputs"]:
                inputs[name_in] = self._pin_input(catalog, name_in, work, docker_mode)
                if not allowed[name_in].all_columns:  # the runner reads only these
                    inputs[name_in]["columns"] = list(allowed[name_in].columns)
        except TrustlabError as exc:
            self._fail_run(run_pk, "failed", f"input: {exc}")
            shutil.rmtree(work, ignore_errors=True)
            raise Refused(f"input not usable: {exc}") from None
        root = Path("/work") if docker_mode else work
        job = {
            "run": run_pk,
            "pipeline": name,
            "version": vid,
            "code": str(root / contract.CODE),
            "out": str(root / contract.OUT),
            "check": str(root / contract.CHECK),
            # validate always runs in the runner container, whatever ran the pipeline
            "container": {"out": f"/work/{contract.OUT}", "check": f"/work/{contract.CHECK}"},
            "master": spec.get("master", self.settings.production_spark_master),
            "driver_memory": spec.get("driver_memory", self.settings.runner_driver_memory),
            "inputs": inputs,
            "params": params,
            "outputs": manifest["outputs"],
            "expectations": manifest.get("expectations", {}),
            "algorithm": self.settings.hash_algorithm,
            "in_container": docker_mode,
        }
        (work / contract.JOB).write_text(json.dumps(job, ensure_ascii=False, indent=2))
        for path in [work / contract.CODE, *(work / contract.CODE).rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        if os.geteuid() == 0:  # the containers run as uid 1000 (validate in every mode)
            for sub in (contract.OUT, contract.CHECK) if docker_mode else (contract.CHECK,):
                os.chown(work / sub, RUNNER_UID, RUNNER_UID)
        pinned = {k: {"version": i["version"], "hash": i["hash"]} for k, i in inputs.items()}
        try:
            with self.platform.db.session() as session:
                run = session.get(Run, run_pk)
                assert run is not None
                run.inputs = json.dumps(
                    {k: {**p, "rows": inputs[k].get("rows")} for k, p in pinned.items()}
                )
                for k, t in allowed.items():  # count the run and its rows; refuse beyond
                    charge(session, t, f"run:{run_pk}", self.settings.timezone, runs=1,
                           rows=int(inputs[k].get("rows") or 0))  # fmt: skip
        except ContractRefused as exc:
            self._fail_run(run_pk, "refused", str(exc))
            shutil.rmtree(work, ignore_errors=True)
            with self.platform.db.session() as session:
                self.platform.ledger.append(
                    session, "production", "pipeline.run.refused", f"pipeline-version:{vid}",
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "reason": str(exc),
                     "project": project, "contract": exc.evidence},
                )  # fmt: skip
            raise Refused(str(exc)) from None
        return {"run": run_pk, "version": vid, "inputs": pinned, "run_now": True,
                "params": params}  # fmt: skip

    def _pin_input(self, catalog: Any, name: str, work: Path, docker_mode: bool) -> dict[str, Any]:
        info = catalog.show(name)
        meta = {"source": info["source"], "columns": info["columns"], "kind": info["kind"]}
        if info["kind"] == "product":
            if not info["versions"]:
                raise NotFound(f"product {name!r} has no published version yet")
            latest = info["versions"][-1]
            location = Path(latest["location"])
            if not location.exists():
                raise NotFound(f"product {name!r} v{latest['number']} is missing at {location}")
            path = f"/data/products/{name}/{location.name}" if docker_mode else str(location)
            meta["source"] = {**meta["source"], "format": "parquet"}
        else:
            latest = catalog.check_unchanged(name)  # re-hash: the exact version we read
            fmt = info["source"]["format"]
            if fmt == "sql":
                from sandbox.spark import stage_sql

                staged = stage_sql(
                    catalog.registration(name),
                    [(c["name"], c["type"]) for c in info["columns"]],
                    self.settings,
                )
                target = work / contract.INPUTS / f"{name}.parquet"
                shutil.move(str(staged), target)
                path = f"/work/{contract.INPUTS}/{target.name}" if docker_mode else str(target)
                meta["source"] = {**meta["source"], "format": "parquet"}
            else:
                src = Path(info["source"]["uri"])
                path = f"/data/raw/{name}/{src.name}" if docker_mode else str(src)
        return {"path": path, "info": meta, "version": latest["number"],
                "hash": latest["content_hash"], "rows": latest.get("rows")}  # fmt: skip

    def _fail_run(self, run_pk: int, state: str, error: str) -> None:
        with self.platform.db.session() as session:
            run = session.get(Run, run_pk)
            assert run is not None
            run.state, run.error = state, error

    def _load_run(self, session: Session, dag: str, run_id: str) -> Run:
        run = session.scalar(select(Run).where(Run.dag_id == dag, Run.airflow_run_id == run_id))
        if run is None:
            raise Refused(f"no verified run {run_id} of {dag}; verify must succeed first")
        return run

    def publish(self, deployment: int, dag: str, run_id: str) -> dict[str, Any]:
        """Promote validated, unchanged outputs to the products zone and the catalog."""
        from hub.sources import ParquetSource

        work = self._work(dag, run_id)
        with self.platform.db.session() as session:
            run = self._load_run(session, dag, run_id)
            if run.state == "published":
                return {"run": run.id, "outputs": json.loads(run.outputs or "{}")}
            if run.state != "running":
                raise Refused(f"run {run.id} is {run.state}; nothing to publish")
            run_pk, vid, name = run.id, run.version_id, run.name
            inputs = json.loads(run.inputs or "{}")
            v = session.get(PipelineVersion, vid)
            assert v is not None
            dry = json.loads(v.dry_run or "{}")
            lapsed = [n for n in inputs if terms(session, v.project or "", n, "pipeline") is None]
        if lapsed:  # expired, suspended or revoked while the run was in progress
            reason = (f"the contract allowing pipeline use of {', '.join(lapsed)} is no longer "
                      "in force; the output is not published")  # fmt: skip
            self._fail_run(run_pk, "refused", reason)
            with self.platform.db.session() as session:
                self.platform.ledger.append(
                    session, "production", "pipeline.run.refused", f"pipeline-version:{vid}",
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "reason": reason,
                     "project": v.project, "step": "publish"},
                )  # fmt: skip
            raise Refused(reason)
        verdict_file = work / contract.CHECK / "validation.json"
        report_file = work / contract.OUT / "report.json"
        if not verdict_file.exists() or not report_file.exists():
            raise Refused("no validation verdict for this run; validate must pass first")
        verdict = json.loads(verdict_file.read_text())
        if not verdict.get("success"):
            raise Refused("the output failed its expectations; it is not published")
        report = json.loads(report_file.read_text())
        alg = self.settings.hash_algorithm
        products = Path(self.settings.zone("products"))
        staged: dict[str, dict[str, Any]] = {}
        for out in report["outputs"]:
            folder = work / contract.OUT / "outputs" / out
            fp = ParquetSource(folder).fingerprint(alg)
            if fp.content_hash != verdict["outputs"][out]["content_hash"]:
                raise Refused(f"output {out} changed after validation; not published")
            final = products / out / fp.content_hash[:16]
            final.parent.mkdir(parents=True, exist_ok=True)
            if not final.exists():
                tmp = final.parent / f".incoming-{contract.runkey(run_id)}"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(folder, tmp)  # staging may be on another filesystem
                tmp.rename(final)  # atomic: the folder appears whole or not at all
            staged[out] = {"location": str(final), "fp": fp, **report["outputs"][out]}
        lineage_base = {
            "run": run_pk, "dag_id": dag, "airflow_run_id": run_id, "pipeline": name,
            "code_version": vid, "inputs": inputs,
        }  # fmt: skip
        published: dict[str, Any] = {}
        with self.platform.db.session() as session:
            run = session.get(Run, run_pk)
            assert run is not None
            for out, info in staged.items():
                published[out] = self._register_product(
                    session, out, info, lineage_base, dry.get("outputs", {}).get(out, {}), inputs
                )
            run.state = "published"
            run.outputs = json.dumps(published)
            run.validation = json.dumps(verdict)
        shutil.rmtree(work / contract.OUT / "outputs", ignore_errors=True)
        return {"run": run_pk, "outputs": published}

    def _register_product(
        self,
        session: Session,
        out: str,
        info: dict[str, Any],
        lineage: dict[str, Any],
        dry: dict[str, Any],
        inputs: dict[str, Any],
    ) -> dict[str, Any]:
        from hub.derived import DerivedVersion, add_derived_version, owner_of

        fp = info["fp"]
        owners = owner_of(session, list(inputs))
        version = DerivedVersion(
            content_hash=fp.content_hash, hash_algorithm=self.settings.hash_algorithm,
            location=info["location"], rows=info["rows"], size_bytes=fp.size_bytes,
            columns=self._product_columns(session, info["columns"], dry.get("lineage", {}),
                                          inputs), lineage=lineage,
        )  # fmt: skip
        try:
            number = add_derived_version(
                session, out, "product", owners.pop() if len(owners) == 1 else MULTI_OWNER,
                version, "production", f"review:{lineage['code_version'][:12]}",
            )  # fmt: skip
        except InvalidState as exc:
            raise Refused(str(exc)) from None
        self.platform.ledger.append(
            session, "production", "product.publish", f"dataset:{out}",
            {"version": number, "content_hash": fp.content_hash, "rows": info["rows"],
             **lineage}, seal=True,
        )  # fmt: skip
        return {"dataset": out, "version": number, "content_hash": fp.content_hash,
                "rows": info["rows"], "location": info["location"]}  # fmt: skip

    def _product_columns(
        self,
        session: Session,
        columns: list[dict[str, str]],
        lineage: dict[str, Any],
        inputs: dict[str, Any],
    ) -> list[Any]:
        """Product columns inherit the PII type of an input column they carry raw (the
        reviewed dry-run lineage of the same code); transformed columns are not PII."""
        from hub.derived import DerivedColumn, column_classes

        classes = column_classes(session, list(inputs))
        out = []
        for col in columns:
            raw = [classes.get(tuple(s), ("none", 1))
                   for s in lineage.get(col["name"], {}).get("raw_sources", [])]  # fmt: skip
            pii = next((p for p, _ in raw if p != "none"), "none")
            level = max([lvl for p, lvl in raw if p != "none"], default=1)
            out.append(DerivedColumn(col["name"], _catalog_type(col["type"]), pii, level,
                                     False, "from the reviewed column lineage"))  # fmt: skip
        return out

    def record(self, deployment: int, dag: str, run_id: str) -> dict[str, Any]:
        """Finish the run: metering, quarantine or cleanup, one ledger entry; exit 3 unless
        something was published (so the DAG run fails visibly)."""
        work = self._work(dag, run_id)
        with self.platform.db.session() as session:
            run = self._load_run(session, dag, run_id)
            if run.ended_at is not None:
                return _run_row(run, full=True)
            report = _read_json(work / contract.OUT / "report.json")
            verdict = _read_json(work / contract.CHECK / "validation.json")
            if run.state == "running":
                if verdict is not None and not verdict.get("success"):
                    run.state = "quarantined"
                    run.error = "expectations failed: " + "; ".join(verdict.get("problems", []))
                    run.validation = json.dumps(verdict)
                else:
                    run.state = "failed"
                    run.error = (report or {}).get("error") or (
                        f"the run did not finish (see the task logs: `trustlab runs show {run.id}`)"
                    )
            outputs = work / contract.OUT / "outputs"
            if run.state == "quarantined" and outputs.exists():
                target = self.settings.home / "quarantine" / dag / contract.runkey(run_id)
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.rmtree(target, ignore_errors=True)
                shutil.move(str(outputs), target)
                run.quarantine = str(target)
            run.ended_at = now()
            inputs = json.loads(run.inputs or "{}")
            outs = json.loads(run.outputs or "{}")
            run.metering = json.dumps({
                "rows_read": (report or {}).get("rows_read"),
                "rows_written": sum(int(o["rows"]) for o in outs.values()),
                "cpu_seconds": round(float((report or {}).get("cpu_seconds") or 0)
                                     + float((verdict or {}).get("cpu_seconds") or 0), 3),
                "duration_seconds": round((run.ended_at - _aware(run.started_at))
                                          .total_seconds(), 3),
            })  # fmt: skip
            self.platform.ledger.append(
                session, "production", "pipeline.run", f"pipeline:{run.name}",
                {"run": run.id, "dag_id": dag, "airflow_run_id": run_id,
                 "version": run.version_id, "state": run.state,
                 "params": json.loads(run.params or "{}"), "inputs": inputs,
                 "outputs": outs, "metering": json.loads(run.metering), "error": run.error,
                 "quarantine": run.quarantine}, seal=True,
            )  # fmt: skip
            result = _run_row(run, full=True)
        shutil.rmtree(work, ignore_errors=True)
        if result["state"] not in ("published", "skipped"):
            raise Refused(f"run {result['run']} {result['state']}: {result['error']}")
        return result


def _catalog_type(spark_type: str) -> str:
    t = spark_type.lower()
    if t in ("bigint", "int", "smallint", "tinyint", "long", "integer"):
        return "integer"
    if t.startswith(("double", "float", "decimal")):
        return "decimal"
    if t in ("boolean", "date", "timestamp"):
        return t
    return "string"


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _run_row(r: Run, full: bool = False) -> dict[str, Any]:
    row = {
        "run": r.id, "name": r.name, "version": r.version_id, "dag_id": r.dag_id,
        "airflow_run_id": r.airflow_run_id, "state": r.state,
        "started_at": r.started_at.isoformat() if r.started_at else None,
        "ended_at": r.ended_at.isoformat() if r.ended_at else None,
        "error": r.error,
    }  # fmt: skip
    if full:
        row.update(
            inputs=json.loads(r.inputs or "{}"),
            outputs=json.loads(r.outputs or "{}"),
            validation=json.loads(r.validation) if r.validation else None,
            metering=json.loads(r.metering) if r.metering else None,
            quarantine=r.quarantine,
            params=json.loads(r.params) if r.params else None,
        )
    return row


def _task_row(t: dict[str, Any]) -> dict[str, Any]:
    def ts(key: str) -> datetime | None:
        value = t.get(key)
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None

    queued, start, end = ts("queued_when"), ts("start_date"), ts("end_date")
    return {
        "task": t["task_id"],
        "state": t.get("state"),
        "try": t.get("try_number"),
        "queued_to_running_s": round((start - queued).total_seconds(), 2)
        if queued and start
        else None,
        "duration_s": round((end - start).total_seconds(), 2) if start and end else None,
    }


# --- entry point for Airflow's TrustlabStep ----------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.production")
    parser.add_argument("step", choices=["verify", "publish", "record"])
    parser.add_argument("--deployment", type=int, required=True)
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--try", dest="attempt", type=int, default=1)
    parser.add_argument("--conf", default="{}", help="the Airflow run's conf (JSON)")
    parser.add_argument("--binding", help="digest of the spec the DAG was built from")
    args = parser.parse_args(argv)
    platform = Platform()
    prod = Production(platform)
    try:
        if args.step == "verify":
            result = prod.verify(args.deployment, args.dag_id, args.run_id,
                                 json.loads(args.conf), args.binding)  # fmt: skip
        else:
            result = getattr(prod, args.step)(args.deployment, args.dag_id, args.run_id)
    except TrustlabError as exc:
        print(f"{args.step}: {exc}", flush=True)
        return contract.FAIL if isinstance(exc, Refused) else getattr(exc, "exit_code", 1)
    print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
