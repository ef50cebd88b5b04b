"""Every product is checked for unmasked PII, whatever its manifest says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.manifest import InvalidPipeline, load_manifest
from pipelines.quality import validate


def test_a_product_with_an_identifier_or_a_name_fails_even_without_expectations() -> None:
    clean = pd.DataFrame({"district": ["西湖区", "滨江区"], "n": [12, 30]})
    assert validate(clean, "ok", {})["success"] is True
    leaky_id = pd.DataFrame({"district": ["西湖区"], "note": ["证件11010519491231002X"]})
    assert validate(leaky_id, "ids", {})["success"] is False
    leaky_name = pd.DataFrame({"district": ["西湖区"], "note": ["昨天下午邹晓彤在小区门口摔倒"]})
    assert validate(leaky_name, "names", {})["success"] is False


def test_the_manifest_cannot_turn_the_check_off(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("def run(ctx):\n    pass\n")
    (tmp_path / "pipeline.toml").write_text(
        'name = "p"\ninputs = ["people"]\noutputs = ["out"]\n'
        "[expectations.out]\nno_unmasked_pii = false\n"
    )
    with pytest.raises(InvalidPipeline, match="cannot be turned off"):
        load_manifest(tmp_path)
