"""What the Airflow side and trustlab's side of a production run agree on (stdlib only).

``pipelines.dagfactory`` runs inside Airflow's environment and ``pipelines.production`` /
``pipelines.prodjob`` in trustlab's; both import these names, so the staging layout and the
exit statuses are defined once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

FAIL = 3  # exit status of a step that failed for good (refused, pipeline error, expectations)
SPEC_DIR = "trustlab"  # specs live in <dags folder>/trustlab/<pipeline>.json

# A run's staging folder, <home>/staging/<dag_id>/<runkey>/:
JOB = "job.json"  # written by verify, read-only in the containers
CODE = "code"  # the verified snapshot copy the runner executes (read-only)
INPUTS = "inputs"  # SQL sources staged to Parquet by verify (read-only)
OUT = "out"  # written by the run container: outputs/<name>/, report.json
CHECK = "check"  # written by the validate container: validation.json


def runkey(run_id: str) -> str:
    """A file-name-safe key for an Airflow run id (staging folder, container name)."""
    return hashlib.sha256(run_id.encode()).hexdigest()[:20]


def dag_id(pipeline: str, version: str) -> str:
    return f"trustlab__{pipeline}__{version[:12]}"


# What a deployment's spec may not change after deploy: everything but the path of
# trustlab's interpreter (refreshed by `trustlab airflow start`) and the display text.
UNBOUND = frozenset({"python", "description", "deployed_by"})


def binding(spec: dict[str, Any]) -> dict[str, Any]:
    """The part of a spec that decides what runs (code, image, mounts, limits, runner…)."""
    return {k: v for k, v in spec.items() if k not in UNBOUND}


def binding_digest(spec: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``binding(spec)``."""
    text = json.dumps(binding(spec), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def binding_changes(frozen: dict[str, Any], found: dict[str, Any]) -> list[str]:
    """The bound keys whose values differ between two specs."""
    a, b = binding(frozen), binding(found)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
