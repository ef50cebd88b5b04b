"""Deployments: an approved version made live in Airflow, frozen there, and triggered.

``deploy`` freezes everything a run of the version executes into the deployment record and
the DAG spec (``pipelines.contract.binding``: code hash, runner image by id, mounts,
limits, runner, Spark master) and ledgers it with the approvals it rests on; ``rollback``
deploys an earlier approved version again, ``retire`` takes a pipeline out, ``trigger``
starts a run now. All of them are an operator's acts.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InvalidState, NotFound, TrustlabError
from hub.models import Dataset
from hub.terms import require, terms
from pipelines import contract
from pipelines.airflowctl import AirflowError
from pipelines.manifest import snapshot_files, switch_params, version_id
from pipelines.models import Deployment, PipelineVersion

PRODUCT_SCHEME = "trustlab://products/"


class Refused(TrustlabError):
    """Production refuses to deploy, run or publish (as a step: exit 3, never retried)."""


def now() -> datetime:
    return datetime.now(UTC)


class Deployments:
    """The deployment half of ``Production`` (it provides ``platform``, ``settings``,
    ``review`` and ``airflow``)."""

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
        problem = self._reviewed_image_problem(v)
        if problem:
            return problem
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
            if terms(session, v.project or "", inp, "pipeline") is None:
                return (f"project {v.project!r} has no contract in force that allows "
                        f"pipeline use of {inp!r}")  # fmt: skip
        return None

    @staticmethod
    def _reviewed_image_problem(v: PipelineVersion) -> str | None:
        """A deployment runs the runner image the approved dry run ran on (by id, kept by
        its pinned tag); None when that image is still there under that tag."""
        import docker.errors

        from hub.images import docker_client

        dry = json.loads(v.dry_run or "{}")
        digest, tag = dry.get("image"), dry.get("image_tag")
        if not digest or not tag:
            return (f"version {v.id[:12]} was dry-run before approvals were bound to the "
                    "runner image; submit it again")  # fmt: skip
        try:
            found = docker_client().images.get(tag).id
        except docker.errors.ImageNotFound:
            found = None
        if found != digest:
            return (f"the runner image {v.id[:12]} was reviewed on ({digest[:19]}) is no longer "
                    f"{tag} (found {str(found)[:19]}); submit the version again to review it "
                    "on the current image")  # fmt: skip
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
        s = self.settings
        dry = json.loads(v.dry_run or "{}")  # _deploy_problem checked the image is still it
        image, digest = dry["image_tag"], dry["image"]
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
            project = dep.version.project or ""
            for inp in manifest["inputs"]:  # a lapsed contract: refused now, not queued
                require(session, project, inp, "pipeline")
        switch_params(manifest, params or {})  # bad input fails here, before Airflow
        run = self.airflow.client().trigger(dag, {"params": params} if params else None)
        with self.platform.db.session() as session:
            self.platform.ledger.append(
                session, user, "pipeline.trigger", f"pipeline:{name}",
                {"dag_id": dag, "run_id": run["dag_run_id"], "params": params or {}},
            )  # fmt: skip
        return {"name": name, "dag_id": dag, "run_id": run["dag_run_id"], "state": run["state"]}


def _loopback_master(master: str) -> bool:
    if master.startswith("local"):
        return True
    host = master.partition("://")[2].rpartition(":")[0] or master.partition("://")[2]
    return host == "localhost" or host.startswith("127.")
