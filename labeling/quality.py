"""Agreement between annotators, accuracy on gold tasks, and the consensus answer.

Per result kind (``labeling.templates``), with the ecosystem's libraries:

- choice: Cohen's kappa per pair of annotators (scikit-learn), Krippendorff's alpha over
  all (``krippendorff``, nominal, missing labels allowed); a task's agreement is the share
  of annotator pairs that chose the same class.
- spans: span-level F1 (``seqeval`` over character BIO tags: an entity counts only with
  the same start, end and label).
- shapes: boxes and polygons matched one-to-one by IoU (shapely geometry, Hungarian
  assignment with SciPy), same label required; the score is the summed IoU of the
  matches over the larger count.
- transcript: segments matched by time overlap (IoU); the score averages the matched
  overlap with 1 − WER of the matched transcriptions (``jiwer``).

Agreement of a task = the mean over its annotator pairs; the consensus is the medoid
answer (the one agreeing most with the others).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from labeling.templates import CHOICE, SHAPES, SPANS, TRACKS, TRANSCRIPT

Result = list[dict[str, Any]]


def choice(result: Result) -> str | None:
    for r in result:
        values = (r.get("value") or {}).get("choices")
        if values:
            return str(values[0])
    return None


def spans(result: Result) -> set[tuple[int, int, str]]:
    out = set()
    for r in result:
        v = r.get("value") or {}
        if "start" in v and v.get("labels"):
            out.add((int(v["start"]), int(v["end"]), str(v["labels"][0])))
    return out


def _bio(items: set[tuple[int, int, str]], size: int) -> list[str]:
    tags = ["O"] * size
    for start, end, label in sorted(items):
        for i in range(max(start, 0), min(end, size)):
            tags[i] = ("B-" if i == start else "I-") + label
    return tags


def span_f1(a: set[tuple[int, int, str]], b: set[tuple[int, int, str]]) -> float:
    from seqeval.metrics import f1_score

    if not a and not b:
        return 1.0
    size = max(end for _, end, _ in a | b)
    return float(f1_score([_bio(a, size)], [_bio(b, size)], zero_division=0))


def shapes(result: Result) -> list[tuple[str, Any]]:
    """(label, shapely geometry in the image's percent coordinates) per region."""
    from shapely import affinity
    from shapely.geometry import Polygon, box

    out = []
    for r in result:
        v = r.get("value") or {}
        labels = v.get("rectanglelabels") or v.get("polygonlabels") or v.get("labels")
        if not labels:
            continue
        if "points" in v:
            geom = Polygon(v["points"])
        elif "width" in v:
            x, y, w, h = (float(v[k]) for k in ("x", "y", "width", "height"))
            geom = box(x, y, x + w, y + h)
            if v.get("rotation"):  # Label Studio rotates about the top-left corner
                geom = affinity.rotate(geom, float(v["rotation"]), origin=(x, y))
        else:
            continue
        out.append((str(labels[0]), geom if geom.is_valid else geom.buffer(0)))
    return out


def _iou(g: Any, h: Any) -> float:
    union = g.union(h).area
    return float(g.intersection(h).area / union) if union > 0 else 0.0


def _match(scores: list[list[float]]) -> list[tuple[int, int, float]]:
    """One-to-one matches maximising the summed score (positive scores only)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    if not scores or not scores[0]:
        return []
    m = np.array(scores)
    rows, cols = linear_sum_assignment(-m)
    return [(int(i), int(j), float(m[i, j])) for i, j in zip(rows, cols, strict=True)
            if m[i, j] > 0]  # fmt: skip


def shape_agreement(a: list[tuple[str, Any]], b: list[tuple[str, Any]]) -> float:
    if not a and not b:
        return 1.0
    scores = [[_iou(g, h) if la == lb else 0.0 for lb, h in b] for la, g in a]
    return sum(s for _, _, s in _match(scores)) / max(len(a), len(b))


def segments(result: Result) -> list[tuple[float, float, str, str]]:
    """(start, end, label, text) per audio region; the text joins per-region TextAreas."""
    regions: dict[str, dict[str, Any]] = {}
    for r in result:
        v = r.get("value") or {}
        reg = regions.setdefault(str(r.get("id")), {"text": ""})
        if "start" in v:
            reg["start"], reg["end"] = float(v["start"]), float(v["end"])
        if v.get("labels"):
            reg["label"] = str(v["labels"][0])
        if v.get("text"):
            reg["text"] = " ".join(v["text"])
    return [(g["start"], g["end"], g.get("label", ""), g["text"])
            for g in regions.values() if "start" in g]  # fmt: skip


def _t_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    if not reference.strip():
        return 0.0 if not hypothesis.strip() else 1.0
    if all(not c.isascii() for c in reference.replace(" ", "")):  # CJK: characters
        return float(jiwer.cer(reference.replace(" ", ""), hypothesis.replace(" ", "")))
    return float(jiwer.wer(reference, hypothesis))


def segment_agreement(a: list, b: list) -> float:
    if not a and not b:
        return 1.0
    scores = [[_t_iou(x[:2], y[:2]) if x[2] == y[2] else 0.0 for y in b] for x in a]
    matches = _match(scores)
    overlap = sum(s for _, _, s in matches) / max(len(a), len(b))
    if not matches:
        return 0.0
    texts = [1 - min(wer(a[i][3], b[j][3]), 1.0) for i, j, _ in matches]
    return (overlap + sum(texts) / len(texts) * len(matches) / max(len(a), len(b))) / 2


def pair(kind: str, a: Result, b: Result) -> float:
    """How much two answers agree, in [0, 1]."""
    if kind == CHOICE:
        return 1.0 if choice(a) == choice(b) else 0.0
    if kind == SPANS:
        return span_f1(spans(a), spans(b))
    if kind in (SHAPES, TRACKS):
        return shape_agreement(shapes(a), shapes(b))
    if kind == TRANSCRIPT:
        return segment_agreement(segments(a), segments(b))
    return 1.0 if _canon(a) == _canon(b) else 0.0


def _canon(result: Result) -> list[Any]:
    return sorted(str(sorted((r.get("value") or {}).items())) for r in result)


def task_agreement(kind: str, answers: list[Result]) -> float | None:
    """Mean pairwise agreement; None with fewer than two answers."""
    pairs = list(itertools.combinations(answers, 2))
    if not pairs:
        return None
    return sum(pair(kind, a, b) for a, b in pairs) / len(pairs)


def consensus(kind: str, answers: list[Result]) -> Result:
    """The medoid answer: the one agreeing most with all others (first on ties)."""
    if len(answers) == 1:
        return answers[0]
    best = max(
        range(len(answers)),
        key=lambda i: (sum(pair(kind, answers[i], b) for j, b in enumerate(answers) if j != i),
                       -i),
    )  # fmt: skip
    return answers[best]


def overall(kind: str, by_task: dict[int, dict[str, Result]]) -> dict[str, Any]:
    """Project-wide figures: mean task agreement; for choices also Krippendorff's alpha
    and Cohen's kappa per annotator pair."""
    scores = [s for s in (task_agreement(kind, list(a.values())) for a in by_task.values())
              if s is not None]  # fmt: skip
    out: dict[str, Any] = {"tasks_compared": len(scores),
                           "mean_agreement": _mean(scores)}  # fmt: skip
    if kind != CHOICE or not by_task:
        return out
    import krippendorff
    import numpy as np
    from sklearn.metrics import cohen_kappa_score

    people = sorted({p for a in by_task.values() for p in a})
    classes = sorted({c for a in by_task.values() for r in a.values() if (c := choice(r))})
    code = {c: i for i, c in enumerate(classes)}
    matrix = np.full((len(people), len(by_task)), np.nan)
    for col, answers in enumerate(by_task.values()):
        for person, result in answers.items():
            c = choice(result)
            if c is not None:
                matrix[people.index(person), col] = code[c]
    paired = np.sum(~np.isnan(matrix), axis=0) >= 2
    if len(classes) > 1 and paired.any():
        alpha = krippendorff.alpha(reliability_data=matrix[:, paired],
                                   level_of_measurement="nominal")  # fmt: skip
        out["krippendorff_alpha"] = None if math.isnan(alpha) else round(float(alpha), 4)
    kappas = {}
    for i, j in itertools.combinations(range(len(people)), 2):
        both = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
        if both.sum() >= 2:
            k = cohen_kappa_score(
                matrix[i, both], matrix[j, both], labels=list(range(len(classes)))
            )
            out_k = None if math.isnan(k) else round(float(k), 4)
            kappas[f"{people[i]}~{people[j]}"] = out_k
    out["cohen_kappa"] = kappas
    return out


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
