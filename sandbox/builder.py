"""Build desensitized samples: sample on Spark, mask with built-ins, gate, publish atomically.

A build reads the dataset's *current registered version* (re-hashed first, so the ledger
never links a sample to data it was not built from), samples it, masks every column
under the dataset's masking policy, measures k-anonymity over the quasi-identifiers
(suppressing small classes on request), writes Parquet to a staging folder, runs the leak
gate on what was written, and only then moves it into place and records it: a catalog
version of the sample dataset ``<name>.sample``, a ``SampleBuild`` row and one ledger
entry — all in one transaction. A failed gate leaves nothing published (the rejection is
recorded as what it is).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.catalog import Catalog
from hub.errors import InvalidState, NotFound, TrustlabError
from hub.models import Dataset, DatasetVersion
from hub.platform import Platform
from hub.sources import ParquetSource
from sandbox.gate import GateReport, run_gate
from sandbox.masking import MaskingRule
from sandbox.models import SampleBuild
from sandbox.policy import Policies, PolicyVersion, check_rules, masking_context
from sandbox.spark import read_dataset, spark_session
from sandbox.synthetic import synthesize, synthetic_rules
from sandbox.textpii.known import known_values

STRATEGIES = ("random", "stratified")


class LeakDetected(TrustlabError):
    """The leak gate failed: the sample was not published. Exit status 1 (a failed check)."""

    exit_code = 1

    def __init__(self, message: str, report: GateReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class BuildRequest:
    dataset: str
    rows: int | None = None  # None: the ``sample_rows`` setting
    all_rows: bool = False  # mask every row (no sampling)
    strategy: str = "random"
    by: str | None = None
    seed: int = 7
    out: Path | None = None  # export here instead of publishing to the samples zone
    min_k: int | None = None
    synthetic: bool = False  # generate rows (sandbox.synthetic) instead of masking real ones


@dataclass
class BuildResult:
    status: str
    dataset: str
    sample_dataset: str | None
    version: int | None
    content_hash: str
    location: str
    rows: int
    source_rows: int
    k_anonymity: int | None
    quasi_identifiers: list[str]
    suppressed_rows: int
    policy_version: int
    policy_created: bool
    gate: GateReport
    rules: dict[str, str] = field(default_factory=dict)
    columns: list[str] = field(default_factory=list)
    mode: str = "masked"  # masked | synthetic


def sample_name(dataset: str) -> str:
    return f"{dataset}.sample"


def _noop(_: str) -> None:
    return None


class SampleBuilder:
    """Builds samples; ``actor`` is who asked (the authenticated caller), in the ledger."""

    def __init__(
        self, platform: Platform, step: Callable[[str], None] = _noop, actor: str | None = None
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.catalog = Catalog(platform, actor)
        self._actor = self.catalog._actor
        self.step = step

    # -- checks before any work ---------------------------------------------------------
    def _check_request(self, req: BuildRequest, info: dict[str, Any]) -> None:
        columns = [c["name"] for c in info["columns"]]
        if req.strategy not in STRATEGIES:
            raise TrustlabError(f"unknown strategy {req.strategy!r}; use random or stratified")
        if req.strategy == "stratified" and not req.by:
            raise TrustlabError("--strategy stratified needs --by COLUMN")
        if req.by and req.by not in columns:
            raise TrustlabError(
                f"no column {req.by!r} to stratify by; columns: {', '.join(columns)}"
            )
        if req.rows is not None and req.rows < 1:
            raise TrustlabError("--rows must be at least 1")
        floor = self.settings.sample_min_k
        if req.min_k is not None and req.min_k < floor:
            raise TrustlabError(
                f"--min-k {req.min_k} is below the platform's k-anonymity floor of {floor} "
                "(setting sample_min_k); ask for that or more"
            )
        if info["kind"] == "sample":
            raise InvalidState(f"{info['name']!r} is already a sample; build from its source")
        if req.out is not None and req.out.exists() and any(req.out.iterdir()):
            raise TrustlabError(f"--out {req.out} is not empty; choose a new or empty folder")

    def _check_free_text(self, source: Any, rules: dict[str, MaskingRule]) -> None:
        """Refuse, before any work, a free-text column with cells too long to mask."""
        from pyspark.sql import functions as F

        columns = [c for c, r in rules.items() if r.name == "free_text_redact"]
        if not columns:
            return
        limit = self.settings.free_text_max_chars
        longest = source.agg(
            *[F.max(F.length(F.col(f"`{c}`").cast("string"))).alias(c) for c in columns]
        ).collect()[0]
        for c in columns:
            if (longest[c] or 0) > limit:
                raise TrustlabError(
                    f"column {c!r} holds cells of {longest[c]:,} characters; the free-text "
                    f"masker takes at most {limit:,} (setting free_text_max_chars): redact or "
                    "drop the column, or raise the setting; nothing was published"
                )

    def _check_suppression(self, suppressed: int, rows: int, min_k: int, qis: list[str]) -> None:
        share = self.settings.sample_max_suppressed
        if rows and suppressed > share * rows:
            raise TrustlabError(
                f"k-anonymity k={min_k} over {', '.join(qis)} would suppress {suppressed:,} of "
                f"{rows:,} rows (more than {share:.0%}); generalize a quasi-identifier (e.g. "
                "`trustlab sample policy set DATASET --column COL --rule date_generalize "
                "--param to=decade`), drop one, or sample more rows; nothing was published"
            )

    # -- the build ---------------------------------------------------------------------
    def build(self, req: BuildRequest) -> BuildResult:
        info = self.catalog.show(req.dataset)
        self._check_request(req, info)
        info = self.catalog.require_confirmed(req.dataset)
        policies = Policies(self.platform, self.catalog.actor)
        spec = policies.draft(req.dataset)  # written as version 1 only once the checks pass
        context = masking_context(self.platform)
        floor = self.settings.masking_floor
        rules = check_rules(info, spec, context, floor)

        self.step("verifying the source is the registered version")
        version = self.catalog.check_unchanged(req.dataset)
        spark = spark_session(self.settings)
        self.step("reading the source")
        source = read_dataset(spark, info, self.catalog.registration(req.dataset), self.settings)
        total = source.count()
        wanted = None if req.all_rows else (req.rows or self.settings.sample_rows)
        if req.synthetic:
            if total == 0:
                raise TrustlabError(
                    f"{req.dataset!r} has no rows: a synthetic sample learns its formats and "
                    "distributions from the data; register a version with rows first"
                )
            self.step("generating synthetic rows")
            masked = synthesize(spark, source, info, wanted or total, req.seed,
                                self.settings.sample_min_k)  # fmt: skip
            rules = synthetic_rules(info, context)
        else:
            self._check_free_text(source, rules)
            if any(r.name == "free_text_redact" for r in rules.values()):
                self.step("collecting the dataset's own PII values for free text")
                known = known_values(source, info, self.settings.known_values_max)
                rules = check_rules(info, spec, replace(context, known_values=known), floor)
            if wanted is not None and wanted > total:
                raise TrustlabError(
                    f"{req.dataset!r} has {total:,} rows, fewer than --rows {wanted:,}; ask for "
                    "at most that many, or use --all to mask every row"
                )
            self.step("sampling")
            masked = _mask(_sample(source, req, wanted, total), rules)
        policy, created = policies.ensure(req.dataset)

        staging = Path(self.settings.zone("samples")) / ".staging" / uuid.uuid4().hex
        try:
            self.step("masking and writing")
            masked.write.parquet(str(staging / "data"))
            written = spark.read.parquet(str(staging / "data"))
            # Synthetic rows belong to no one: there is no class of real people to protect.
            qis = [c["name"] for c in info["columns"] if c["quasi_identifier"]]
            qis = [c for c in qis if c in written.columns and not req.synthetic]
            self.step("measuring k-anonymity")
            min_k = req.min_k or self.settings.sample_min_k
            k, suppressed, final = _k_anonymity(written, qis, min_k)
            self._check_suppression(suppressed, written.count(), min_k, qis)
            data_dir = staging / "data"
            if suppressed:
                final.write.parquet(str(staging / "suppressed"))
                data_dir = staging / "suppressed"
            normalize_parquet_folder(data_dir)
            self.step("running the leak gate")
            report = run_gate(
                spark,
                spark.read.parquet(str(data_dir)),
                source,
                info,
                rules,
                self.settings.hash_algorithm,
                synthetic=req.synthetic,
            )
            rows = spark.read.parquet(str(data_dir)).count()
            result_args = {
                "dataset": req.dataset,
                "source_rows": total,
                "rows": rows,
                "k_anonymity": k,
                "quasi_identifiers": qis,
                "suppressed_rows": suppressed,
                "policy_version": policy.version,
                "policy_created": created,
                "gate": report,
                "rules": {c: r.label for c, r in rules.items()},
                "columns": list(written.columns),
                "mode": "synthetic" if req.synthetic else "masked",
            }
            if not report.passed:
                self._record_rejection(req, version, policy, report, result_args)
                raise LeakDetected(
                    f"leak gate failed for a sample of {req.dataset!r}: {report.summary()}; "
                    "nothing was published",
                    report,
                )
            self.step("publishing")
            return self._publish(req, info, version, policy, data_dir, result_args)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            for rule in rules.values():
                rule.release()

    # -- recording ---------------------------------------------------------------------
    def _build_row(
        self,
        session: Any,
        req: BuildRequest,
        version: dict[str, Any],
        policy: PolicyVersion,
        report: GateReport,
        args: dict[str, Any],
        status: str,
    ) -> SampleBuild:
        ds = session.scalars(select(Dataset).where(Dataset.name == req.dataset)).one()
        version_id = session.scalars(
            select(DatasetVersion.id).where(
                DatasetVersion.dataset_id == ds.id, DatasetVersion.number == version["number"]
            )
        ).one()
        row = SampleBuild(
            dataset_id=ds.id,
            dataset_version_id=version_id,
            policy_id=policy.id,
            status=status,
            strategy="synthetic" if req.synthetic else ("all" if req.all_rows else req.strategy),
            stratify_by=req.by,
            seed=req.seed,
            rows_requested=None if req.all_rows else (req.rows or self.settings.sample_rows),
            rows_written=args["rows"],
            k_anonymity=args["k_anonymity"],
            min_k=req.min_k or self.settings.sample_min_k,
            suppressed_rows=args["suppressed_rows"],
            gate_passed=report.passed,
            gate_result=json.dumps(report.to_json(), ensure_ascii=False),
            created_by=self._actor(),
        )
        session.add(row)
        session.flush()
        return row

    def _ledger_payload(
        self, req: BuildRequest, version: dict[str, Any], policy: PolicyVersion, args: dict
    ) -> dict[str, Any]:
        return {
            "dataset_version": version["number"],
            "dataset_hash": version["content_hash"],
            "policy_version": policy.version,
            "policy_hash": policy.policy_hash,
            "strategy": "all" if req.all_rows else req.strategy,
            "mode": args["mode"],
            "stratify_by": req.by,
            "seed": req.seed,
            "rows": args["rows"],
            "k_anonymity": args["k_anonymity"],
            "quasi_identifiers": args["quasi_identifiers"],
            "suppressed_rows": args["suppressed_rows"],
            "gate": args["gate"].summary_json(),
        }

    def _record_rejection(
        self,
        req: BuildRequest,
        version: dict[str, Any],
        policy: PolicyVersion,
        report: GateReport,
        args: dict[str, Any],
    ) -> None:
        with self.platform.db.session() as session:
            build = self._build_row(session, req, version, policy, report, args, "rejected")
            self.platform.ledger.append(
                session,
                self._actor(),
                "sample.reject",
                f"dataset:{req.dataset}",
                {"build": build.id, **self._ledger_payload(req, version, policy, args)},
            )

    def _publish(
        self,
        req: BuildRequest,
        info: dict[str, Any],
        version: dict[str, Any],
        policy: PolicyVersion,
        data_dir: Path,
        args: dict[str, Any],
    ) -> BuildResult:
        fingerprint = ParquetSource(data_dir).fingerprint(self.settings.hash_algorithm)
        content_hash = fingerprint.content_hash
        if req.out is not None:
            final = req.out
        else:
            final = Path(self.settings.zone("samples")) / req.dataset / content_hash[:16]
        final.parent.mkdir(parents=True, exist_ok=True)
        moved = False
        if not final.exists() or (final.is_dir() and not any(final.iterdir())):
            if final.exists():
                final.rmdir()
            data_dir.rename(final)  # atomic on one filesystem
            moved = True
        gate_file = final / "_trustlab" / "gate.json"
        try:
            gate_file.parent.mkdir(exist_ok=True)
            gate_file.write_text(json.dumps(args["gate"].to_json(), ensure_ascii=False, indent=2))
            with self.platform.db.session() as session:
                status = "exported" if req.out is not None else "published"
                build = self._build_row(session, req, version, policy, args["gate"], args, status)
                build.content_hash = content_hash
                build.output = str(final)
                payload = {
                    "build": build.id,
                    **self._ledger_payload(req, version, policy, args),
                    "sample_hash": content_hash,
                }
                sample_ds: str | None = None
                number: int | None = None
                if req.out is None:
                    sample_ds, number = self._register_version(
                        session, info, final, content_hash, fingerprint, args
                    )
                    build.sample_version_id = session.scalars(
                        select(DatasetVersion.id)
                        .join(Dataset)
                        .where(Dataset.name == sample_ds, DatasetVersion.number == number)
                    ).one()
                    payload.update(sample_dataset=sample_ds, sample_version=number)
                    action = "sample.publish"
                else:
                    payload.update(output=str(final))
                    action = "sample.export"
                self.platform.ledger.append(
                    session, self._actor(), action, f"dataset:{req.dataset}", payload
                )
        except BaseException:
            if moved:
                shutil.rmtree(final, ignore_errors=True)
            raise
        return BuildResult(
            status=status,
            sample_dataset=sample_ds,
            version=number,
            content_hash=content_hash,
            location=str(final),
            **args,
        )

    def _register_version(
        self,
        session: Any,
        info: dict[str, Any],
        final: Path,
        content_hash: str,
        fingerprint: Any,
        args: dict[str, Any],
    ) -> tuple[str, int]:
        """Add the sample as a new version of ``<name>.sample`` (created on first build)."""
        from hub.derived import DerivedColumn, DerivedVersion, add_derived_version

        name = sample_name(info["name"])
        rules = args["rules"]
        kept = [c for c in info["columns"] if c["name"] in args["columns"]]
        version = DerivedVersion(
            content_hash=content_hash, hash_algorithm=self.settings.hash_algorithm,
            location=str(final), rows=args["rows"], size_bytes=fingerprint.size_bytes,
            columns=[DerivedColumn(c["name"], c["type"], c["pii"], int(c["level"][1:]),
                                   c["quasi_identifier"],
                                   "synthetic" if args["mode"] == "synthetic"
                                   else f"masked by {rules[c['name']]}")
                     for c in kept],
        )  # fmt: skip
        actor = self._actor()
        number = add_derived_version(
            session, name, "sample", info["owner"], version, actor, actor, sample_of=info["name"]
        )
        return name, number


# --- Spark steps ------------------------------------------------------------------------


def _sample(df: Any, req: BuildRequest, wanted: int | None, total: int) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if wanted is None or wanted >= total:
        return df
    if req.strategy == "random":
        # orderBy + limit plans as a per-partition top-k, not a full sort.
        return df.orderBy(F.rand(req.seed)).limit(wanted)
    by = req.by
    counts = {r[by]: r["count"] for r in df.groupBy(by).count().collect()}
    quotas = _allocate(counts, wanted)
    spark = df.sparkSession
    quota_df = spark.createDataFrame(
        [(k, v) for k, v in quotas.items()],
        schema=f"`{by}` {df.schema[by].dataType.simpleString()}, _q long",
    )
    ranked = df.withColumn(
        "_rn", F.row_number().over(Window.partitionBy(by).orderBy(F.rand(req.seed)))
    )
    joined = ranked.join(
        F.broadcast(quota_df.withColumnRenamed(by, "_k")), ranked[by].eqNullSafe(F.col("_k"))
    )
    return joined.filter(F.col("_rn") <= F.col("_q")).drop("_rn", "_q", "_k")


def _allocate(counts: dict[Any, int], wanted: int) -> dict[Any, int]:
    """Proportional allocation with largest remainders; never more than a stratum holds."""
    total = sum(counts.values())
    exact = {k: wanted * c / total for k, c in counts.items()}
    quotas = {k: min(counts[k], int(v)) for k, v in exact.items()}
    order = sorted(counts, key=lambda k: (exact[k] - int(exact[k]), counts[k]), reverse=True)
    short = wanted - sum(quotas.values())
    while short > 0:
        progressed = False
        for k in order:
            if short and quotas[k] < counts[k]:
                quotas[k] += 1
                short -= 1
                progressed = True
        if not progressed:
            break
    return quotas


def _mask(df: Any, rules: dict[str, MaskingRule]) -> Any:
    from pyspark.sql import functions as F

    columns = []
    for field_ in df.schema.fields:
        rule = rules[field_.name]
        if rule.name == "drop":
            continue
        columns.append(rule.spark(F.col(f"`{field_.name}`"), field_.dataType).alias(field_.name))
    return df.select(*columns)


def _k_anonymity(df: Any, qis: list[str], min_k: int | None) -> tuple[int | None, int, Any]:
    """(k, rows suppressed, frame): k is the smallest equivalence class over ``qis``."""
    from pyspark.sql import functions as F

    if not qis:
        return None, 0, df
    classes = df.groupBy(*qis).agg(F.count(F.lit(1)).alias("_n"))
    stats = classes.agg(F.min("_n").alias("k")).collect()[0]
    k = stats["k"]
    if min_k is None or k is None or k >= min_k:
        return k, 0, df
    small = classes.filter(F.col("_n") < min_k)
    cond = [df[c].eqNullSafe(small[c]) for c in qis]
    kept = df.join(F.broadcast(small), cond, "left_anti")
    suppressed = small.agg(F.sum("_n")).collect()[0][0] or 0
    new_k = kept.groupBy(*qis).count().agg(F.min("count")).collect()[0][0]
    return new_k, int(suppressed), kept


def normalize_parquet_folder(folder: Path) -> None:
    """Keep only data files, renamed part-00000.parquet…, so the content hash is repeatable."""
    for extra in folder.iterdir():
        if extra.name.startswith((".", "_")):
            extra.unlink()
    for i, part in enumerate(sorted(folder.glob("*.parquet"))):
        part.rename(folder / f"part-{i:05d}.parquet")


def latest_sample(platform: Platform, dataset: str) -> dict[str, Any]:
    """Catalog info of the newest published sample of ``dataset`` (or of ``dataset.sample``)."""
    catalog = Catalog(platform)
    name = dataset if dataset.endswith(".sample") else sample_name(dataset)
    try:
        info = catalog.show(name)
    except NotFound:
        raise NotFound(
            f"no published sample of {dataset!r}; build one with `trustlab sample build {dataset}`"
        ) from None
    if info["kind"] != "sample" or not info["versions"]:
        raise NotFound(f"{name!r} is not a published sample")
    return info
