"""Production: deploy approved versions to Airflow, and the host-side steps of their runs.

``Production.deploy`` turns an approved version into a DAG spec (``pipelines.dagfactory``
builds the DAG); ``verify``, ``publish`` and ``record`` are the DAG's host steps, run by
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
from hub.models import ColumnClass, Dataset, DatasetVersion, Organisation
from hub.platform import Platform
from pipelines import binding as bound
from pipelines import contract
from pipelines.airflowctl import Airflow, AirflowError
from pipelines.manifest import (
    InvalidPipeline,
    conditions_hold,
    snapshot_files,
    switch_params,
    version_id,
)
from pipelines.models import Deployment, PipelineVersion, Run
from pipelines.review import Review

RUNNER_UID = 1000
PRODUCT_SCHEME = "trustlab://products/"
MULTI_OWNER = "platform"  # owner of a product whose inputs belong to several organisations


class Refused(TrustlabError):
    """Production refuses to deploy, run or publish (as a step: exit 3, never retried)."""


def now() -> datetime:
    return datetime.now(UTC)


class Production:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.review = Review(platform)
        self.airflow = Airflow(platform.settings)

    # --- deployments -----------------------------------------------------------------------

    def deploy(self, ref: str, user: str, wait: bool = True, log: Any = print) -> dict[str, Any]:
        """Make ``ref`` the live version of its pipeline (an operator's act, ledgered)."""
        self.review.directory.require(user, "operator")
        with self.platform.db.session() as session:
            v = self.review._version(session, ref)
            vid, name = v.id, v.name
            problem = self._deploy_problem(session, v)
        if problem:
            self._refuse(user, "pipeline.deploy.refused", vid, problem)
        return self._activate(vid, name, user, "pipeline.deploy", wait, log)

    def rollback(
        self, name: str, user: str, to: str | None = None, wait: bool = True, log: Any = print
    ) -> dict[str, Any]:
        """Deploy an earlier approved version again (default: the one before the live one)."""
        self.review.directory.require(user, "operator")
        with self.platform.db.session() as session:
            history = session.scalars(
                select(Deployment).where(Deployment.name == name).order_by(Deployment.id.desc())
            ).all()
            if not history:
                raise NotFound(f"pipeline {name!r} was never deployed")
            live = history[0].version_id if history[0].state == "active" else None
            if to is None:
                earlier = [d.version_id for d in history if d.version_id != live]
                if not earlier:
                    raise InvalidState(f"{name!r} has no earlier deployed version to roll back to")
                target = session.get(PipelineVersion, earlier[0])
            else:
                target = self.review._version(session, to)
            assert target is not None
            if target.name != name:
                raise TrustlabError(f"version {target.id[:12]} belongs to {target.name!r}")
            if target.id == live:
                raise InvalidState(f"version {target.id[:12]} is already live")
            vid = target.id
            problem = self._deploy_problem(session, target)
        if problem:
            self._refuse(user, "pipeline.deploy.refused", vid, problem)
        return self._activate(vid, name, user, "pipeline.rollback", wait, log)

    def retire(self, name: str, user: str) -> dict[str, Any]:
        self.review.directory.require(user, "operator")
        try:
            with self.platform.db.session() as session:
                dep = self._active(session, name)
                if dep is None:
                    raise NotFound(f"{name!r} has no live deployment")
                self._retire(session, dep)
                self.platform.ledger.append(
                    session, user, "pipeline.retire", f"pipeline:{name}",
                    {"version": dep.version_id, "dag_id": dep.dag_id, "deployment": dep.id},
                )  # fmt: skip
                self._remove_spec(name)
                out = {"name": name, "retired": dep.version_id, "dag_id": dep.dag_id}
        except BaseException:
            self.sync_specs()
            raise
        return out

    def _deploy_problem(self, session: Session, v: PipelineVersion) -> str | None:
        if v.state not in ("approved", "deployed", "retired"):
            return f"version {v.id[:12]} is {v.state}, not approved"
        if not self.review._all_approved(v, self.review.required(v, session)):
            return f"version {v.id[:12]} lacks approvals for its exact hash"
        found = version_id(snapshot_files(Path(v.snapshot)))
        if found != v.id:
            return (
                f"the stored code of {v.id[:12]} changed after approval (now hashes {found[:12]})"
            )
        manifest = json.loads(v.manifest)
        for out in manifest["outputs"]:
            ds = session.scalar(select(Dataset).where(Dataset.name == out))
            if ds is not None and ds.kind != "product":
                return f"output {out!r} is the name of a {ds.kind} in the catalog"
            for other in session.scalars(
                select(Deployment).where(Deployment.state == "active", Deployment.name != v.name)
            ):
                if out in json.loads(other.spec).get("outputs", []):
                    return f"output {out!r} is already produced by pipeline {other.name!r}"
        for inp in manifest["inputs"]:
            ds = session.scalar(select(Dataset).where(Dataset.name == inp))
            if ds is None:
                return f"input {inp!r} is not in the catalog"
            if ds.kind == "source" and not ds.confirmed:
                return f"input {inp!r} has no confirmed classification"
        return None

    def _refuse(self, actor: str, action: str, vid: str, reason: str, **extra: Any) -> None:
        with self.platform.db.session() as session:
            self.platform.ledger.append(
                session, actor, action, f"pipeline-version:{vid}", {"reason": reason, **extra}
            )
        raise Refused(f"refused: {reason}")

    def _active(self, session: Session, name: str) -> Deployment | None:
        return session.scalar(
            select(Deployment).where(Deployment.name == name, Deployment.state == "active")
        )

    def _retire(self, session: Session, dep: Deployment) -> None:
        dep.state = "retired"
        dep.retired_at = now()
        if dep.version.state == "deployed":
            dep.version.state = "retired"

    def _activate(
        self, vid: str, name: str, user: str, action: str, wait: bool, log: Any
    ) -> dict[str, Any]:
        try:
            with self.platform.db.session() as session:
                v = session.get(PipelineVersion, vid)
                assert v is not None
                old = self._active(session, name)
                if old is not None:
                    self._retire(session, old)
                dep = Deployment(
                    name=name, version_id=vid, dag_id=contract.dag_id(name, vid),
                    deployed_by=user, deployed_at=now(), spec="{}",
                )  # fmt: skip
                session.add(dep)
                session.flush()
                spec = self.build_spec(session, dep, v)
                dep.spec = json.dumps(spec, ensure_ascii=False)
                v.state = "deployed"
                self.platform.ledger.append(
                    session, user, action, f"pipeline:{name}",
                    {"version": vid, "dag_id": dep.dag_id, "deployment": dep.id,
                     "replaces": old.version_id if old else None,
                     "binding": contract.binding_digest(spec), "image": spec["image_digest"],
                     "approvals": [f"{d.role}:{d.org or '-'}:{d.reviewer}"
                                   for d in v.decisions if d.decision == "approve"]},
                    seal=True,
                )  # fmt: skip
                self._write_spec(spec)
                result = {
                    "name": name,
                    "version": vid,
                    "dag_id": dep.dag_id,
                    "deployment": dep.id,
                    "replaced": old.version_id if old else None,
                }
        except BaseException:
            self.sync_specs()
            raise
        if spec["runner"] == "spark-submit":
            self._ensure_spark_connection(spec)
        if wait:
            try:
                client = self.airflow.client()
                log(f"waiting for Airflow to load DAG {result['dag_id']} …")
                client.wait_for_dag(result["dag_id"])
                result["airflow"] = f"{self.airflow.url}/dags/{result['dag_id']}"
            except AirflowError as exc:
                result["airflow"] = f"not loaded yet: {exc}"
        return result

    def _ensure_spark_connection(self, spec: dict[str, Any]) -> None:
        """Airflow's connection ``trustlab_spark`` names the production Spark master."""
        master = spec["master"]
        body: dict[str, Any] = {"connection_id": spec["spark"]["conn_id"], "conn_type": "spark"}
        scheme, sep, rest = master.partition("://")
        host, _, port = rest.rpartition(":") if sep else (master, "", "")
        if sep and port.isdigit():
            body.update(host=f"{scheme}://{host}", port=int(port))
        else:
            body.update(host=master)
        client = self.airflow.client()
        path = f"/connections/{body['connection_id']}"
        if client.request("GET", path) is None:
            client.request("POST", "/connections", json=body)
        else:
            client.request("PATCH", path, json=body)

    # --- specs (what Airflow's DAG factory reads) ---------------------------------------

    def build_spec(self, session: Session, dep: Deployment, v: PipelineVersion) -> dict[str, Any]:
        from hub.images import docker_client, pin_image

        s = self.settings
        image, digest = pin_image(docker_client(), s.runner_image)
        manifest = json.loads(v.manifest)
        mounts, assets_in = [], []
        for name in manifest["inputs"]:
            ds = session.scalar(select(Dataset).where(Dataset.name == name))
            if ds is None:
                raise NotFound(f"input {name!r} is not in the catalog")
            if ds.kind == "product":
                root = Path(s.zone("products")) / name
                root.mkdir(parents=True, exist_ok=True)
                mounts.append({"source": str(root.resolve()), "target": f"/data/products/{name}"})
                assets_in.append(f"{PRODUCT_SCHEME}{name}")
            elif ds.source_format in ("csv", "parquet"):
                src = Path(ds.source_uri).resolve()
                mounts.append({"source": str(src), "target": f"/data/raw/{name}/{src.name}"})
        spec: dict[str, Any] = {
            "dag_id": dep.dag_id,
            "pipeline": v.name,
            "version": v.id,
            "deployment": dep.id,
            "deployed_by": dep.deployed_by,
            "description": manifest.get("description", ""),
            "schedule": manifest.get("schedule"),
            "inputs": manifest["inputs"],
            "outputs": manifest["outputs"],
            "assets_in": assets_in,
            "assets_out": [f"{PRODUCT_SCHEME}{o}" for o in manifest["outputs"]],
            "when": manifest.get("when", {}),
            "start_date": dep.deployed_at.astimezone(UTC).isoformat(),
            "python": sys.executable,
            "staging": str(self.staging_root / dep.dag_id),
            "runner": s.production_runner,
            "master": s.production_spark_master,
            "driver_memory": s.runner_driver_memory,
            "image": image,
            "image_digest": digest,
            "limits": {
                "memory": s.runner_mem_limit,
                "cpus": s.runner_cpu_limit,
                "pids": 1024,
                "tmp": "2g",
            },
            "mounts": mounts,
            "retries": s.production_retries,
            "retry_delay": s.production_retry_delay,
        }
        if s.production_runner == "spark-submit":
            bindir = Path(sys.executable).parent
            spec["spark"] = {
                "application": str(Path(__file__).with_name("prodjob.py")),
                "binary": str(bindir / "spark-submit"),
                "conn_id": "trustlab_spark",
                "driver_memory": s.runner_driver_memory,
                "conf": dict(s.spark_conf),
                "env": {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
            }
            if _loopback_master(s.production_spark_master):
                # A cluster on this machine: the driver listens on loopback too.
                spec["spark"]["env"]["SPARK_LOCAL_IP"] = "127.0.0.1"
        return spec

    @property
    def staging_root(self) -> Path:
        return self.settings.home / "staging"

    def _spec_path(self, name: str) -> Path:
        return self.airflow.specs / f"{name}.json"

    def _write_spec(self, spec: dict[str, Any]) -> None:
        self.airflow.write_factory()
        path = self._spec_path(spec["pipeline"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(spec, ensure_ascii=False, indent=2))
        tmp.replace(path)

    def _remove_spec(self, name: str) -> None:
        self._spec_path(name).unlink(missing_ok=True)

    def sync_specs(self) -> list[str]:
        """Rewrite the specs of the active deployments from the metadata DB; drop the rest.

        A spec is what was deployed (runner, image, limits, mounts are frozen then; verify
        reads the same record), with only the path of trustlab's interpreter refreshed.
        """
        self.airflow.write_factory()
        with self.platform.db.session() as session:
            active = session.scalars(select(Deployment).where(Deployment.state == "active")).all()
            specs = [{**json.loads(d.spec), "python": sys.executable} for d in active]
        wanted = {s["pipeline"] for s in specs}
        for spec in specs:
            self._write_spec(spec)
        for path in self.airflow.specs.glob("*.json"):
            if path.stem not in wanted:
                path.unlink()
        return sorted(wanted)

    def deployments(self, name: str | None = None) -> list[dict[str, Any]]:
        with self.platform.db.session() as session:
            query = select(Deployment).order_by(Deployment.id.desc())
            if name:
                query = query.where(Deployment.name == name)
            return [
                {"deployment": d.id, "name": d.name, "version": d.version_id, "dag_id": d.dag_id,
                 "state": d.state, "deployed_by": d.deployed_by,
                 "deployed_at": d.deployed_at.isoformat()}
                for d in session.scalars(query)
            ]  # fmt: skip

    # --- runs --------------------------------------------------------------------------------

    def trigger(self, name: str, user: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """Start a run now; ``params`` may set the pipeline's ``[when]`` switches only."""
        self.review.directory.require(user, "operator")
        with self.platform.db.session() as session:
            dep = self._active(session, name)
            if dep is None:
                raise NotFound(f"{name!r} has no live deployment; deploy an approved version first")
            dag, manifest = dep.dag_id, json.loads(dep.version.manifest)
        switch_params(manifest, params or {})  # bad input fails here, before Airflow
        run = self.airflow.client().trigger(dag, {"params": params} if params else None)
        with self.platform.db.session() as session:
            self.platform.ledger.append(
                session, user, "pipeline.trigger", f"pipeline:{name}",
                {"dag_id": dag, "run_id": run["dag_run_id"], "params": params or {}},
            )  # fmt: skip
        return {"name": name, "dag_id": dag, "run_id": run["dag_run_id"], "state": run["state"]}

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
                    {"dag_id": dag, "run_id": run_id, "run": run_pk, "reason": problem},
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
        with self.platform.db.session() as session:
            run = session.get(Run, run_pk)
            assert run is not None
            run.inputs = json.dumps(
                {k: {**p, "rows": inputs[k].get("rows")} for k, p in pinned.items()}
            )
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
        fp = info["fp"]
        ds = session.scalar(select(Dataset).where(Dataset.name == out))
        if ds is not None and ds.kind != "product":
            raise Refused(f"{out!r} is a {ds.kind} in the catalog, not a product")
        if ds is None:
            owners = {
                o
                for (o,) in session.execute(
                    select(Organisation.name)
                    .join(Dataset, Dataset.owner_id == Organisation.id)
                    .where(Dataset.name.in_(list(inputs)))
                )
            }
            owner_name = owners.pop() if len(owners) == 1 else MULTI_OWNER
            owner = session.scalar(select(Organisation).where(Organisation.name == owner_name))
            if owner is None:
                owner = Organisation(name=owner_name)
                session.add(owner)
                session.flush()
            ds = Dataset(
                name=out, kind="product", owner_id=owner.id, source_format="parquet",
                source_uri=str(Path(info["location"]).parent), source_options="{}",
                classification_status="confirmed",
                confirmed_by=f"review:{lineage['code_version'][:12]}",
                confirmed_at=now(), created_by="production",
            )  # fmt: skip
            session.add(ds)
            session.flush()
        self._classify_product(session, ds, info["columns"], dry.get("lineage", {}), inputs)
        last = session.scalars(
            select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id)
            .order_by(DatasetVersion.number.desc()).limit(1)
        ).first()  # fmt: skip
        number = (last.number if last else 0) + 1
        session.add(
            DatasetVersion(
                dataset_id=ds.id, number=number, content_hash=fp.content_hash,
                hash_algorithm=self.settings.hash_algorithm,
                schema_json=json.dumps(info["columns"], ensure_ascii=False),
                row_count=info["rows"], size_bytes=fp.size_bytes, location=info["location"],
                lineage=json.dumps(lineage, ensure_ascii=False), created_by="production",
            )
        )  # fmt: skip
        session.flush()
        self.platform.ledger.append(
            session, "production", "product.publish", f"dataset:{out}",
            {"version": number, "content_hash": fp.content_hash, "rows": info["rows"],
             **lineage}, seal=True,
        )  # fmt: skip
        return {"dataset": out, "version": number, "content_hash": fp.content_hash,
                "rows": info["rows"], "location": info["location"]}  # fmt: skip

    def _classify_product(
        self,
        session: Session,
        ds: Dataset,
        columns: list[dict[str, str]],
        lineage: dict[str, Any],
        inputs: dict[str, Any],
    ) -> None:
        """Product columns inherit the PII type of an input column they carry raw (the
        reviewed dry-run lineage of the same code); transformed columns are not PII."""
        classes: dict[tuple[str, str], tuple[str, int]] = {}
        for cc in session.scalars(
            select(ColumnClass).join(Dataset).where(Dataset.name.in_(list(inputs)))
        ):
            classes[(cc.dataset.name, cc.name)] = (cc.pii_type, cc.level)
        existing = {c.name: c for c in session.scalars(
            select(ColumnClass).where(ColumnClass.dataset_id == ds.id))}  # fmt: skip
        for stale in set(existing) - {c["name"] for c in columns}:
            session.delete(existing[stale])
        for pos, col in enumerate(columns):
            raw = [classes.get(tuple(s), ("none", 1))
                   for s in lineage.get(col["name"], {}).get("raw_sources", [])]  # fmt: skip
            pii = next((p for p, _ in raw if p != "none"), "none")
            level = max([lvl for p, lvl in raw if p != "none"], default=1)
            row = existing.get(col["name"]) or ColumnClass(dataset_id=ds.id, name=col["name"])
            row.position, row.data_type = pos, _catalog_type(col["type"])
            row.pii_type = row.proposed_pii_type = pii
            row.level = row.proposed_level = level
            row.quasi_identifier = False
            row.confidence = 1.0
            row.evidence = "from the reviewed column lineage"
            session.add(row)

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


def _loopback_master(master: str) -> bool:
    if master.startswith("local"):
        return True
    host = master.partition("://")[2].rpartition(":")[0] or master.partition("://")[2]
    return host == "localhost" or host.startswith("127.")


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
