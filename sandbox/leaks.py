"""Finding leaks in a sample with Spark: unmasked identifiers and raw source values.

Three detectors; the first two exact rather than guessed:

- **unmasked identifiers** — a cell (or a span of text in it) that *validates* as a
  resident ID (GB 11643 check digit), a bank card (Luhn) or a mobile number. A built-in
  regular expression first narrows the rows to those holding a long digit run; only those
  go through the Python validators (a vectorized UDF).
- **raw source values** — every cell, every token of a text cell and every 2-4 character
  Han n-gram is joined against the distinct raw values of the source's sensitive columns.
  A raw value the column's own rule leaves unchanged (a birth date already on January 1st)
  is not a leak and is excluded; so are values shorter than two characters.

- **unmasked names** — person names left in text columns, found by the gate's own
  character-likelihood detector (``sandbox.textpii.namescore``), a different method from
  every one the masker uses, so the two do not share blind spots.

Reports never carry a raw value: examples are shown masked by their column's rule.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.masking import HAN, MaskingRule
from sandbox.validators import (
    find_identifiers,
    is_bank_card,
    is_mobile,
    is_resident_id,
    normalize_digits,
)

# Cheap built-in prefilter: 11+ characters of digits and separators in a row.
DIGIT_RUN = r"[0-9][0-9 \-]{9,}[0-9Xx]"
GATED_KINDS = ("id_card", "bank_card", "mobile")
EXAMPLES = 3


@dataclass(frozen=True)
class Leak:
    kind: str  # unmasked_identifier | raw_source_value | unmasked_name
    column: str  # sample column where it was found
    detail: str  # the identifier type, or the source column the value came from
    count: int
    examples: list[str]  # masked, never raw

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def identifiers_in(value: str | None) -> list[tuple[str, str]]:
    """``(kind, text)`` of every unmasked ID, card or mobile in ``value`` (whole or embedded)."""
    if value is None:
        return []
    s = str(value)
    whole = s.strip()
    checks = (
        ("id_card", is_resident_id),
        ("mobile", is_mobile),
        ("bank_card", lambda v: len(normalize_digits(v)) >= 13 and is_bank_card(v)),
    )
    for kind, ok in checks:
        if ok(whole):
            return [(kind, whole)]
    found = find_identifiers(s)
    return [(k, s[a:b]) for k in GATED_KINDS for a, b in found.get(k, [])]


_DIGIT_RUN_RE = re.compile(DIGIT_RUN)


def has_identifier(value: str | None) -> bool:
    if value is None or not _DIGIT_RUN_RE.search(str(value)):
        return False
    return bool(identifiers_in(value))


def _masked_example(kind: str, text: str) -> str:
    from sandbox.masking import DEFAULT_RULES, MaskingContext, make_rule

    rule = make_rule(DEFAULT_RULES[kind][0], {}, MaskingContext(b"example-only"))
    return str(rule.python(text))


def string_columns(df: Any) -> list[str]:
    from pyspark.sql import types as T

    return [f.name for f in df.schema.fields if isinstance(f.dataType, T.StringType)]


def unmasked_identifiers(df: Any) -> list[Leak]:
    """Identifiers that validate, per column: prefilter with a built-in regex, then validate."""
    from pyspark.sql import functions as F

    columns = string_columns(df)
    if not columns:
        return []
    condition = None
    for c in columns:
        hit = F.col(f"`{c}`").rlike(DIGIT_RUN)
        condition = hit if condition is None else condition | hit
    candidates = df.select(*[F.col(f"`{c}`") for c in columns]).filter(condition)
    leaks: dict[tuple[str, str], list[str]] = {}
    counts: dict[tuple[str, str], int] = {}
    # Candidates are rare in a masked sample; stream them rather than collect at once.
    for row in candidates.toLocalIterator():
        for c in columns:
            for kind, text in identifiers_in(row[c]):
                key = (c, kind)
                counts[key] = counts.get(key, 0) + 1
                examples = leaks.setdefault(key, [])
                if len(examples) < EXAMPLES:
                    examples.append(_masked_example(kind, text))
    return [
        Leak("unmasked_identifier", c, kind, counts[(c, kind)], leaks[(c, kind)])
        for c, kind in sorted(counts)
    ]


TEXT_RULES = ("free_text_redact", "keep")  # rules that leave running text in a column


def name_columns(df: Any, rules: dict[str, MaskingRule]) -> list[str]:
    """String columns whose rule leaves running text, where a person's name could hide."""
    return [c for c in string_columns(df) if c in rules and rules[c].name in TEXT_RULES]


def _masked_name(text: str) -> str:
    return text[:1] + "*" * (len(text) - 1)


