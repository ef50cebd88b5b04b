"""The pipeline folder: ``pipeline.toml`` + ``main.py`` defining ``run(ctx)``.

```toml
name = "district_income"
description = "Average income per district"
inputs = ["people"]
outputs = ["district_income"]
schedule = "@daily"                      # optional

[params]                                 # optional, reach the code as ctx.params
min_group = 10

[expectations.district_income]           # optional, per output (see docs/pipelines.md)
columns = ["district", "avg_income", "n"]
not_null = ["district"]
ranges = { avg_income = [0, 10000000] }
min_group_size = { column = "n", min = 10 }
no_unmasked_pii = true

[justifications.district_income]         # optional: output columns that may carry PII
district = "district names are public administrative units"

[when]                                   # optional: production runs only if all hold
mode = "full"                            # a [params] name = the value (or a list of values)
```

A param named in ``[when]`` is a *switch*: the only kind of param a production trigger may
set (``trustlab pipeline trigger NAME --param mode=full``); every other param is fixed by
review.
"""

from __future__ import annotations

import ast
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import TrustlabError

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,99}$")
EXPECTATION_KEYS = {
    "columns",
    "not_null",
    "ranges",
    "min_group_size",
    "no_unmasked_pii",
    "min_rows",
}
TOP_KEYS = {
    "name", "description", "inputs", "outputs", "schedule", "params", "expectations",
    "justifications", "when",
}  # fmt: skip
# What a snapshot includes: source and config files, never data or caches.
INCLUDE = {".py", ".toml", ".sql", ".md", ".txt", ".json", ".yaml", ".yml"}
SKIP_DIRS = {"__pycache__", ".git", ".ipynb_checkpoints", ".trustlab-out"}
MAX_FILE = 1_000_000


class InvalidPipeline(TrustlabError):
    """The folder is not a valid pipeline; the message names the file (and line)."""


@dataclass(frozen=True)
class Snapshot:
    """A pipeline folder as a version sees it: the files taken, and those left out."""

    files: dict[str, bytes]
    skipped: dict[str, str]  # relative path -> why it was left out


@dataclass(frozen=True)
class Manifest:
    name: str
    description: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    schedule: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    expectations: dict[str, dict[str, Any]] = field(default_factory=dict)
    justifications: dict[str, dict[str, str]] = field(default_factory=dict)
    when: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "schedule": self.schedule,
            "params": self.params,
            "expectations": self.expectations,
            "justifications": self.justifications,
            "when": self.when,
        }


