"""Airflow DAGs of the active deployments, one per JSON spec (imported by Airflow only).

This module runs inside Airflow's own environment, so it imports nothing but Airflow and
the standard library; everything that touches the metadata DB, the catalog or the ledger
runs as ``python -m pipelines.production STEP`` in trustlab's environment. A spec is
written by ``trustlab pipeline deploy`` from the metadata DB (``pipelines.production``);
its DAG is::

    verify ─▶ run ─▶ validate ─▶ publish ─▶ record (all_done)

- ``verify`` (host): the deployment is active, the version is approved, the snapshot still
  hashes to it (else a ledger alert); pins the input versions; prepares the staging area.
- ``run``: the pipeline in the runner image (DockerOperator: no network, read-only root,
  non-root, no capabilities, CPU/memory/pids limits; inputs read-only, outputs to
  staging), or spark-submit to a cluster (``PRODUCTION_RUNNER=spark-submit``).
- ``validate``: the expectation suite (Great Expectations) on the staged output, in a fresh
  runner container that runs no pipeline code.
- ``publish`` (host): atomic promotion to the products zone as new catalog versions with
  lineage; emits the products' Airflow assets (downstream pipelines run on them).
- ``record`` (host, always): metering and the ledger entry; quarantines a rejected output,
  removes a partial one, and fails the DAG run when nothing was published.

Exit status 3 from any step means "definitely failed" (refused, pipeline error, failed
expectations): the task fails without retries. Anything else is treated as an
infrastructure fault and retried with exponential backoff.
"""

from __future__ import annotations

import json
import logging
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import docker.errors
from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.standard.operators.python import BranchPythonOperator
from airflow.sdk import DAG, Asset, BaseOperator, TriggerRule
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from pipelines.contract import CHECK, CODE, FAIL, INPUTS, JOB, OUT, SPEC_DIR, binding_digest, runkey

log = logging.getLogger(__name__)


def load_dags(factory_file: str) -> dict[str, Any]:
    """``{dag_id: DAG}`` for every spec under ``<dags folder>/trustlab/``.

    A spec that cannot be read or built is skipped with an error in the dag-processor's
    log, so one damaged file never takes every other pipeline's DAG down with it.
    """
    folder = Path(factory_file).resolve().parent / SPEC_DIR
    dags = {}
    for path in sorted(folder.glob("*.json")):
        try:
            spec = json.loads(path.read_text())
            dags[spec["dag_id"]] = build_dag(spec)
        except Exception:
            log.exception("trustlab: skipping DAG spec %s; redeploy or run `trustlab airflow "
                          "start` to rewrite it", path)  # fmt: skip
    return dags


def build_dag(spec: dict[str, Any]) -> Any:
    schedule: Any = spec.get("schedule")
    if not schedule and spec.get("assets_in"):
        # Data-aware: run when every upstream product has a new version.
        schedule = [Asset(uri) for uri in spec["assets_in"]]
    default_args = {
        "owner": "trustlab",
        "retries": int(spec.get("retries", 2)),
        "retry_delay": timedelta(seconds=int(spec.get("retry_delay", 20))),
        "retry_exponential_backoff": True,
    }
    doc = (
        f"trustlab pipeline **{spec['pipeline']}**, version `{spec['version']}` "
        f"(deployment {spec['deployment']}, by {spec.get('deployed_by', '?')}).\n\n"
        f"{spec.get('description', '')}"
    )
    with DAG(
        dag_id=spec["dag_id"],
        description=(spec.get("description") or spec["pipeline"])[:200],
        schedule=schedule or None,
        start_date=datetime.fromisoformat(spec["start_date"]),
        catchup=False,
        max_active_runs=1,
        default_args=default_args,
        tags=["trustlab", f"pipeline:{spec['pipeline']}"],
        doc_md=doc,
        user_defined_filters={"runkey": runkey},
    ) as dag:
        verify = TrustlabStep(task_id="verify", step="verify", spec=spec)
        run = _run_task(spec)
        validate = _container_task(spec, "validate")
        publish = TrustlabStep(
            task_id="publish",
            step="publish",
            spec=spec,
            outlets=[Asset(uri) for uri in spec.get("assets_out", [])],
        )
        record = TrustlabStep(
            task_id="record", step="record", spec=spec, trigger_rule=TriggerRule.ALL_DONE
        )
        if spec.get("when"):
            # Manifest conditions: verify decides (trustlab code), the branch routes.
            check = BranchPythonOperator(task_id="check", python_callable=_route)
            verify >> check >> run
        else:
            verify >> run
        run >> validate >> publish >> record
    return dag


def _route(ti: Any, **_: Any) -> str | None:
    """``run`` when verify found the ``[when]`` conditions met, else nothing (skip)."""
    verdict = json.loads(ti.xcom_pull(task_ids="verify") or "{}")
    return "run" if verdict.get("run_now") else None


def _work(spec: dict[str, Any]) -> str:
    return f"{spec['staging']}/{{{{ run_id | runkey }}}}"


def _run_task(spec: dict[str, Any]) -> Any:
    if spec.get("runner") == "spark-submit":
        from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

        spark = spec["spark"]
        return SparkSubmitOperator(
            task_id="run",
            application=spark["application"],
            application_args=["run", f"{_work(spec)}/{JOB}"],
            conf=spark.get("conf", {}),
            conn_id=spark.get("conn_id", "spark_default"),
            spark_binary=spark["binary"],
            name=f"trustlab-{spec['pipeline']}",
            driver_memory=spark.get("driver_memory"),
            env_vars=spark.get("env", {}),
        )
    return _container_task(spec, "run")


def _bind(source: str, target: str, read_only: bool = True) -> dict[str, Any]:
    return {"source": source, "target": target, "type": "bind", "read_only": read_only}


