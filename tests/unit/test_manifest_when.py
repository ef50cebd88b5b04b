"""``[when]`` conditions and trigger-time switches of a pipeline manifest."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelines.manifest import InvalidPipeline, conditions_hold, load_manifest, switch_params

BASE = """
name = "p"
inputs = ["people"]
outputs = ["out"]

[params]
mode = "full"
min_group = 10
ratio = 0.5
strict = true
"""


def manifest(tmp_path: Path, extra: str) -> dict:
    (tmp_path / "pipeline.toml").write_text(textwrap.dedent(BASE + extra))
    return load_manifest(tmp_path).to_json()


def test_conditions_compare_params_with_a_value_or_a_list() -> None:
    assert conditions_hold({}, {"mode": "x"})
    assert conditions_hold({"mode": "full"}, {"mode": "full"})
    assert not conditions_hold({"mode": "full"}, {"mode": "incremental"})
    assert conditions_hold({"mode": ["full", "backfill"]}, {"mode": "backfill"})
    assert not conditions_hold({"mode": "full", "strict": True}, {"mode": "full", "strict": False})


def test_only_switches_can_be_set_and_take_the_declared_type(tmp_path: Path) -> None:
    m = manifest(tmp_path, '\n[when]\nmode = "full"\nstrict = true\n')
    assert m["when"] == {"mode": "full", "strict": True}
    assert switch_params(m, {}) == m["params"]
    assert switch_params(m, {"mode": "incremental", "strict": "false"}) == {
        "mode": "incremental", "min_group": 10, "ratio": 0.5, "strict": False}  # fmt: skip
    with pytest.raises(InvalidPipeline, match=r"min_group.*fixed by review.*mode, strict"):
        switch_params(m, {"min_group": "1"})  # reviewed privacy thresholds stay put
    with pytest.raises(InvalidPipeline, match="strict must be a bool"):
        switch_params(m, {"strict": "maybe"})


def test_numbers_are_parsed_as_the_declared_type(tmp_path: Path) -> None:
    m = manifest(tmp_path, "\n[when]\nmin_group = [10, 20]\nratio = 0.5\n")
    assert switch_params(m, {"min_group": "20", "ratio": "0.25"})["min_group"] == 20
    assert switch_params(m, {"ratio": "0.25"})["ratio"] == 0.25
    with pytest.raises(InvalidPipeline, match="min_group must be a int"):
        switch_params(m, {"min_group": "ten"})


def test_a_pipeline_without_when_has_no_switches(tmp_path: Path) -> None:
    m = manifest(tmp_path, "")
    with pytest.raises(InvalidPipeline, match=r"none \(this pipeline has no \[when\]\)"):
        switch_params(m, {"mode": "x"})
    with pytest.raises(InvalidPipeline, match="'region' is not a param of this pipeline"):
        switch_params(m, {"region": "east"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('\n[when]\nregion = "east"\n', "region is not a param"),
        ("\n[when]\nmode = []\n", "a value or a list of values"),
        ('\n[when]\nmode = { a = "b" }\n', "a value or a list of values"),
    ],
)
def test_bad_when_is_a_one_line_error(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(InvalidPipeline, match=message):
        manifest(tmp_path, extra)


def test_when_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "pipeline.toml").write_text(
        'name = "p"\ninputs = ["a"]\noutputs = ["b"]\nwhen = "mode"\n[params]\nmode = "x"\n'
    )
    with pytest.raises(InvalidPipeline, match=r"\[when\] must be a table"):
        load_manifest(tmp_path)
