"""Assignment (overlap, balance, blind gold) and agreement measures, checked against
values computed by hand or by an independent route."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import TrustlabError
from labeling import quality
from labeling.assign import assign
from labeling.formats import conll_lines, tokens
from labeling.templates import CHOICE, SHAPES, SPANS, TEMPLATES, TRANSCRIPT, config


@settings(max_examples=60, deadline=None)
@given(
    n_tasks=st.integers(1, 60),
    n_people=st.integers(1, 6),
    data=st.data(),
)
def test_every_task_reaches_overlap_distinct_people_and_loads_balance(n_tasks, n_people, data):
    overlap = data.draw(st.integers(1, n_people))
    tasks = [f"t{i}" for i in range(n_tasks)]
    people = [f"p{i}" for i in range(n_people)]
    queues = assign(tasks, people, overlap, [], 0.0, seed=data.draw(st.integers(0, 99)))
    seen = Counter(k for q in queues.values() for k in q)
    assert all(seen[t] == overlap for t in tasks)
    assert all(len(set(q)) == len(q) for q in queues.values())
    loads = [len(q) for q in queues.values()]
    assert max(loads) - min(loads) <= 1


def test_gold_tasks_are_mixed_into_every_queue_at_the_share() -> None:
    tasks = [f"t{i}" for i in range(100)]
    gold = tasks[:20]
    queues = assign(tasks, ["a", "b", "c"], 2, gold, 0.1, seed=3)
    for q in queues.values():
        share = sum(k in gold for k in q) / len(q)
        assert 0.07 <= share <= 0.13
        positions = [i for i, k in enumerate(q) if k in gold]
        assert positions != list(range(len(positions)))  # shuffled in, not a block


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"overlap": 3}, "needs at least 3"),
        ({"overlap": 0}, "needs at least 0"),
        ({"gold_share": 0.2}, "needs gold tasks"),
        ({"gold_share": 1.0, "gold": ["t1"]}, "below 1"),
    ],
)
def test_bad_assignment_requests(kwargs, message) -> None:  # type: ignore[no-untyped-def]
    args = {"tasks": ["t1", "t2"], "annotators": ["a", "b"], "overlap": 1, "gold": [],
            "gold_share": 0.0, "seed": 1, **kwargs}  # fmt: skip
    with pytest.raises(TrustlabError, match=message):
        assign(**args)


def ch(label: str) -> list[dict]:
    return [{"type": "choices", "value": {"choices": [label]}}]


def test_cohen_kappa_and_alpha_match_hand_computed_values() -> None:
    # Two raters, 10 items: observed agreement 0.8; marginals 6 x / 4 y for both.
    a = list("xxxxxxyyyy")
    b = list("xxxxxyyyyx")
    by_task = {i: {"a": ch(x), "b": ch(y)} for i, (x, y) in enumerate(zip(a, b, strict=True))}
    out = quality.overall(CHOICE, by_task)
    p_o = 0.8
    p_e = 0.6 * 0.6 + 0.4 * 0.4
    assert out["cohen_kappa"]["a~b"] == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-4)
    # Krippendorff's alpha (nominal, 2 coders, no missing): 1 - D_o / D_e over pairable values.
    values = a + b
    n = len(values)
    counts = Counter(values)
    d_o = sum(x != y for x, y in zip(a, b, strict=True)) * 2 / n
    d_e = sum(counts[c] * counts[k] for c, k in itertools.permutations(counts, 2)) / (n * (n - 1))
    assert out["krippendorff_alpha"] == pytest.approx(1 - d_o / d_e, abs=1e-4)
    assert out["mean_agreement"] == pytest.approx(0.8)


def sp(*items: tuple[int, int, str]) -> list[dict]:
    return [{"type": "labels", "value": {"start": s, "end": e, "labels": [lab]}}
            for s, e, lab in items]  # fmt: skip


def test_span_f1_counts_exact_entities_only() -> None:
    a = sp((0, 2, "PER"), (5, 7, "LOC"), (9, 12, "ORG"))
    b = sp((0, 2, "PER"), (5, 8, "LOC"), (9, 12, "LOC"))
    # One of three entities matches on both sides: P = R = 1/3.
    assert quality.pair(SPANS, a, b) == pytest.approx(1 / 3)
    assert quality.pair(SPANS, a, a) == 1.0
    assert quality.pair(SPANS, [], []) == 1.0
    assert quality.pair(SPANS, a, []) == 0.0


def box(x: float, y: float, w: float, h: float, label: str = "car", rot: float = 0) -> dict:
    return {"type": "rectanglelabels", "value": {"x": x, "y": y, "width": w, "height": h,
                                                 "rotation": rot, "rectanglelabels": [label]}}  # fmt: skip


def test_box_agreement_is_matched_iou() -> None:
    a = [box(0, 0, 10, 10), box(50, 50, 10, 10)]
    b = [box(5, 0, 10, 10), box(50, 50, 10, 10)]
    # IoU of the shifted pair: 50 / 150; the other pair is identical.
    assert quality.pair(SHAPES, a, b) == pytest.approx((1 / 3 + 1) / 2)
    assert quality.pair(SHAPES, a, [box(0, 0, 10, 10, "bus")]) == 0.0
    # A box rotated by 90 degrees about its corner covers a different square.
    assert quality.pair(SHAPES, [box(20, 20, 10, 10)], [box(20, 20, 10, 10, rot=90)]) == 0.0
    poly = [{"type": "polygonlabels", "value": {"points": [[0, 0], [10, 0], [10, 10], [0, 10]],
                                                "polygonlabels": ["car"]}}]  # fmt: skip
    assert quality.pair(SHAPES, poly, [box(0, 0, 10, 10)]) == pytest.approx(1.0)


def seg(start: float, end: float, text: str, rid: str = "r1") -> list[dict]:
    return [{"id": rid, "type": "labels", "value": {"start": start, "end": end,
                                                    "labels": ["speech"]}},
            {"id": rid, "type": "textarea", "value": {"start": start, "end": end,
                                                      "text": [text]}}]  # fmt: skip


def test_transcripts_agree_by_overlap_and_word_error_rate() -> None:
    a = seg(0.0, 2.0, "the quick brown fox")
    b = seg(0.0, 2.0, "the quick brown box")
    assert quality.pair(TRANSCRIPT, a, b) == pytest.approx((1 + 0.75) / 2)
    c = seg(1.0, 3.0, "the quick brown fox")
    assert quality.pair(TRANSCRIPT, a, c) == pytest.approx((1 / 3 + 1) / 2)
    assert quality.wer("今天天气很好", "今天天气不好") == pytest.approx(1 / 6)


def test_consensus_is_the_medoid_answer() -> None:
    answers = [ch("x"), ch("y"), ch("x")]
    assert quality.consensus(CHOICE, answers) == ch("x")
    assert quality.task_agreement(CHOICE, answers) == pytest.approx(1 / 3)


def test_conll_tokens_tags_and_label_configs_escape() -> None:
    text = "张三在 Acme Corp 工作"
    assert [text[s:e] for s, e in tokens(text)] == ["张", "三", "在", "Acme", "Corp", "工", "作"]
    lines = conll_lines(text, {(0, 2, "PER"), (4, 13, "ORG")})
    assert lines[:5] == ["张\tB-PER", "三\tI-PER", "在\tO", "Acme\tB-ORG", "Corp\tI-ORG"]
    xml = config(TEMPLATES["ner"], ['A"B', "<x>"])
    assert "value='A\"B'" in xml and "&lt;x&gt;" in xml
    rnd = random.Random(1)
    for tpl in TEMPLATES.values():  # every template renders well-formed XML
        import xml.etree.ElementTree as ET

        ET.fromstring(config(tpl, [f"L{rnd.randint(0, 9)}", "其他"]))
