"""A pipeline folder as it travels to the platform API: relative path → base64 bytes.

``pack`` (the client: a notebook, the CLI) takes what a version would hold and says what it
left out; ``unpack`` (the API) checks every path and size again before anything is written,
so a client can send only what a folder could have held.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.manifest import INCLUDE, MAX_FILE, SKIP_DIRS, InvalidPipeline, take_snapshot

MAX_FILES = 500
MAX_TOTAL = 20_000_000


def pack(folder: Path) -> dict[str, Any]:
    """``{"files": {rel: base64}, "skipped": {rel: why}}`` of ``folder``."""
    if not Path(folder).is_dir():
        raise InvalidPipeline(f"{folder}: no such folder; give the pipeline's folder")
    snap = take_snapshot(Path(folder))
    return {
        "files": {rel: base64.b64encode(data).decode() for rel, data in snap.files.items()},
        "skipped": snap.skipped,
    }


def unpack(files: dict[str, str], target: Path) -> None:
    """Write an uploaded folder under ``target`` after checking every path and size."""
    if not files:
        raise InvalidPipeline("the upload holds no files; send pipeline.toml and main.py")
    if len(files) > MAX_FILES:
        raise InvalidPipeline(f"a pipeline holds at most {MAX_FILES} files")
    decoded: dict[str, bytes] = {}
    total = 0
    for rel, text in files.items():
        path = PurePosixPath(rel)
        bad = (
            path.is_absolute() or not path.parts or ".." in path.parts or "\\" in rel
            or any(p.startswith(".") or p in SKIP_DIRS for p in path.parts)
            or path.suffix not in INCLUDE
        )  # fmt: skip
        if bad:
            raise InvalidPipeline(f"{rel!r} is not a file a pipeline version can hold")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidPipeline(f"{rel}: not base64") from None
        if len(data) > MAX_FILE:
            raise InvalidPipeline(f"{rel}: larger than {MAX_FILE // 1000} kB")
        total += len(data)
        if total > MAX_TOTAL:
            raise InvalidPipeline(f"the upload is larger than {MAX_TOTAL // 1_000_000} MB")
        decoded[path.as_posix()] = data
    for rel, data in decoded.items():
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
