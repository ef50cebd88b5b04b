"""Free-text PII recall and precision, per PII type, with and without each detector.

    python bench/freetext.py [--examples 3000] [--seed N]

Runs ``sandbox.textpii.TextMasker`` over the labeled corpus of ``bench/textcorpus.py``.
A labeled span counts as masked when every character that may not stay visible (all but
a name's surname, an ID's first 6 and last 4, a mobile's first 3 and last 4 ...) is
starred; a name written in a table's column is a known value, any other name is not.
Precision per type: the share of the masker's spans of that type that overlap PII.
"Non-PII tokens masked": jieba tokens outside every labeled span with a starred character.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textcorpus import Example, corpus, load_marked

from sandbox.textpii.known import KnownValues
from sandbox.textpii.masker import ALL, TextMasker
from sandbox.textpii.spans import STAR, merge

CONFIGS = {
    "all detectors": ALL,
    "without jieba NER": tuple(d for d in ALL if d != "ner"),
    "without context patterns": tuple(d for d in ALL if d != "context"),
    "without known values": tuple(d for d in ALL if d != "known"),
    "patterns + NER only": ("patterns", "ner"),
    "patterns + context only": ("patterns", "context"),
    "patterns + known only": ("patterns", "known"),
}
KINDS = ("name", "id_card", "mobile", "bank_card", "email", "plate", "address", "birth_date")


def known_values(examples: list[Example]) -> dict[str, str]:
    """What a table's columns would hold: each record's first name, ID and mobile."""
    values: dict[str, str] = {}
    for ex in examples:
        seen: set[str] = set()
        for start, end, kind, *_ in ex.spans:
            if kind in ("name", "id_card", "mobile") and kind not in seen:
                values[ex.text[start:end]] = kind
                seen.add(kind)
    return values


def _needed(text: str, visible: int, visible_end: int) -> int:
    return max(0, sum(ch.isalnum() for ch in text) - visible - visible_end)


def evaluate(examples: list[Example], masker: TextMasker) -> dict[str, object]:
    import jieba

    hit: Counter[str] = Counter()
    total: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    true_pred: Counter[str] = Counter()
    tokens = masked_tokens = 0
    column_values = set(known_values(examples))
    misses: list[str] = []
    for ex in examples:
        out = masker.mask(ex.text)
        assert out is not None and len(out) == len(ex.text)
        for start, end, kind, visible, visible_end in ex.spans:
            key = kind
            if kind == "name":
                key = (
                    "name (in a column)"
                    if ex.text[start:end] in column_values
                    else "name (in no column)"
                )
            total[key] += 1
            starred = out[start:end].count(STAR)
            if starred >= _needed(ex.text[start:end], visible, visible_end):
                hit[key] += 1
            elif len(misses) < 40:
                misses.append(f"{kind}: {ex.text[start:end]} | {out}")
        labeled = [(s, e) for s, e, *_ in ex.spans]
        for span in merge(masker.spans(ex.text)):
            predicted[span.kind] += 1
            if any(span.start < e and s < span.end for s, e in labeled):
                true_pred[span.kind] += 1
        pos = 0
        for token in jieba.cut(ex.text):
            a, b = pos, pos + len(token)
            pos = b
            if token.strip() and not any(a < e and s < b for s, e in labeled):
                tokens += 1
                masked_tokens += STAR in out[a:b]
    return {
        "recall": {k: (hit[k], total[k]) for k in total},
        "precision": {k: (true_pred[k], predicted[k]) for k in predicted},
        "non_pii_tokens": (masked_tokens, tokens),
        "misses": misses,
    }


def _pct(pair: tuple[int, int]) -> str:
    a, b = pair
    return f"{100 * a / b:.1f}%" if b else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--misses", action="store_true", help="print missed spans")
    parser.add_argument(
        "--heldout",
        nargs="?",
        const=str(Path(__file__).resolve().parent / "data" / "heldout-freetext.txt"),
        help="evaluate on a hand-written marked corpus instead (default: bench/data/...)",
    )
    parser.add_argument(
        "--unseen",
        metavar="SEEDS",
        help="instead: names in no column left in the free text of tests/unseen tables, "
        "one line per seed (e.g. 11,12,13)",
    )
    args = parser.parse_args(argv)
    if args.unseen:
        return unseen([int(s) for s in args.unseen.split(",")])
    examples = load_marked(args.heldout) if args.heldout else corpus(args.examples, args.seed)
    known = KnownValues.build(known_values(examples))
    results = {label: evaluate(examples, TextMasker(use, known)) for label, use in CONFIGS.items()}
    keys = ["name (in a column)", "name (in no column)", *KINDS[1:]]
    where = args.heldout or "bench/textcorpus.py"
    print(f"\nfree-text PII masking, {len(examples):,} labeled sentences ({where})\n")
    print("recall per PII type (labeled spans masked):\n")
    print("| detectors | " + " | ".join(keys) + " | non-PII tokens masked |")
    print("|---|" + "---|" * (len(keys) + 1))
    for label, res in results.items():
        cells = [_pct(res["recall"].get(k, (0, 0))) for k in keys]  # type: ignore[union-attr]
        print(f"| {label} | " + " | ".join(cells) + f" | {_pct(res['non_pii_tokens'])} |")
    print(
        "\nprecision per PII type (the masker's spans that overlap labeled PII), all detectors:\n"
    )
    prec = results["all detectors"]["precision"]
    print("| type | precision | spans |")
    print("|---|---|---|")
    for kind, pair in sorted(prec.items()):  # type: ignore[union-attr]
        print(f"| {kind} | {_pct(pair)} | {pair[1]:,} |")
    counts = results["all detectors"]["recall"]
    print("\nlabeled spans: " + ", ".join(f"{k} {v[1]:,}" for k, v in counts.items()))  # type: ignore[union-attr]
    if args.misses:
        print("\nmisses (all detectors):")
        for line in results["all detectors"]["misses"]:  # type: ignore[union-attr]
            print("  " + line)
    return 0


def unseen(seeds: list[int], rows: int = 300) -> int:
    """The unseen-tables test's free text (``tests/unseen``), other seeds: how many of
    the names of people who stand in no column each table's masked notes still hold."""
    from sandbox.textpii.namescore import find_names
    from tests.unseen.tables import tables

    print(f"\nnames in no column left after masking, tests/unseen tables, {rows} rows each\n")
    print("| seed | names in no column | left in masked text | recall | gate findings |")
    print("|---|---|---|---|---|")
    for seed in seeds:
        total = left = findings = 0
        for table in tables(rows=rows, seed=seed):
            values = {
                r[c].strip(): kind
                for r in table.rows
                for c, kind in table.pii_columns.items()
                if r[c].strip()
            }
            masker = TextMasker(ALL, KnownValues.build(values))
            for row, hidden in zip(table.rows, table.hidden_names, strict=True):
                masked = [masker.mask(row[c]) or "" for c in table.free_text_columns]
                findings += sum(len(find_names(m)) for m in masked)
                text = " ".join(masked)
                total += len(hidden)
                left += sum(name in text for name in hidden)
        print(f"| {seed} | {total:,} | {left} | {_pct((total - left, total))} | {findings} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def false_positives(examples: list[Example], masker: TextMasker, limit: int = 40) -> Counter[str]:
    """The masker's spans that overlap no labeled PII, counted by text."""
    seen: Counter[str] = Counter()
    for ex in examples:
        labeled = [(s, e) for s, e, *_ in ex.spans]
        for span in merge(masker.spans(ex.text)):
            if not any(span.start < e and s < span.end for s, e in labeled):
                seen[f"{span.kind}:{ex.text[span.start : span.end]}"] += 1
    return Counter(dict(seen.most_common(limit)))
