"""Export formats, each written so its ecosystem loads it: JSON Lines (every template),
CSV (classification), CoNLL (named entities: one token and its BIO tag per line, a blank
line between texts), COCO and YOLO (image boxes/polygons), KITTI and a JSON of 3D boxes
(point clouds). Writers get the final records and write into one folder."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import TrustlabError
from labeling import quality

Records = list[dict[str, Any]]
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Writer:
    write: Callable[[Records, dict[str, Any], Path], None]
    templates: tuple[str, ...]  # "*" for all


def _jsonl(records: Records, ctx: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def _csv(records: Records, ctx: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in records for k in r["data"]})
    with (out / "labels.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", *fields, "label", "state", "agreement"])
        for r in records:
            w.writerow([r["key"], *(r["data"].get(f, "") for f in fields),
                        quality.choice(r["label"]) or "", r["state"],
                        "" if r["agreement"] is None else r["agreement"]])  # fmt: skip


def tokens(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets: each CJK character is a token, other text splits
    on whitespace and punctuation boundaries."""
    out = []
    for m in re.finditer(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+", text):
        out.append((m.start(), m.end()))
    return out


def conll_lines(text: str, spans: set[tuple[int, int, str]]) -> list[str]:
    lines = []
    for start, end in tokens(text):
        tag = "O"
        for s, e, label in sorted(spans):
            if s <= start < e:
                tag = ("B-" if start <= s else "I-") + label
                break
        lines.append(f"{text[start:end]}\t{tag}")
    return lines


def _conll(records: Records, ctx: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "labels.conll").open("w", encoding="utf-8") as fh:
        for r in records:
            text = next(iter(r["data"].values()), "") or ""
            fh.write(f"# key = {r['key']}\n")
            fh.write("\n".join(conll_lines(text, quality.spans(r["label"]))) + "\n\n")


WRITERS: dict[str, Writer] = {
    "jsonl": Writer(_jsonl, ("*",)),
    "csv": Writer(_csv, ("text-classification", "image-classification", "video-classification")),
    "conll": Writer(_conll, ("ner",)),
}


def register(name: str, writer: Writer) -> None:
    WRITERS[name] = writer


def get(fmt: str) -> Writer:
    from labeling import media_formats  # noqa: F401  (registers coco, yolo and kitti)

    try:
        return WRITERS[fmt]
    except KeyError:
        raise TrustlabError(f"unknown format {fmt!r}; choose from {', '.join(WRITERS)}") from None


def fitting(template: str) -> list[str]:
    get("jsonl")
    return [n for n, w in WRITERS.items() if "*" in w.templates or template in w.templates]
