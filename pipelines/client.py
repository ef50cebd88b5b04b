"""Pipelines from a notebook or a script, through the platform API, as the token's owner.

In a dev sandbox nothing needs configuring: the sandbox's own hub token and the API's
address are in its environment::

    from pipelines.client import submit, status
    v = submit("my_pipeline", dry_run=True)   # scan findings, dry-run verdict, lineage
    status(v["version"])["reviews"]           # the provider's and operator's decisions

The project defaults to the sandbox's (``TRUSTLAB_PROJECT``, set by the spawner); the API
checks that the token's owner is a developer member of it, whatever is sent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hub.client import PlatformClient


def _api(api: PlatformClient | None) -> PlatformClient:
    return api or PlatformClient.discover()


def submit(
    api_or_folder: Any,
    folder: str | Path | None = None,
    project: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Submit ``folder`` (then dry-run it when ``dry_run``); the version's status.

    ``submit("my_pipeline")`` or ``submit(client, "my_pipeline")``.
    """
    from pipelines.upload import pack

    if folder is None:
        api, folder = None, api_or_folder
    else:
        api = api_or_folder
    client = _api(api)
    body = {**pack(Path(folder)), "project": project or os.environ.get("TRUSTLAB_PROJECT")}
    result = client.post("/pipelines/versions", body)
    if dry_run and result["state"] in ("scanned", "dry_run_failed"):
        result = client.post(f"/pipelines/versions/{result['version']}/dry-run")
    return result


def status(version: str, api: PlatformClient | None = None) -> dict[str, Any]:
    """State, scan findings, dry-run result (lineage, expectations) and review decisions."""
    return _api(api).get(f"/pipelines/versions/{version}")


def dry_run(version: str, api: PlatformClient | None = None) -> dict[str, Any]:
    return _api(api).post(f"/pipelines/versions/{version}/dry-run")


def mine(api: PlatformClient | None = None) -> list[dict[str, Any]]:
    """The versions the caller submitted, newest first."""
    client = _api(api)
    me = client.whoami()["name"]
    return [v for v in client.get("/pipelines/versions") if v["submitted_by"] == me]
