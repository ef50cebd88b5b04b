"""Run a pipeline folder: load the manifest and code, give ``run`` a ``ctx``, land outputs.

The same function serves a developer's run on samples (``trustlab pipeline run --env dev``,
``pipelines.dev.run`` in a notebook), the dry run in the runner container, and — later —
production; what differs is the reader (samples or real inputs) and the output folder.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import sys
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import TrustlabError
from pipelines.ctx import Context
from pipelines.manifest import Manifest, check_code, load_manifest


class PipelineFailed(TrustlabError):
    """The pipeline's own code raised; the message points at its file and line."""

    exit_code = 1


@dataclass
class RunResult:
    manifest: Manifest
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    frames: dict[str, Any] = field(default_factory=dict)  # output name -> DataFrame written
    reads: dict[str, Any] = field(default_factory=dict)  # input name -> DataFrame read


def load_run(folder: Path) -> Callable[[Any], Any]:
    """Import ``main.py`` from ``folder`` under a private module name; return its ``run``."""
    check_code(folder)
    name = f"trustlab_pipeline_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, Path(folder) / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(folder).resolve()))  # helper modules next to main.py
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise PipelineFailed(f"importing main.py failed: {_where(exc, folder)}") from exc
    finally:
        sys.path.remove(str(Path(folder).resolve()))
    return module.run


def run_pipeline(
    folder: Path,
    spark: Any,
    reader: Callable[[str], tuple[Any, dict[str, Any]]],
    out_dir: Path,
    log: logging.Logger | None = None,
    params: dict[str, Any] | None = None,
) -> RunResult:
    """Run the pipeline in ``folder``; each output lands as Parquet under ``out_dir/<name>``.

    ``reader(name)`` returns ``(DataFrame, facts)`` where facts say which version was read;
    ``params`` (production: the manifest's with trigger-time switches) replace the
    manifest's.
    """
    manifest = load_manifest(folder)
    if params is not None:
        manifest = dataclasses.replace(manifest, params=params)
    run = load_run(folder)
    result = RunResult(manifest)

    def read(name: str) -> Any:
        df, facts = reader(name)
        result.inputs[name] = facts
        return df

    def write(name: str, df: Any) -> None:
        target = Path(out_dir) / name
        df.write.mode("overwrite").parquet(str(target))
        result.frames[name] = df
        result.outputs[name] = {
            "path": str(target),
            "rows": _count_rows(spark, target),
            "columns": [{"name": f.name, "type": f.dataType.simpleString()} for f in df.schema],
        }

    ctx = Context(manifest, spark, read, write, log)
    try:
        run(ctx)
    except TrustlabError:
        raise
    except Exception as exc:
        raise PipelineFailed(f"run(ctx) failed: {_where(exc, folder)}") from exc
    if ctx.missing_outputs:
        raise PipelineFailed(
            f"run(ctx) finished without writing {', '.join(ctx.missing_outputs)}; call "
            "ctx.write(name, df) for every declared output"
        )
    result.reads = dict(ctx.reads)
    return result


def _count_rows(spark: Any, target: Path) -> int:
    """Rows written: the Parquet footers say it for a local folder (no Spark job, so the
    run's input metrics count only what the pipeline read); a Spark count elsewhere."""
    if target.is_dir():
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(target.rglob("*.parquet")))
    return int(spark.read.parquet(str(target)).count())


def _where(exc: BaseException, folder: Path) -> str:
    """``main.py:12: KeyError: 'x'`` — the innermost frame inside the pipeline folder."""
    root = str(Path(folder).resolve())
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(root)]
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{Path(exc.filename).name}:{exc.lineno}: {exc.msg}"
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(exc).__name__}: {exc}"


def sample_reader(spark: Any, platform: Any = None) -> Callable[[str], tuple[Any, dict]]:
    """Inputs as their latest published samples (manifest inside a sandbox, else catalog)."""
    from sandbox.runtime import resolver

    res = resolver(platform)

    def read(name: str) -> tuple[Any, dict[str, Any]]:
        sample = res.resolve(name)
        facts = {"sample": True, "version": sample.version, "hash": sample.content_hash}
        return spark.read.parquet(sample.path), facts

    return read
