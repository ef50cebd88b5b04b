"""What a production run is about to execute, checked against what was deployed.

A deployment freezes, in the metadata DB, everything its runs execute: the approved code
hash, the runner image by content id (and the pinned tag that named it), mounts, limits,
runner mode and Spark master (``pipelines.contract.binding``). Airflow's DAGs folder is not
trusted: its spec file may be edited, and an image tag may be moved. So each run's
``verify`` step is told the binding digest of the spec the DAG was actually built from,
and refuses the run before any container starts when

- that digest is not the one of the frozen record (the spec file was edited), or
- the pinned runner image tag no longer names the frozen image id (the image was swapped),
  or the frozen image is gone.

The run and validate containers are then created by image id, so a tag moved after this
check cannot change what runs either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines import contract


@dataclass
class Mismatch:
    """What differs between the frozen deployment and what is about to run."""

    problems: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # bound spec keys that differ
    image: dict[str, str] = field(default_factory=dict)  # expected / found image ids

    def __bool__(self) -> bool:
        return bool(self.problems)

    def to_json(self) -> dict[str, Any]:
        return {"problems": self.problems, "changed": self.changed, "image": self.image}


def check(frozen: dict[str, Any], given: str | None, spec_file: Path) -> Mismatch:
    """Compare the frozen spec with the DAG's (digest ``given``) and the Docker engine."""
    found = Mismatch()
    expected = contract.binding_digest(frozen)
    if given != expected:
        on_disk = _read(spec_file)
        found.changed = contract.binding_changes(frozen, on_disk) if on_disk else ["(spec)"]
        what = ", ".join(found.changed) if found.changed else "the spec the DAG was built from"
        found.problems.append(f"the DAG's spec differs from deployment {frozen['deployment']} "
                              f"({what})")  # fmt: skip
    _check_image(frozen, found)  # validate runs in the runner image in every mode
    return found


def _check_image(frozen: dict[str, Any], found: Mismatch) -> None:
    import docker.errors

    from hub.images import docker_client

    digest, tag = frozen.get("image_digest"), frozen.get("image")
    if not digest:
        found.problems.append(f"deployment {frozen['deployment']} names no image digest; it "
                              "predates bound runs: deploy the version again")  # fmt: skip
        return
    client = docker_client()
    try:
        present = client.images.get(digest).id
    except docker.errors.ImageNotFound:
        present = None
    try:
        tagged = client.images.get(tag).id if tag else digest
    except docker.errors.ImageNotFound:
        tagged = None
    if present != digest:
        found.image = {"expected": digest, "found": "missing"}
        found.problems.append(f"the deployed runner image {digest[:19]} is no longer on the "
                              "Docker engine")  # fmt: skip
    elif tagged != digest:
        found.image = {"expected": digest, "found": tagged or "missing", "tag": tag or ""}
        found.problems.append(f"runner image {tag} is now {str(tagged)[:19]}, not the deployed "
                              f"{digest[:19]}")  # fmt: skip


def _read(path: Path) -> dict[str, Any] | None:
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) else None
