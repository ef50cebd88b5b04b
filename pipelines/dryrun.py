"""The dry run: a submitted version on the samples, in two runner containers.

1. **run** — the only place pipeline code executes: no network, read-only root, uid 1000,
   the snapshot and the contracted columns of the samples read-only.
   ``python -m pipelines.dryrun run`` runs
   ``run(ctx)`` with local Spark and leaves under ``/out``: each output as Parquet
   (``outputs/<name>/``), its analyzed Spark plan as JSON (``plans/<name>.json``) and
   ``report.json`` (what happened, e.g. the pipeline's own error). Nothing it writes is a
   verdict, and nothing of it is trusted as one.
2. **judge** — a fresh container that never imports the pipeline and never shares a
   process with it: ``/out`` and the samples read-only, no snapshot at all, and one folder
   only it writes (``/verdict``). It computes the column lineage from the plan JSON
   (default deny, ``pipelines.planlineage``), cross-checks every output against the
   samples' PII values (a plan cannot hide a column whose values are there), runs the
   manifest's expectations (Great Expectations, no values copied) and takes a preview.

The host records only the judge's ``verdict.json``::

    {"passed": bool, "problems": [str], "inputs": {name: {version, hash}}, "image": id,
     "outputs": {name: {rows, columns, lineage, findings, expectations, preview}}}
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

PREVIEW_ROWS = 20
MIN_MATCH = 4  # one shared value this long (or two shorter ones) betrays a carried column


# --- step 1, in the run container: the pipeline -----------------------------------------------


def execute(folder: Path, spark: Any, reader: Any, out: Path) -> dict[str, Any]:
    """Run the pipeline; land outputs and their plans under ``out``; its report."""
    from hub.errors import TrustlabError
    from pipelines.runner import run_pipeline

    report: dict[str, Any] = {"inputs": {}, "outputs": {}, "error": None}
    (out / "plans").mkdir(parents=True, exist_ok=True)
    try:
        run = run_pipeline(folder, spark, reader, out / "outputs")
    except TrustlabError as exc:
        report["error"] = str(exc)
        return report
    report["inputs"] = run.inputs
    for name, frame in run.frames.items():
        plan = frame._jdf.queryExecution().analyzed().toJSON()
        (out / "plans" / f"{name}.json").write_text(plan)
        report["outputs"][name] = {"rows": run.outputs[name]["rows"],
                                   "columns": run.outputs[name]["columns"]}  # fmt: skip
    return report


def _run_main(job: dict[str, Any]) -> int:
    from hub.settings import Settings
    from pipelines.runner import sample_reader
    from sandbox.spark import spark_session

    out = Path(job["out"])
    settings = Settings(home=Path("/tmp/trustlab-home"), spark_master="local[2]",
                        spark_driver_memory=job.get("driver_memory", "1g"))  # fmt: skip
    spark = spark_session(settings)
    try:
        report = execute(Path(job["pipeline"]), spark, sample_reader(spark), out)
    except Exception as exc:  # the host must get an answer, whatever the code did
        report = {"error": f"dry run crashed: {type(exc).__name__}: {exc}"}
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, default=str))
    return 0


# --- step 2, in the judge container: the verdict ----------------------------------------------


def judge(
    out: Path, manifest: dict[str, Any], inputs: dict[str, str], pii: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The verdict on what step 1 left in ``out``; ``inputs``: input name → sample folder
    (what the run read), ``pii``: input → {column: PII type}. Reads no pipeline code."""
    import pyarrow.parquet as pq

    from pipelines.planlineage import PlanError, lineage, pii_findings
    from pipelines.quality import validate

    result: dict[str, Any] = {"passed": False, "problems": [], "outputs": {}}
    report = _read(out / "report.json") or {}
    if report.get("error"):
        result["problems"].append(f"the pipeline failed: {str(report['error'])[:4000]}")
    columns = {name: pq.read_schema(_first_parquet(Path(path))).names
               for name, path in inputs.items()}  # fmt: skip
    values = _pii_values(inputs, pii)
    justified = manifest.get("justifications", {})
    for name in manifest["outputs"]:
        folder = out / "outputs" / name
        if not (folder.is_dir() and any(folder.rglob("*.parquet"))):
            if not report.get("error"):
                result["problems"].append(f"the pipeline wrote no output {name!r}")
            continue
        table = pq.read_table(folder)
        try:
            cols = lineage(json.loads((out / "plans" / f"{name}.json").read_text()), columns)
        except (OSError, ValueError, PlanError) as exc:
            cols = {}
            result["problems"].append(
                f"{name}: no readable Spark plan ({type(exc).__name__}), so its lineage is "
                "unknown and it is not cleared"
            )
        if cols and list(cols) != table.column_names:
            result["problems"].append(
                f"{name}: the reported plan does not describe the output written (plan "
                f"{list(cols)}, output {table.column_names}); not cleared"
            )
        findings = pii_findings(name, cols, pii, justified.get(name, {}))
        findings += carried_values(name, table, values, justified.get(name, {}))
        frame = table.to_pandas()
        expectations = validate(frame, name, manifest.get("expectations", {}).get(name, {}))
        result["outputs"][name] = {
            "rows": table.num_rows,
            "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "lineage": cols,
            "findings": findings,
            "expectations": expectations,
            "preview": [
                {k: None if v is None else str(v) for k, v in row.items()}
                for row in frame.head(PREVIEW_ROWS).to_dict("records")
            ],
        }
        result["problems"] += [f["message"] for f in findings if f["severity"] == "high"]
        for check in expectations["checks"]:
            if not check["success"]:
                where = f" on {check['column']}" if check["column"] else ""
                result["problems"].append(f"{name}: {check['expectation']}{where} failed")
    result["passed"] = not result["problems"]
    return result


