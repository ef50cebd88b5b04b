"""The dry run: a submitted version on the samples, in the runner container.

The container has no network, a read-only root, the version's snapshot and the granted
samples mounted read-only, and one scratch folder for outputs. Inside, ``python -m
pipelines.dryrun JOB.json`` runs the pipeline with local Spark, reads each output's column
lineage from the analyzed plan, runs the manifest's expectations, and writes
``result.json`` next to the outputs; the host records it on the version.

    {"passed": bool, "problems": [str], "inputs": {name: {version, hash}},
     "outputs": {name: {rows, columns, lineage, findings, expectations, preview}}}
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

PREVIEW_ROWS = 20


def dry_run(
    folder: Path,
    spark: Any,
    reader: Any,
    out_dir: Path,
    pii: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """Run, trace lineage, validate; never raises for the pipeline's own faults."""
    from hub.errors import TrustlabError
    from pipelines.lineage import Sources, lineage, pii_findings
    from pipelines.manifest import load_manifest
    from pipelines.quality import validate
    from pipelines.runner import run_pipeline

    manifest = load_manifest(folder)
    sources = Sources()

    def traced(name: str) -> tuple[Any, dict[str, Any]]:
        df, facts = reader(name)
        sources.add(df, name)
        return df, facts

    result: dict[str, Any] = {"passed": False, "problems": [], "inputs": {}, "outputs": {}}
    try:
        run = run_pipeline(folder, spark, traced, out_dir)
    except TrustlabError as exc:
        result["problems"].append(str(exc))
        return result
    result["inputs"] = run.inputs
    for name, info in run.outputs.items():
        columns = lineage(run.frames[name], sources)
        findings = pii_findings(name, columns, pii, manifest.justifications.get(name, {}))
        written = spark.read.parquet(info["path"])
        expectations = validate(written, name, manifest.expectations.get(name, {}))
        preview = [
            {k: None if v is None else str(v) for k, v in row.asDict().items()}
            for row in written.limit(PREVIEW_ROWS).collect()
        ]
        result["outputs"][name] = {
            "rows": info["rows"],
            "columns": info["columns"],
            "lineage": columns,
            "findings": findings,
            "expectations": expectations,
            "preview": preview,
        }
        for f in findings:
            if f["severity"] == "high":
                result["problems"].append(f["message"])
        for check in expectations["checks"]:
            if not check["success"]:
                where = f" on {check['column']}" if check["column"] else ""
                result["problems"].append(f"{name}: {check['expectation']}{where} failed")
    result["passed"] = not result["problems"]
    return result


# --- inside the runner container ---------------------------------------------------------------


def main(job_file: str) -> int:
    """Entry point in the container: run the job, write result.json, exit 0 (result inside)."""
    from hub.settings import Settings
    from pipelines.runner import sample_reader
    from sandbox.spark import spark_session

    job = json.loads(Path(job_file).read_text())
    out = Path(job["out"])
    spark = spark_session(
        Settings(
            home=Path("/tmp/trustlab-home"),
            spark_master="local[2]",
            spark_driver_memory=job.get("driver_memory", "1g"),
        )
    )
    try:
        result = dry_run(Path(job["pipeline"]), spark, sample_reader(spark), out / "outputs",
                         job["pii"])  # fmt: skip
    except Exception as exc:  # report, never leave the host without an answer
        result = {"passed": False, "problems": [f"dry run crashed: {type(exc).__name__}: {exc}"],
                  "inputs": {}, "outputs": {}}  # fmt: skip
    tmp = out / ".result.json.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False, default=str))
    tmp.replace(out / "result.json")
    return 0


# --- on the host ----------------------------------------------------------------------------


def run_in_container(platform: Any, version: dict[str, Any], log: Any = print) -> dict[str, Any]:
    """Run ``version``'s dry run in the runner image; return the result."""
    import docker.errors

    from hub.catalog import Catalog
    from hub.errors import TrustlabError
    from hub.images import docker_client, image_digest
    from sandbox.builder import latest_sample

    settings = platform.settings
    client = docker_client()  # images are built by `make up` / `trustlab hub start`
    manifest = version["manifest"]
    work = settings.home / "dry-runs" / version["version"]
    shutil.rmtree(work, ignore_errors=True)
    (work / "out").mkdir(parents=True)
    pii: dict[str, dict[str, str]] = {}
    datasets: dict[str, Any] = {}
    volumes: dict[str, dict[str, str]] = {
        version["snapshot"]: {"bind": "/pipeline", "mode": "ro"},
        str(work / "out"): {"bind": "/out", "mode": "rw"},
    }
    for name in manifest["inputs"]:
        info = Catalog(platform).show(name)
        pii[name] = {c["name"]: c["pii"] for c in info["columns"] if c["pii"] != "none"}
        if info["kind"] == "product":  # a reviewed, validated output: used as it is
            latest = info["versions"][-1] if info["versions"] else None
            if latest is None:
                raise TrustlabError(f"product {name!r} has no published version yet")
        else:
            latest = latest_sample(platform, name)["versions"][-1]
        mount = f"/data/samples/{name}"
        volumes[str(Path(latest["location"]).resolve())] = {"bind": mount, "mode": "ro"}
        datasets[name] = {"path": mount, "hash": latest["content_hash"],
                          "version": latest["number"]}  # fmt: skip
    (work / "samples.json").write_text(json.dumps({"datasets": datasets}))
    volumes[str(work / "samples.json")] = {"bind": "/etc/trustlab/samples.json", "mode": "ro"}
    job = {"pipeline": "/pipeline", "out": "/out", "pii": pii}
    (work / "out" / "job.json").write_text(json.dumps(job))
    (work / "out").chmod(0o777)  # the container's uid 1000 writes here
    image = image_digest(client, settings.runner_image)
    log(f"dry run of {version['version'][:12]} in {settings.runner_image} "
        f"({image[:19]}, no network)")  # fmt: skip
    try:
        container = client.containers.run(
            image,  # by content id: what is recorded is what ran
            ["python", "-m", "pipelines.dryrun", "/out/job.json"],
            detach=True, network_mode="none", read_only=True, user="1000:1000",
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"],
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={settings.sandbox_tmp_size}"},
            mem_limit=settings.sandbox_mem_limit, nano_cpus=int(2e9), pids_limit=512,
            volumes=volumes,
            environment={"TRUSTLAB_SAMPLES_MANIFEST": "/etc/trustlab/samples.json",
                         "SPARK_LOCAL_IP": "127.0.0.1", "HOME": "/tmp",
                         "GX_ANALYTICS_ENABLED": "false"},
            labels={"org.trustlab.role": "dry-run", "org.trustlab.version": version["version"]},
        )  # fmt: skip
    except docker.errors.APIError as exc:
        raise TrustlabError(f"cannot start the dry run container: {exc.explanation}") from exc
    try:
        status = container.wait(timeout=1800)
        logs = container.logs(tail=30).decode(errors="replace")
    finally:
        container.remove(force=True)
    result_file = work / "out" / "result.json"
    if not result_file.exists():
        return {"passed": False, "inputs": {}, "outputs": {}, "image": image,
                "problems": [f"the dry run container exited {status.get('StatusCode')} "
                             f"without a result; last output:\n{logs[-2000:]}"]}  # fmt: skip
    return {**json.loads(result_file.read_text()), "image": image}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
