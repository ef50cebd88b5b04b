"""Settings: environment overrides, derived defaults, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import ConfigError
from hub.settings import Settings, get_settings


def test_defaults_derive_from_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTLAB_HOME", str(tmp_path / "h"))
    s = Settings()
    assert s.metadata_url == f"sqlite:///{tmp_path / 'h' / 'trustlab.db'}"
    assert s.zone("samples") == str(tmp_path / "h" / "lake" / "samples")
    assert s.ledger_key == tmp_path / "h" / "keys" / "ledger-ed25519.pem"


def test_environment_overrides_and_describe_hides_passwords(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTLAB_DATABASE_URL", "postgresql+psycopg://u:hunter2@db/x")
    monkeypatch.setenv("TRUSTLAB_LAKE_ROOT", "s3a://bucket/lake")
    s = Settings()
    assert s.zone("raw") == "s3a://bucket/lake/raw"
    described = {env: (value, source) for env, value, source, _ in s.describe()}
    assert "hunter2" not in described["TRUSTLAB_DATABASE_URL"][0]
    assert described["TRUSTLAB_LAKE_ROOT"] == ("s3a://bucket/lake", "environment")
    assert all(help_ for *_, help_ in s.describe())  # every setting is documented


def test_invalid_setting_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTLAB_HASH_ALGORITHM", "md5")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="TRUSTLAB_HASH_ALGORITHM"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_settings_reference_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
    assert doc.read_text() == Settings.reference_markdown(), (
        "docs/settings.md is stale: run `trustlab config --format markdown > docs/settings.md`"
    )


def test_environment_gives_every_value_back_to_a_child_process(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from hub.settings import Settings

    original = Settings(home=tmp_path, source_roots=[Path("/srv/ingest")],
                        source_hosts=["db.internal"], spark_conf={"spark.x": "1"},
                        scanner_severity={"LAND002": "high"}, hub_port=18123)  # fmt: skip
    for key in list(__import__("os").environ):
        if key.startswith("TRUSTLAB_"):
            monkeypatch.delenv(key)
    for key, value in original.environment().items():
        monkeypatch.setenv(key, value)
    again = Settings()
    for name in Settings.model_fields:
        assert getattr(again, name) == getattr(original, name), name
