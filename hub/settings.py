"""One typed settings object. Every field is overridable as ``TRUSTLAB_<FIELD>`` in the environment.

Embedded defaults live under ``TRUSTLAB_HOME`` (default ``./var``); each default has a
production counterpart selected by settings alone (see ``docs/scaling.md``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUSTLAB_", extra="ignore", frozen=True)

    home: Path = Field(
        Path("var"),
        description="State directory: metadata DB, lake, keys. Created on first use.",
    )
    database_url: str | None = Field(
        None,
        description="Metadata DB (SQLAlchemy URL). Default: SQLite at HOME/trustlab.db. "
        "Production: postgresql+psycopg://user:pass@host/db.",
    )
    lake_root: str | None = Field(
        None,
        description="Root of the data zones (raw, samples, products, serving). Default: "
        "HOME/lake. Production: an s3a:// or hdfs:// URI.",
    )
    hash_algorithm: Literal["sha256", "sm3"] = Field(
        "sha256",
        description="Hash for dataset versions and the ledger: sha256 or sm3 (GB/T 32905). "
        "Fixed when the ledger is created; changing it later is refused.",
    )
    ledger_key_path: Path | None = Field(
        None,
        description="Ed25519 private key (PEM) that signs ledger checkpoints. Default: "
        "HOME/keys/ledger-ed25519.pem, generated on first use (mode 0600).",
    )
    ledger_checkpoint_interval: int = Field(
        100,
        ge=1,
        description="Write a signed Merkle checkpoint after this many new ledger entries.",
    )
    ledger_checkpoint_minutes: float = Field(
        5.0,
        gt=0,
        description="While the hub runs, sign a checkpoint this often when entries are "
        "uncovered (approvals, deployments and published runs are signed at once).",
    )
    source_roots: list[Path] = Field(
        default_factory=list,
        description="Folders whose files the platform API may register as sources (a "
        "person asks, the platform host reads). Always allowed: the raw zone and "
        "HOME/ingest.",
    )
    source_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"],
        description="Database hosts SQL sources may be registered from (the platform "
        "connects to them on a person's request).",
    )
    upload_max_mb: int = Field(
        2048,
        ge=1,
        description="Largest source file a person may upload from the console (MiB); "
        "uploads land in HOME/ingest/uploads.",
    )
    probe_rows: int = Field(
        2000,
        ge=10,
        le=1_000_000,
        description="Rows read from a source to infer its schema and propose a "
        "classification (a bounded sample, never the whole table).",
    )
    classifier: str = Field(
        "pii",
        description="Column classifier (entry point name in group trustlab.classifiers).",
    )
    spark_master: str = Field(
        "local[*]",
        description="Spark master for samples and runs: local[*] (embedded) or a cluster URL "
        "such as spark://host:7077.",
    )
    spark_driver_memory: str = Field("2g", description="spark.driver.memory for trustlab jobs.")
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='Extra Spark properties as JSON, e.g. {"spark.executor.memory": "4g"}.',
    )
    masking_key_path: Path | None = Field(
        None,
        description="Secret (32 random bytes) keying pseudonyms and per-record offsets. "
        "Default: HOME/keys/masking.key, generated on first use (mode 0600).",
    )
    sample_rows: int = Field(
        10_000, ge=1, description="Rows in a sample when `trustlab sample build` gets no --rows."
    )
    sample_min_k: int = Field(
        5,
        ge=2,
        description="k-anonymity every sample meets over its quasi-identifiers (smaller "
        "classes are suppressed); a build may ask for more with --min-k, never less.",
    )
    sample_max_suppressed: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Largest share of a sample's rows k-anonymity may suppress; a build "
        "that would suppress more is refused (generalize a quasi-identifier instead).",
    )
    free_text_max_chars: int = Field(
        65_536,
        ge=1,
        description="Longest cell the free-text masker takes; a build over a column with "
        "longer cells is refused (redact or drop that column, or raise this).",
    )
    known_values_max: int = Field(
        2_000_000,
        ge=0,
        description="Most distinct PII column values a build hunts for in free text.",
    )
    masking_floor: dict[str, dict[str, int]] = Field(
        default_factory=lambda: {
            "id_card": {"head": 6, "tail": 4},
            "mobile": {"head": 3, "tail": 4},
            "bank_card": {"head": 6, "tail": 4},
            "name": {"head": 2, "tail": 0},
            "email": {"head": 1, "tail": 0},
            "plate": {"head": 2, "tail": 0},
            "free_text": {"names": 1},
        },
        description="Most a rule may leave visible per PII type, as characters kept at the "
        'start (head) and end (tail), as JSON, e.g. {"id_card": {"head": 6, "tail": 4}}; '
        '"free_text": {"names": 1} requires name finding in free text. A policy revealing '
        "more is refused.",
    )
    demo_rows: int = Field(100_000, ge=1, description="Rows of the demo population.")
    demo_seed: int = Field(7, description="Seed of the demo population.")

    # --- sandboxes and the hub ---------------------------------------------------------------
    image_base: str | None = Field(
        None,
        description="Base image to build FROM (e.g. debian:bookworm-slim from a registry); "
        "unset = bootstrap Debian locally with debootstrap.",
    )
    debian_suite: str = Field("bookworm", description="Debian suite of the local base image.")
    debian_mirror: str = Field(
        "http://deb.debian.org/debian", description="Mirror debootstrap and apt use."
    )
    timezone: str = Field(
        "Asia/Shanghai",
        description="The platform's time zone (IANA name): where a contract's day starts "
        "for its daily limits, and the working hours of the risk monitor.",
    )
    contract_request_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Validity of a contract asked for with `trustlab contract request` "
        "(imported contracts carry their own dates).",
    )
    sandbox_downloads: bool = Field(
        False,
        description="Let sandboxes hand files to the browser (JupyterLab's Download, "
        "nbconvert export). Off: refused and ledgered; on: each download ledgered with its "
        "path, size and hash. Uploads are always ledgered.",
    )
    monitor_interval: float = Field(
        15.0,
        ge=1,
        le=60,
        description="Seconds between the contract monitor's ticks (expiry, sandbox stops, "
        "deployment pauses, risk rules); at most 60, so a lapse takes effect within a minute.",
    )
    risk_rules: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Risk rule settings over their defaults, as JSON: {"rule": {"key": value, '
        '"enabled": false}} (rules: docs/contracts.md).',
    )
    sandbox_image: str = Field("trustlab-sandbox:latest", description="Notebook sandbox image.")
    runner_image: str = Field("trustlab-runner:latest", description="Pipeline runner image.")
    hub_ip: str = Field("127.0.0.1", description="Address the hub's proxy listens on.")
    hub_port: int = Field(8000, description="Port of the hub's public proxy.")
    hub_api_port: int = Field(
        8081, description="Port of the hub API on the sandbox network's gateway."
    )
    audit_port: int = Field(
        8101, description="Port of the cell-audit service on the sandbox network's gateway."
    )
    hub_db_url: str | None = Field(
        None, description="JupyterHub's own database URL (default: SQLite under home/hub)."
    )
    console_port: int = Field(8100, description="Port of the console (a hub service) on 127.0.0.1.")
    api_port: int = Field(
        8110,
        description="Port of the platform API (a hub service) on 127.0.0.1 and on the sandbox "
        "network's gateway.",
    )
    proxy_api_port: int = Field(8001, description="configurable-http-proxy's API port (loopback).")
    sandbox_network: str = Field(
        "trustlab-sandbox", description="Docker network sandboxes join (internal, no ICC)."
    )
    sandbox_subnet: str = Field(
        "172.29.240.0/24",
        description="Subnet of the sandbox network; its first address is the hub's gateway.",
    )
    sandbox_mem_limit: str = Field("2G", description="Memory limit of one sandbox.")
    sandbox_cpu_limit: float = Field(1.0, gt=0, description="CPU limit of one sandbox (cores).")
    sandbox_pids_limit: int = Field(512, ge=16, description="Process limit of one sandbox.")
    sandbox_tmp_size: str = Field("1g", description="Size of a sandbox's /tmp (tmpfs).")
    scanner_severity: dict[str, str] = Field(
        default_factory=dict,
        description="Pipeline scanner rule severities overriding the defaults, e.g. "
        '{"LAND002": "high"}; a change is ledgered at the next scan.',
    )
    sandbox_idle_timeout: int = Field(
        3600, ge=60, description="Seconds before an idle sandbox is culled."
    )

    # --- production: Airflow runs approved pipelines --------------------------------------
    airflow_port: int = Field(
        8300, description="Port of Airflow's api-server (UI + REST) on 127.0.0.1."
    )
    airflow_url: str | None = Field(
        None,
        description="Airflow's REST base URL. Default: http://127.0.0.1:AIRFLOW_PORT, the "
        "embedded Airflow `trustlab airflow start` runs.",
    )
    airflow_database_url: str | None = Field(
        None,
        description="Airflow's own metadata DB. Default: SQLite under HOME/airflow. "
        "Production: postgresql+psycopg2://user:pass@host/airflow.",
    )
    airflow_executor: str = Field(
        "LocalExecutor",
        description="Airflow executor: LocalExecutor (embedded), CeleryExecutor or "
        "KubernetesExecutor (see docs/scaling.md).",
    )
    airflow_parallelism: int = Field(4, ge=1, description="Task slots of the embedded Airflow.")
    production_runner: Literal["docker", "spark-submit"] = Field(
        "docker",
        description="How the `run` task executes a pipeline: docker (DockerOperator, runner "
        "image, local Spark inside) or spark-submit (SparkSubmitOperator to a cluster).",
    )
    production_spark_master: str = Field(
        "local[2]",
        description="Spark master of production runs: local[N] inside the runner container, "
        "or spark://host:7077 with PRODUCTION_RUNNER=spark-submit.",
    )
    runner_mem_limit: str = Field("4G", description="Memory limit of a production run container.")
    runner_cpu_limit: float = Field(2.0, gt=0, description="CPU limit of a run container (cores).")
    runner_driver_memory: str = Field("2g", description="spark.driver.memory of production runs.")
    production_retries: int = Field(
        2, ge=0, description="Retries of infrastructure failures (never of validation failures)."
    )
    production_retry_delay: int = Field(
        20, ge=1, description="Seconds before the first retry; doubles each time."
    )

    # --- API builder and gateway ------------------------------------------------------------
    serving_url: str | None = Field(
        None,
        description="Serving database the gateway reads (SQLAlchemy URL). Default: SQLite at "
        "HOME/serving/serving.db. Production: postgresql+psycopg://… or mysql+pymysql://….",
    )
    serving_readonly_url: str | None = Field(
        None,
        description="A SELECT-only login for the serving database, used by the gateway for "
        "every query (PostgreSQL/MariaDB; SQLite opens the file read-only). Default: "
        "provisioned by `trustlab api serve-product` from SERVING_URL's credentials.",
    )
    gateway_port: int = Field(8200, description="Port of the API gateway on 127.0.0.1.")
    gateway_redis_url: str | None = Field(
        None,
        description="Redis for quotas and rate limits shared by several gateway workers. "
        "Default: none (counted in the one gateway process).",
    )
    gateway_statement_timeout: float = Field(
        2.0, gt=0, le=60, description="Seconds a gateway query may run before it is cut off."
    )
    gateway_max_page: int = Field(
        1000, ge=1, le=100_000, description="Upper bound of any API's page size or row cap."
    )
    gateway_meter_flush: float = Field(
        1.0, gt=0, le=60, description="Seconds between the gateway's batched metering writes."
    )
    gateway_digest_interval: float = Field(
        300.0,
        ge=1,
        description="Seconds between signed digests of the metering log sent to the ledger.",
    )
    labelstudio_port: int = Field(
        8400, description="Port of the embedded Label Studio server on 127.0.0.1."
    )
    labelstudio_url: str | None = Field(
        None,
        description="Label Studio server trustlab labels on. Default: the embedded one "
        "`trustlab label server start` runs (its admin token in HOME/labelstudio). "
        "Production: a Label Studio of its own, its admin token in HOME/labelstudio/admin-token.",
    )
    labelstudio_database_url: str | None = Field(
        None,
        description="The embedded Label Studio's own database. Default: SQLite under "
        "HOME/labelstudio. Production: postgresql://user:pass@host:5432/labelstudio.",
    )
    media_root: Path | None = Field(
        None,
        description="The media zone: made-safe media datasets, served to Label Studio as "
        "local files (its LOCAL_FILES_DOCUMENT_ROOT must contain it). Default: HOME/media.",
    )
    labelstudio_document_root: Path | None = Field(
        None,
        description="Label Studio's LOCAL_FILES_DOCUMENT_ROOT (as this machine sees it), "
        "which must contain MEDIA_ROOT. Default: MEDIA_ROOT itself (the embedded server's).",
    )
    labelstudio_batch: int = Field(
        1000, ge=1, le=20_000, description="Tasks per Label Studio import request."
    )
    labeling_ml_host: str = Field(
        "127.0.0.77",
        description="Loopback address of trustlab's Label Studio ML backend (suggestions); "
        "the embedded Label Studio's SSRF guard lets ML connections reach this address only. "
        "Production: an address the Label Studio server reaches, exempted in its own guard.",
    )
    labeling_ml_port: int = Field(8401, description="Port of the suggestions service.")
    egress_allow: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) registered third-party APIs may reach although they are "
        "not public (e.g. a government intranet). Default: public addresses only.",
    )
    api_key_overlap_hours: float = Field(
        24.0,
        ge=0,
        le=720,
        description="Hours a rotated API key keeps working next to its successor.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # Derived locations -----------------------------------------------------------------
    @property
    def metadata_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'trustlab.db'}"

    @property
    def lake(self) -> str:
        return self.lake_root or str(self.home / "lake")

    @property
    def ledger_key(self) -> Path:
        return self.ledger_key_path or self.home / "keys" / "ledger-ed25519.pem"

    @property
    def masking_key(self) -> Path:
        return self.masking_key_path or self.home / "keys" / "masking.key"

    @property
    def serving(self) -> str:
        return self.serving_url or f"sqlite:///{self.home / 'serving' / 'serving.db'}"

    @property
    def media(self) -> Path:
        return self.media_root or self.home / "media"

    @property
    def labelstudio_base_url(self) -> str:
        return (self.labelstudio_url or f"http://127.0.0.1:{self.labelstudio_port}").rstrip("/")

    @property
    def airflow_base_url(self) -> str:
        return (self.airflow_url or f"http://127.0.0.1:{self.airflow_port}").rstrip("/")

    @property
    def airflow_db(self) -> str:
        return self.airflow_database_url or f"sqlite:///{self.home / 'airflow' / 'airflow.db'}"

    def zone(self, name: Literal["raw", "samples", "products", "serving"]) -> str:
        return f"{self.lake.rstrip('/')}/{name}"

    def environment(self) -> dict[str, str]:
        """Every set value as the ``TRUSTLAB_*`` variables that give it back to a child
        process (lists and dicts as JSON, which is how they are parsed)."""
        import json

        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or (isinstance(value, dict | list) and not value):
                continue
            if isinstance(value, dict | list):
                env[f"TRUSTLAB_{name.upper()}"] = json.dumps(value, default=str)
            else:
                env[f"TRUSTLAB_{name.upper()}"] = str(value)
        return env

    def describe(self) -> list[tuple[str, str, str, str]]:
        """(environment variable, value, source, description) for every setting."""
        rows = []
        for name, info in type(self).model_fields.items():
            env = f"TRUSTLAB_{name.upper()}"
            value = getattr(self, name)
            shown = _redact(name, value)
            if value is None:
                shown = f"(default) {_redact(name, self._derived(name))}"
            source = "environment" if env in os.environ else "default"
            rows.append((env, shown, source, info.description or ""))
        return rows

    @classmethod
    def reference_markdown(cls) -> str:
        """The settings reference (docs/settings.md): variable, default, description."""
        lines = [
            "# Settings",
            "",
            "Every setting is an environment variable; `trustlab config` prints the values in",
            "force and where each came from. This file is generated by",
            "`trustlab config --format markdown` (a test keeps it in sync).",
            "",
            "| variable | default | description |",
            "|---|---|---|",
        ]
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                default = "(computed)"
            elif info.default is None:
                default = "(derived)"
            else:
                default = f"`{info.default}`"
            lines.append(f"| `TRUSTLAB_{name.upper()}` | {default} | {info.description} |")
        return "\n".join(lines) + "\n"

    def _derived(self, name: str) -> object:
        return {
            "database_url": self.metadata_url,
            "lake_root": self.lake,
            "ledger_key_path": self.ledger_key,
            "airflow_url": self.airflow_base_url,
            "airflow_database_url": self.airflow_db,
            "masking_key_path": self.masking_key,
            "serving_url": self.serving,
            "labelstudio_url": self.labelstudio_base_url,
            "media_root": self.media,
        }.get(name)


def _redact(name: str, value: object) -> str:
    text = str(value)
    if name.endswith("url") and "@" in text and "://" in text:
        from sqlalchemy.engine import make_url

        try:
            return make_url(text).render_as_string(hide_password=True)
        except Exception:
            return "(unparseable URL hidden)"
    return text


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting TRUSTLAB_{field.upper()}: {first['msg']}; fix it or unset it "
            "(trustlab config lists every setting)"
        ) from None