def carried_values(
    output: str, table: Any, values: dict[tuple[str, str], tuple[str, set[str]]],
    justified: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    """LINEAGE002: an output column holding values of an input PII column as they are in
    the sample. Needs no plan, so it holds even against a plan that lies; no value is
    ever put into the finding."""
    findings = []
    for column in table.column_names:
        kind = str(table.schema.field(column).type)
        if kind not in ("string", "large_string"):
            continue
        held = {v for v in table.column(column).to_pylist() if isinstance(v, str) and v}
        for (inp, col), (pii_type, sample) in sorted(values.items()):
            shared = held & sample
            if not shared or (len(shared) < 2 and max(map(len, shared)) < MIN_MATCH):
                continue
            justification = justified.get(column)
            findings.append({
                "rule": "LINEAGE002", "severity": "info" if justification else "high",
                "output": output, "column": column,
                "message": f"{output}.{column} holds {len(shared)} value(s) of {inp}.{col} "
                           f"({pii_type}) exactly as the sample has them",
                "justification": justification,
            })  # fmt: skip
    return findings


def _pii_values(
    inputs: dict[str, str], pii: dict[str, dict[str, str]]
) -> dict[tuple[str, str], tuple[str, set[str]]]:
    import pyarrow.parquet as pq

    found = {}
    for name, path in inputs.items():
        wanted = [c for c in pii.get(name, {}) if pii[name][c] != "none"]
        if not wanted:
            continue
        table = pq.read_table(path, columns=wanted)
        for column in wanted:
            sample = {str(v) for v in table.column(column).to_pylist() if v not in (None, "")}
            found[(name, column)] = (pii[name][column], {v for v in sample if len(v) >= 2})
    return found


def _first_parquet(folder: Path) -> Path:
    return next(p for p in sorted(folder.rglob("*.parquet")) if not p.name.startswith((".", "_")))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _judge_main(job: dict[str, Any]) -> int:
    verdict_dir = Path(job["verdict"])
    try:
        result = judge(Path(job["out"]), job["manifest"], job["inputs"], job["pii"])
    except Exception as exc:  # a verdict even when the outputs are unreadable
        result = {
            "passed": False,
            "outputs": {},
            "problems": [f"the outputs could not be judged: {type(exc).__name__}: {exc}"],
        }
    tmp = verdict_dir / ".verdict.json.tmp"
    tmp.write_text(json.dumps(result, ensure_ascii=False, default=str))
    tmp.replace(verdict_dir / "verdict.json")
    return 0


# --- on the host ----------------------------------------------------------------------------


def run_in_container(platform: Any, version: dict[str, Any], log: Any = print) -> dict[str, Any]:
    """Run ``version`` on the samples (step 1), judge it in a clean container (step 2);
    the judge's verdict, with the inputs pinned by the host and the runner image (its id
    and the pinned tag that keeps it: a deployment of the version runs exactly it)."""
    from hub.catalog import Catalog
    from hub.errors import TrustlabError
    from hub.images import docker_client, pin_image
    from hub.mounts import column_view
    from sandbox.builder import latest_sample

    settings = platform.settings
    client = docker_client()  # images are built by `make up` / `trustlab hub start`
    manifest = version["manifest"]
    work = settings.home / "dry-runs" / version["version"]
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("out", "verdict"):
        (work / sub).mkdir(parents=True)
    pii: dict[str, dict[str, str]] = {}
    datasets: dict[str, Any] = {}
    samples: dict[str, dict[str, str]] = {}
    pinned: dict[str, Any] = {}
    for name in manifest["inputs"]:
        info = Catalog(platform).show(name)
        pii[name] = {c["name"]: c["pii"] for c in info["columns"] if c["pii"] != "none"}
        if info["kind"] == "product":  # a reviewed, validated output: used as it is
            latest = info["versions"][-1] if info["versions"] else None
            if latest is None:
                raise TrustlabError(f"product {name!r} has no published version yet")
        else:
            latest = latest_sample(platform, name)["versions"][-1]
        location = Path(latest["location"]).resolve()
        allowed = (version.get("contract_columns") or {}).get(name)
        every = [c["name"] for c in info["columns"]]
        if allowed is not None and set(allowed) != set(every):  # only what the contract allows
            location = column_view(location, latest["content_hash"], tuple(allowed))
            pii[name] = {c: t for c, t in pii[name].items() if c in allowed}
        mount = f"/data/samples/{name}"
        samples[str(location)] = {"bind": mount, "mode": "ro"}
        datasets[name] = {"path": mount, "hash": latest["content_hash"],
                          "version": latest["number"]}  # fmt: skip
        pinned[name] = {"version": latest["number"], "hash": latest["content_hash"]}
    (work / "samples.json").write_text(json.dumps({"datasets": datasets}))
    (work / "out" / "job.json").write_text(json.dumps({"pipeline": "/pipeline", "out": "/out"}))
    (work / "verdict" / "job.json").write_text(json.dumps({
        "out": "/out", "verdict": "/verdict", "manifest": manifest, "pii": pii,
        "inputs": {name: d["path"] for name, d in datasets.items()},
    }, ensure_ascii=False))  # fmt: skip
    for sub in ("out", "verdict"):
        (work / sub).chmod(0o777)  # the containers' uid 1000 writes here
    # Pinned: the image the reviewers see this dry run on is the one a deployment runs.
    image_tag, image = pin_image(client, settings.runner_image)
    log(f"dry run of {version['version'][:12]} in {settings.runner_image} "
        f"({image[:19]}, no network)")  # fmt: skip
    run_mounts = {
        version["snapshot"]: {"bind": "/pipeline", "mode": "ro"},
        str(work / "out"): {"bind": "/out", "mode": "rw"},
        str(work / "samples.json"): {"bind": "/etc/trustlab/samples.json", "mode": "ro"},
        **samples,
    }
    started = time.monotonic()
    _container(client, settings, image, "run", "/out/job.json", run_mounts, version)
    ran = time.monotonic()
    log("judging the outputs in a fresh container (no pipeline code in it)")
    judge_mounts = {
        str(work / "out"): {"bind": "/out", "mode": "ro"},
        str(work / "verdict"): {"bind": "/verdict", "mode": "rw"},
        **samples,
    }
    logs = _container(client, settings, image, "judge", "/verdict/job.json", judge_mounts,
                      version)  # fmt: skip
    judged = time.monotonic()
    verdict = _read(work / "verdict" / "verdict.json")
    if verdict is None:
        problem = f"the judge left no verdict; last output:\n{logs[-2000:]}"
        verdict = {"passed": False, "outputs": {}, "problems": [problem]}
    durations = {"run_s": round(ran - started, 1), "judge_s": round(judged - ran, 1)}
    return {**verdict, "inputs": pinned, "image": image, "image_tag": image_tag,
            "durations": durations}  # fmt: skip


def _container(
    client: Any, settings: Any, image: str, step: str, job: str, volumes: dict, version: dict
) -> str:
    """Run one locked-down step container to the end; its last output lines."""
    import docker.errors

    from hub.errors import TrustlabError

    try:
        container = client.containers.run(
            image,  # by content id: what is recorded is what ran
            ["python", "-m", "pipelines.dryrun", step, job],
            detach=True, network_mode="none", read_only=True, user="1000:1000",
            cap_drop=["ALL"], security_opt=["no-new-privileges:true"],
            tmpfs={"/tmp": f"rw,exec,nosuid,nodev,size={settings.sandbox_tmp_size}"},
            mem_limit=settings.sandbox_mem_limit, nano_cpus=int(2e9), pids_limit=512,
            volumes=volumes,
            environment={"TRUSTLAB_SAMPLES_MANIFEST": "/etc/trustlab/samples.json",
                         "SPARK_LOCAL_IP": "127.0.0.1", "HOME": "/tmp",
                         "GX_ANALYTICS_ENABLED": "false"},
            labels={"org.trustlab.role": f"dry-run-{step}",
                    "org.trustlab.version": version["version"]},
        )  # fmt: skip
    except docker.errors.APIError as exc:
        raise TrustlabError(f"cannot start the dry run's {step} container: "
                            f"{exc.explanation}") from exc  # fmt: skip
    try:
        container.wait(timeout=1800)
        return container.logs(tail=30).decode(errors="replace")
    finally:
        container.remove(force=True)


def main(argv: list[str]) -> int:
    step, job_file = argv
    job = json.loads(Path(job_file).read_text())
    return _run_main(job) if step == "run" else _judge_main(job)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