def unmasked_names(df: Any, rules: dict[str, MaskingRule]) -> list[Leak]:
    """Person names left in text columns, by the gate's own detector (``textpii.namescore``).

    It shares no method with the masker, so a name the masker missed (one that stands in
    no column, written where no context word announces it) is still found.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from sandbox.spark import vectorized
    from sandbox.textpii.namescore import find_names, has_name

    columns = name_columns(df, rules)
    if not columns:
        return []
    flag = vectorized(has_name, T.BooleanType())
    condition = None
    for c in columns:
        hit = F.coalesce(flag(F.col(f"`{c}`")), F.lit(False))
        condition = hit if condition is None else condition | hit
    counts: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    for row in df.select(*[F.col(f"`{c}`") for c in columns]).filter(condition).toLocalIterator():
        for c in columns:
            found = find_names(row[c]) if row[c] else []
            if found:
                counts[c] = counts.get(c, 0) + 1
                shown = examples.setdefault(c, [])
                if len(shown) < EXAMPLES:
                    shown.append(_masked_name(row[c][found[0].start : found[0].end]))
    return [Leak("unmasked_name", c, "name", counts[c], examples[c]) for c in sorted(counts)]


def _source_values(source: Any, info: dict[str, Any], rules: dict[str, MaskingRule]) -> Any:
    """(src_col, raw) for every raw value of a sensitive source column its rule would change."""
    from pyspark.sql import functions as F

    frames = []
    for col in info["columns"]:
        name = col["name"]
        rule = rules.get(name)
        # Free text is checked through the identifiers and names it embeds, not as a whole.
        if col["pii"] in ("none", "free_text") or rule is None:
            continue
        dtype = source.schema[name].dataType
        raw = F.trim(F.col(f"`{name}`").cast("string"))
        masked = rule.spark(F.col(f"`{name}`"), dtype).cast("string")
        frames.append(
            source.select(F.lit(name).alias("src_col"), raw.alias("raw"), masked.alias("masked"))
            .where(F.col("raw").isNotNull() & (F.length("raw") >= 2))
            .where(F.col("masked").isNull() | (F.col("raw") != F.col("masked")))
            .select("src_col", "raw")
        )
    if not frames:
        return None
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out.distinct()


NGRAM_MAX = 4  # Han n-grams look for names embedded in text; longer values match whole


def _sample_tokens(sample: Any, row_id: str) -> tuple[Any, Any]:
    """(row, column, token) frames: cells and word tokens; and 2-4 grams of Han runs."""
    from pyspark.sql import functions as F

    ngrams = (
        "flatten(transform(regexp_extract_all(cell, '[" + HAN + "]{2,}', 0), r -> "
        f"flatten(transform(sequence(2, least({NGRAM_MAX}, length(r))), n -> "
        "transform(sequence(1, length(r) - n + 1), i -> substring(r, i, n))))))"
    )
    words, grams = [], []
    for name in sample.columns:
        if name == row_id:
            continue
        cell = F.trim(F.col(f"`{name}`").cast("string"))
        base = sample.select(F.col(row_id), F.lit(name).alias("column"), cell.alias("cell")).where(
            F.col("cell").isNotNull()
        )
        tokens = F.split(F.col("cell"), r"[^\p{L}\p{N}@._+\-]+")
        words.append(
            base.select(
                row_id,
                "column",
                F.explode(F.array_distinct(F.concat(F.array(F.col("cell")), tokens))).alias(
                    "token"
                ),
            )
        )
        grams.append(base.select(row_id, "column", F.explode(F.expr(ngrams)).alias("token")))

    def union(frames: list[Any]) -> Any:
        out = frames[0]
        for frame in frames[1:]:
            out = out.unionByName(frame)
        return out.where(F.length("token") >= 2)

    return union(words), union(grams)


def raw_hits(
    sample: Any, row_id: str, source: Any, info: dict[str, Any], rules: dict[str, MaskingRule]
) -> Any:
    """(row, column, src_col, raw) for every raw sensitive source value found in the sample.

    Cells and word tokens are joined with every sensitive value; Han n-grams only with the
    short ones (names), which are few enough to broadcast. None when nothing is sensitive.
    """
    from pyspark.sql import functions as F

    values = _source_values(source, info, rules)
    if values is None:
        return None
    words, grams = _sample_tokens(sample, row_id)
    short = values.where(F.length("raw") <= NGRAM_MAX)
    columns = [row_id, "column", "src_col", "raw"]
    whole = words.join(values, words["token"] == values["raw"]).select(*columns)
    embedded = grams.join(F.broadcast(short), grams["token"] == short["raw"]).select(*columns)
    return whole.unionByName(embedded).distinct()


def summarize_hits(hits: Any, rules: dict[str, MaskingRule]) -> list[Leak]:
    """Group hits by sample column and source column; examples masked by the source's rule."""
    from pyspark.sql import functions as F

    grouped = (
        hits.groupBy("column", "src_col")
        .agg(F.count(F.lit(1)).alias("n"), F.slice(F.collect_set("raw"), 1, EXAMPLES).alias("ex"))
        .collect()
    )
    leaks = []
    for row in sorted(grouped, key=lambda r: (r["column"], r["src_col"])):
        rule = rules[row["src_col"]]
        examples = [str(rule.python(v)) for v in row["ex"]]
        leaks.append(Leak("raw_source_value", row["column"], row["src_col"], row["n"], examples))
    return leaks