def _container_task(spec: dict[str, Any], step: str) -> Any:
    work = _work(spec)
    mounts = [_bind(f"{work}/{JOB}", f"/work/{JOB}")]
    if step == "run":
        mounts += [
            _bind(f"{work}/{CODE}", f"/work/{CODE}"),
            _bind(f"{work}/{INPUTS}", f"/work/{INPUTS}"),
            _bind(f"{work}/{OUT}", f"/work/{OUT}", read_only=False),
        ]
        mounts += [_bind(m["source"], m["target"]) for m in spec.get("mounts", [])]
    else:  # validate: reads the staged output, writes only its verdict
        mounts += [
            _bind(f"{work}/{OUT}", f"/work/{OUT}"),
            _bind(f"{work}/{CHECK}", f"/work/{CHECK}", read_only=False),
        ]
    limits = spec["limits"]
    return HardenedDockerOperator(
        task_id=step,
        # by content id: a tag moved after verify checked it cannot change what runs
        image=spec.get("image_digest") or spec["image"],
        command=["python", "-m", "pipelines.prodjob", step, f"/work/{JOB}"],
        container_name=f"trustlab-{step}-{spec['deployment']}-{{{{ run_id | runkey }}}}",
        mounts=mounts,
        network_mode="none",
        hostname="localhost",  # resolvable without a network (Spark looks its host up)
        user="1000:1000",
        mem_limit=limits["memory"],
        cpus=float(limits["cpus"]),
        mount_tmp_dir=False,
        auto_remove="force",
        environment={
            "HOME": "/tmp",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "GX_ANALYTICS_ENABLED": "false",
            "TRUSTLAB_RUN_ID": "{{ run_id }}",
        },
        labels={
            "org.trustlab.role": f"production-{step}",
            "org.trustlab.pipeline": spec["pipeline"],
            "org.trustlab.version": spec["version"],
            "org.trustlab.staging": spec["staging"],
        },
        hardening={
            "read_only": True,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "pids_limit": int(limits["pids"]),
            "nano_cpus": int(float(limits["cpus"]) * 1e9),
            "tmpfs": {"/tmp": f"rw,exec,nosuid,nodev,size={limits['tmp']}"},
        },
    )


# --- operators ------------------------------------------------------------------------------


class TrustlabStep(BaseOperator):
    """``python -m pipelines.production STEP`` in trustlab's environment, logged live."""

    ui_color = "#e8f0fe"

    def __init__(self, *, step: str, spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        self.python = spec["python"]
        self.deployment = int(spec["deployment"])
        # What this DAG was built from; verify refuses it unless it is what was deployed.
        self.binding = binding_digest(spec)

    def execute(self, context: Any) -> Any:
        ti = context["ti"]
        cmd = [
            self.python, "-m", "pipelines.production", self.step,
            "--deployment", str(self.deployment), "--dag-id", ti.dag_id,
            "--run-id", context["run_id"], "--try", str(ti.try_number),
        ]  # fmt: skip
        if self.step == "verify":
            conf = getattr(context.get("dag_run"), "conf", None) or {}
            cmd += ["--conf", json.dumps(conf), "--binding", self.binding]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert proc.stdout is not None
        last = ""
        for line in proc.stdout:
            line = line.rstrip("\n")
            self.log.info("%s", line)
            if line.strip():
                last = line
        code = proc.wait()
        if code == FAIL:
            raise AirflowFailException(f"{self.step} failed: {last}")
        if code != 0:
            raise AirflowException(f"{self.step} exited {code} (will retry): {last}")
        return last


class _HardenedAPI:
    """The Docker API client, with trustlab's hardening added to every host config."""

    def __init__(self, api: Any, hardening: dict[str, Any]) -> None:
        self._api = api
        self._hardening = hardening
        self.last_status: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def create_host_config(self, **kwargs: Any) -> Any:
        return self._api.create_host_config(**{**kwargs, **self._hardening})

    def images(self, name: str | None = None, **kwargs: Any) -> Any:
        """An image id is present when it can be inspected (the stock check filters by
        reference, which never matches an id, and would then try to pull)."""
        if name and name.startswith("sha256:"):
            try:
                return [self._api.inspect_image(name)]
            except docker.errors.ImageNotFound:
                return []
        return self._api.images(name=name, **kwargs)

    def pull(self, image: str, **_: Any) -> Any:
        raise AirflowFailException(
            f"image {image} is not on this Docker engine; trustlab never pulls: redeploy"
        )

    def wait(self, *args: Any, **kwargs: Any) -> Any:
        result = self._api.wait(*args, **kwargs)
        self.last_status = result.get("StatusCode")
        return result


class HardenedDockerOperator(DockerOperator):
    """DockerOperator with a read-only root, no capabilities, no-new-privileges, a pids
    limit, a hard CPU quota and a tmpfs /tmp. Exit status 3 fails without retry; a
    container left by an earlier attempt (killed worker, restarted Airflow) is removed
    before the new one starts, so two attempts never write the same staging folder."""

    def __init__(self, *, hardening: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hardening = hardening
        self._hardened: Any = None

    @property
    def cli(self) -> Any:
        if self._hardened is None:
            self._hardened = _HardenedAPI(self.hook.api_client, self.hardening)
        return self._hardened

    def execute(self, context: Any) -> Any:
        if self.container_name:
            try:
                self.hook.api_client.remove_container(self.container_name, force=True)
                self.log.warning("removed container %s left by an earlier attempt",
                                 self.container_name)  # fmt: skip
            except docker.errors.NotFound:
                pass
        try:
            return super().execute(context)
        except DockerContainerFailedException as exc:
            if self.cli.last_status == FAIL:
                raise AirflowFailException(f"{self.task_id} failed (not retried)") from exc
            raise