def load_manifest(folder: Path) -> Manifest:
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidPipeline(
            f"{folder} is not a folder; a pipeline is a folder with pipeline.toml"
        )
    path = folder / "pipeline.toml"
    if not path.exists():
        raise InvalidPipeline(f"{folder} has no pipeline.toml (see docs/pipelines.md)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPipeline(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidPipeline(f"{path}: not UTF-8 text") from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise InvalidPipeline(f"{path}: unknown keys {', '.join(sorted(unknown))}")

    def names(key: str, required: bool = True) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidPipeline(f"{path}: {key} must be a list of dataset names")
        if required and not value:
            raise InvalidPipeline(f"{path}: {key} must name at least one dataset")
        for v in value:
            if not NAME.match(v):
                raise InvalidPipeline(f"{path}: invalid dataset name {v!r} in {key}")
        if len(set(value)) != len(value):
            raise InvalidPipeline(f"{path}: {key} lists a dataset twice")
        return tuple(value)

    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidPipeline(f"{path}: name must be letters, digits, '_' or '-'")
    inputs, outputs = names("inputs"), names("outputs")
    if set(inputs) & set(outputs):
        raise InvalidPipeline(f"{path}: a dataset cannot be both input and output")
    schedule = data.get("schedule")
    if schedule is not None and not isinstance(schedule, str):
        raise InvalidPipeline(f"{path}: schedule must be a string such as '@daily' or a cron line")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise InvalidPipeline(f"{path}: [params] must be a table")
    expectations = data.get("expectations", {})
    for out, spec in expectations.items():
        if out not in outputs:
            raise InvalidPipeline(f"{path}: [expectations.{out}] is not a declared output")
        bad = set(spec) - EXPECTATION_KEYS
        if bad:
            raise InvalidPipeline(
                f"{path}: unknown expectation(s) {', '.join(sorted(bad))} for {out}; "
                f"known: {', '.join(sorted(EXPECTATION_KEYS))}"
            )
        if spec.get("no_unmasked_pii", True) is not True:
            raise InvalidPipeline(
                f"{path}: [expectations.{out}] no_unmasked_pii cannot be turned off; every "
                "product is checked for unmasked PII (remove the line)"
            )
    justifications = data.get("justifications", {})
    for out, cols in justifications.items():
        if out not in outputs:
            raise InvalidPipeline(f"{path}: [justifications.{out}] is not a declared output")
        for col, why in cols.items():
            if not isinstance(why, str) or len(why.strip()) < 10:
                raise InvalidPipeline(
                    f"{path}: justification for {out}.{col} must say why, in a sentence"
                )
    when = data.get("when", {})
    if not isinstance(when, dict):
        raise InvalidPipeline(f"{path}: [when] must be a table of param = value")
    for key, wanted in when.items():
        if key not in params:
            raise InvalidPipeline(f"{path}: [when] {key} is not a param; declare it in [params]")
        values = wanted if isinstance(wanted, list) else [wanted]
        if not values or any(isinstance(v, dict | list) for v in values):
            raise InvalidPipeline(f"{path}: [when] {key} must be a value or a list of values")
    return Manifest(
        name=name,
        description=str(data.get("description", "")),
        inputs=inputs,
        outputs=outputs,
        schedule=schedule,
        params=params,
        expectations=expectations,
        justifications=justifications,
        when=when,
    )


def conditions_hold(when: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether every ``[when]`` condition holds for these param values."""
    for key, wanted in when.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if params.get(key) not in values:
            return False
    return True


def switch_params(manifest: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """The run's params: the manifest's, with trigger-time values for its switches only.

    ``given`` values are text (from the CLI or a DAG run's conf) and take the declared
    param's type; anything else is bad input (``InvalidPipeline``, exit 2).
    """
    params = dict(manifest.get("params", {}))
    switches = set(manifest.get("when", {}))
    for key, raw in given.items():
        if key not in params:
            raise InvalidPipeline(
                f"{key!r} is not a param of this pipeline; its [when] switches: "
                f"{', '.join(sorted(switches)) or 'none'}"
            )
        if key not in switches:
            allowed = ", ".join(sorted(switches)) or "none (this pipeline has no [when])"
            raise InvalidPipeline(
                f"param {key!r} is fixed by review; a trigger may set only the [when] "
                f"switches: {allowed}"
            )
        params[key] = _typed(key, raw, params[key])
    return params


def _typed(key: str, raw: Any, declared: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if isinstance(declared, bool):
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if isinstance(declared, int):
            return int(raw)
        if isinstance(declared, float):
            return float(raw)
    except ValueError:
        raise InvalidPipeline(
            f"param {key} must be a {type(declared).__name__} like {declared!r}, got {raw!r}"
        ) from None
    return raw


def check_code(folder: Path) -> ast.Module:
    """Parse ``main.py`` and check it defines ``run(ctx)``; errors name file:line."""
    path = Path(folder) / "main.py"
    if not path.exists():
        raise InvalidPipeline(f"{folder} has no main.py defining run(ctx)")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise InvalidPipeline(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except UnicodeDecodeError:
        raise InvalidPipeline(f"{path}: not UTF-8 text") from None
    runs = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "run"
    ]
    if not runs:
        raise InvalidPipeline(f"{path}: no top-level function run(ctx)")
    args = runs[0].args
    if len(args.posonlyargs) + len(args.args) != 1 or args.vararg or args.kwonlyargs:
        raise InvalidPipeline(f"{path}:{runs[0].lineno}: run must take exactly one argument, ctx")
    return tree


def take_snapshot(folder: Path) -> Snapshot:
    """The files that make up a pipeline version, and what was left out (with why).

    Paths are judged relative to ``folder``, so where the folder lives (a dot-folder such
    as ``~/.local/share``, a path with spaces) never changes what is taken.
    """
    folder = Path(folder)
    files: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        left_out = next((p for p in rel.parts if p in SKIP_DIRS or p.startswith(".")), None)
        if left_out is not None:
            top = Path(*rel.parts[: rel.parts.index(left_out) + 1])
            if top.as_posix() not in skipped:
                kind = "cache" if left_out in SKIP_DIRS else "hidden"
                what = "folder" if (folder / top).is_dir() else "file"
                skipped[top.as_posix()] = f"{kind} {what}"
            continue
        if path.is_symlink():
            raise InvalidPipeline(f"{path}: symbolic links are not allowed in a pipeline")
        if path.is_dir():
            continue
        if not path.is_file() or path.suffix not in INCLUDE:
            skipped[rel.as_posix()] = f"not a pipeline file type ({path.suffix or 'no suffix'})"
            continue
        if path.stat().st_size > MAX_FILE:
            raise InvalidPipeline(f"{path}: larger than {MAX_FILE // 1000} kB; data does not "
                                  "belong in a pipeline folder")  # fmt: skip
        files[rel.as_posix()] = path.read_bytes()
    return Snapshot(files, skipped)


def snapshot_files(folder: Path) -> dict[str, bytes]:
    """The files that make up a pipeline version (relative path -> bytes), sorted."""
    return take_snapshot(folder).files


def version_id(files: dict[str, bytes]) -> str:
    """Content hash of a snapshot: SHA-256 over (path, length, bytes) of each file, sorted."""
    h = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
