"""Peers for the masking benchmark: the same masking rules in plain pandas and in Presidio.

``bench/masking.py`` times trustlab's Spark masking builder against these two peers on
the demo population (:func:`sandbox.demo.generate_people`):

* :func:`mask_pandas`: the rules as a competent pandas user would write them, with
  vectorised ``.str`` methods and Python ``re``; single process, no Spark.
* :func:`mask_presidio`: Microsoft Presidio used the usual way, analyze text, then
  anonymize. :func:`build_presidio` sets up the engines: ``PatternRecognizer`` objects
  for the Chinese identifiers, running on a blank spaCy ``zh`` pipeline, so that no
  model is ever loaded or downloaded.

Both take a DataFrame of ``str`` columns (read with ``dtype=str``) and return a new
DataFrame with the same columns. Missing values stay missing. The rules:

==========  ================================================================================
name        surname kept (compound surnames such as 欧阳 kept whole), each other char -> ``*``
id_number   first 6 and last 4 kept, the middle starred: ``110105********123X``
mobile      spaces/dashes/parentheses and a leading +86/0086/86 dropped; ``138****5678``
email       first char of the local part + ``***@`` + domain
bank_card   spaces/dashes dropped; first 6 + ``*`` * (len - 10) + last 4
address     text up to the first county-level 区/县/旗 (not the 区 of 自治区, 特别行政区,
            地区) + ``****``; just ``****`` if there is no such marker
plate       first 2 chars + ``*****``
birth_date  year only: ``YYYY-01-01``
income      rounded down to a multiple of 10000
remark      every embedded ID, mobile, email, bank card or plate replaced by as many ``*``
            as it has characters; the rest of the text is kept
others      person_id, gender, district unchanged
==========  ================================================================================

A value too short to keep its ends (10 chars or fewer for an ID or card number) is
starred in full.

Run ``python bench/masking_peers.py --rows 20000`` in the bench environment
(``scripts/bootstrap.py bench``) for a quick run that times both peers and prints a few
masked rows.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pandas as pd
import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, Pattern, PatternRecognizer
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import EmailRecognizer
from presidio_analyzer.recognizer_registry import RecognizerRegistry
from presidio_anonymizer import AnonymizerEngine, BatchAnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from sandbox.validators import PLATE_PROVINCES

# --- The rules, shared by both peers ------------------------------------------------------

COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木".split()
)

# Up to and including the first county-level marker. The 区 of 自治区, 特别行政区 and
# 地区 is a province- or prefecture-level one, so it does not end the prefix.
ADDRESS_PREFIX = re.compile(r"^(.*?(?:(?<!自治)(?<!特别行政)(?<!地)区|县|旗))")

# Identifiers embedded in free text. Digit runs may not touch other digits or letters,
# so a part of a longer number is never taken for an identifier.
ID_LIKE = r"(?<![0-9A-Za-z])[1-8]\d{16}[\dXx](?![0-9A-Za-z])"
CARD_LIKE = r"(?<![0-9A-Za-z])\d{4}(?:[\s-]?\d{4}){3}(?:[\s-]?\d{1,3})?(?![0-9A-Za-z])"
MOBILE_LIKE = r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"
# ASCII only: CJK text written right against an address is not part of it.
EMAIL_LIKE = (
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
PLATE_LIKE = (
    rf"[{PLATE_PROVINCES}][A-HJ-NP-Z][·\s]?(?:[DF][A-HJ-NP-Z0-9]{{5}}|[A-HJ-NP-Z0-9]{{5}}[DF]"
    r"|[A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{4}[挂学警港澳])(?![A-Za-z0-9])"
)
# One pass over the text. Where two kinds start at the same place the first listed wins:
# an 18-digit ID is also a card-like run.
REMARK_PII = re.compile(
    "|".join((ID_LIKE, CARD_LIKE, MOBILE_LIKE, EMAIL_LIKE, PLATE_LIKE)), re.IGNORECASE
)

_DIGIT_SEPARATORS = re.compile(r"[\s-]")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")
_COUNTRY_CODE = re.compile(r"^(?:\+|00)?86")


# Scalar forms of the rules: Presidio's `custom` operator calls these on each detected span.


def _mask_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_name(value: str) -> str:
    keep = 2 if len(value) > 2 and value[:2] in COMPOUND_SURNAMES else 1
    return value[:keep] + "*" * (len(value) - keep)


def mask_id_number(value: str) -> str:
    return _mask_ends(value, 6, 4)


def mask_mobile(value: str) -> str:
    digits = _PHONE_SEPARATORS.sub("", value)
    if len(digits) > 11:
        digits = _COUNTRY_CODE.sub("", digits)
    return digits[:3] + "****" + digits[-4:]


def mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return local[0] + "***@" + domain if local and domain else "****"


def mask_bank_card(value: str) -> str:
    return _mask_ends(_DIGIT_SEPARATORS.sub("", value), 6, 4)


def mask_address(value: str) -> str:
    match = ADDRESS_PREFIX.match(value)
    return (match.group(1) if match else "") + "****"


def mask_plate(value: str) -> str:
    return value[:2] + "*****"


def generalize_birth_dates(dates: pd.Series) -> pd.Series:
    """``YYYY-MM-DD`` -> ``YYYY-01-01``."""
    return dates.str[:4] + "-01-01"


def bucket_incomes(incomes: pd.Series) -> pd.Series:
    """Round down to a multiple of 10000; a value that is not a number becomes missing."""
    buckets = (pd.to_numeric(incomes, errors="coerce") // 10_000 * 10_000).astype("Int64")
    return buckets.astype(str).mask(buckets.isna())


# --- Peer 1: plain pandas -----------------------------------------------------------------


def _stars(counts: pd.Series) -> pd.Series:
    """A run of ``counts[i]`` asterisks per row (none for a missing or negative count)."""
    return counts.fillna(0).clip(lower=0).astype(int).map(lambda n: "*" * n)


def _keep_ends(values: pd.Series, head: int, tail: int) -> pd.Series:
    """Keep ``head`` leading and ``tail`` trailing chars, star the rest (all if too short)."""
    lengths = values.str.len()
    kept = values.str[:head] + _stars(lengths - head - tail) + values.str[-tail:]
    return kept.where(lengths > head + tail, _stars(lengths)).where(values.notna())


def mask_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """Mask the demo population with plain pandas (vectorised ``.str`` methods and ``re``)."""
    out = df.copy()

    names = df["name"]
    lengths = names.str.len()
    compound = names.str[:2].isin(COMPOUND_SURNAMES) & (lengths > 2)
    surnames = names.str[:2].where(compound, names.str[:1])
    out["name"] = surnames + _stars(lengths - compound.astype(int) - 1)

    out["id_number"] = _keep_ends(df["id_number"], 6, 4)

    mobiles = df["mobile"].str.replace(_PHONE_SEPARATORS, "", regex=True)
    long = mobiles.str.len() > 11
    mobiles = mobiles.where(~long, mobiles.str.replace(_COUNTRY_CODE, "", regex=True))
    out["mobile"] = mobiles.str[:3] + "****" + mobiles.str[-4:]

    emails = df["email"].str.extract(r"^(.).*@([^@]+)$")
    out["email"] = (emails[0] + "***@" + emails[1]).fillna("****").where(df["email"].notna())

    cards = df["bank_card"].str.replace(_DIGIT_SEPARATORS, "", regex=True)
    out["bank_card"] = _keep_ends(cards, 6, 4)

    prefixes = df["address"].str.extract(ADDRESS_PREFIX, expand=False)
    out["address"] = (prefixes + "****").fillna("****").where(df["address"].notna())

    out["plate"] = df["plate"].str[:2] + "*****"
    out["birth_date"] = generalize_birth_dates(df["birth_date"])
    out["income"] = bucket_incomes(df["income"])
    out["remark"] = df["remark"].str.replace(REMARK_PII, lambda m: "*" * len(m.group()), regex=True)
    return out


# --- Peer 2: Presidio ---------------------------------------------------------------------

PRESIDIO_LANGUAGE = "zh"


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """A SpacyNlpEngine over ``spacy.blank(lang)`` pipelines: tokenizer only, no model.

    ``SpacyNlpEngine.load`` calls ``spacy.cli.download`` for a model that is not
    installed; this ``load`` never looks for a model, so nothing is downloaded.
    """

    def load(self) -> None:
        self.nlp = {model["lang_code"]: spacy.blank(model["lang_code"]) for model in self.models}


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's EmailRecognizer with an ASCII pattern and an offline domain check.

    The stock pattern starts with ``\\b`` and ``\\w``, which match CJK characters, so in
    ``发送至li@qq.com`` it takes ``发送至li@qq.com`` for the address. The stock
    ``validate_result`` calls ``tldextract.extract``, which fetches the Public Suffix List
    over the network on first use; the extractor here uses the list bundled with
    tldextract.
    """

    PATTERNS: ClassVar[list[Pattern]] = [Pattern("Email (ASCII)", EMAIL_LIKE, 0.5)]
    _suffixes: ClassVar[tldextract.TLDExtract] = tldextract.TLDExtract(
        cache_dir=None, suffix_list_urls=()
    )

    def validate_result(self, pattern_text: str) -> bool:
        return self._suffixes(pattern_text).fqdn != ""


def _recognizer(entity: str, regex: str, score: float) -> PatternRecognizer:
    return PatternRecognizer(
        supported_entity=entity,
        name=f"{entity.title().replace('_', '')}Recognizer",
        patterns=[Pattern(entity.lower(), regex, score)],
        supported_language=PRESIDIO_LANGUAGE,
    )


def build_presidio() -> tuple[AnalyzerEngine, AnonymizerEngine]:
    """An AnalyzerEngine with pattern recognizers for the demo's PII, and an AnonymizerEngine.

    There is no NER model: the analyzer runs on a blank spaCy ``zh`` pipeline, and only
    the recognizers registered here are used (no predefined ones, no SpacyRecognizer).
    """
    nlp_engine = BlankSpacyNlpEngine(
        models=[{"lang_code": PRESIDIO_LANGUAGE, "model_name": f"blank:{PRESIDIO_LANGUAGE}"}]
    )
    registry = RecognizerRegistry(supported_languages=[PRESIDIO_LANGUAGE])
    for recognizer in (
        # Scores only matter where two kinds claim the same text: an 18-digit ID is also a
        # card-like digit run, and must be reported as an ID.
        _recognizer("CN_RESIDENT_ID", ID_LIKE, 0.8),
        _recognizer("CN_BANK_CARD", CARD_LIKE, 0.6),
        _recognizer("CN_MOBILE", MOBILE_LIKE, 0.7),
        _recognizer("CN_PLATE", PLATE_LIKE, 0.7),
        OfflineEmailRecognizer(supported_language=PRESIDIO_LANGUAGE),
        # For the name and address columns only: whole-cell shapes, useless in free text.
        _recognizer("CN_NAME", r"^[\u4e00-\u9fff]{2,4}$", 0.5),
        _recognizer("CN_ADDRESS", r"^[\u4e00-\u9fff]{1,10}?(?:省|市|自治区|特别行政区)\S*$", 0.5),
    ):
        registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=[PRESIDIO_LANGUAGE]
    )
    return analyzer, AnonymizerEngine()


# Entities to look for, per column: a typed column only asks for its own type.
PRESIDIO_ENTITIES: dict[str, list[str]] = {
    "name": ["CN_NAME"],
    "id_number": ["CN_RESIDENT_ID"],
    "mobile": ["CN_MOBILE"],
    "email": ["EMAIL_ADDRESS"],
    "bank_card": ["CN_BANK_CARD"],
    "address": ["CN_ADDRESS"],
    "plate": ["CN_PLATE"],
    "remark": ["CN_RESIDENT_ID", "CN_BANK_CARD", "CN_MOBILE", "EMAIL_ADDRESS", "CN_PLATE"],
}

_COLUMN_RULES: dict[str, Callable[[str], str]] = {
    "CN_NAME": mask_name,
    "CN_RESIDENT_ID": mask_id_number,
    "CN_MOBILE": mask_mobile,
    "EMAIL_ADDRESS": mask_email,
    "CN_BANK_CARD": mask_bank_card,
    "CN_ADDRESS": mask_address,
    "CN_PLATE": mask_plate,
}
# Presidio's `mask` keeps one end at most; the column rules keep both, hence `custom`.
COLUMN_OPERATORS = {
    entity: OperatorConfig("custom", {"lambda": rule}) for entity, rule in _COLUMN_RULES.items()
}
# Free text: every detected span becomes as many asterisks as it has characters.
REMARK_OPERATORS = {
    "DEFAULT": OperatorConfig(
        "mask", {"masking_char": "*", "chars_to_mask": 1000, "from_end": False}
    )
}


def mask_presidio(
    df: pd.DataFrame, analyzer: AnalyzerEngine, anonymizer: AnonymizerEngine
) -> pd.DataFrame:
    """Mask the demo population cell by cell with Presidio: analyze, then anonymize.

    Presidio detects and replaces spans; it has no generalisation, so birth_date and
    income get the same pandas code as :func:`mask_pandas`.
    """
    batch_analyzer = BatchAnalyzerEngine(analyzer)
    batch_anonymizer = BatchAnonymizerEngine(anonymizer)
    out = df.copy()
    for column, entities in PRESIDIO_ENTITIES.items():
        present = df[column].notna()
        texts = df.loc[present, column].tolist()
        results = batch_analyzer.analyze_iterator(
            texts, language=PRESIDIO_LANGUAGE, entities=entities, batch_size=256
        )
        operators = REMARK_OPERATORS if column == "remark" else COLUMN_OPERATORS
        out.loc[present, column] = batch_anonymizer.anonymize_list(
            texts, results, operators=operators
        )
    out["birth_date"] = generalize_birth_dates(df["birth_date"])
    out["income"] = bucket_incomes(df["income"])
    return out


# --- Quick run ----------------------------------------------------------------------------


def _timed(label: str, rows: int, repeat: int, run: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Run ``repeat`` times and print the best time as rows/s."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<9} {rows:>9,} rows  {best:8.2f} s  {rows / best:>10,.0f} rows/s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="demo rows (default 20000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs per peer; best is shown")
    parser.add_argument("--skip-presidio", action="store_true", help="time the pandas peer only")
    args = parser.parse_args(argv)

    from sandbox.demo import generate_people
    from sandbox.validators import find_identifiers

    with tempfile.TemporaryDirectory(prefix="trustlab-bench-") as tmp:
        path = Path(tmp) / "people.csv"
        generate_people(path, rows=args.rows, seed=args.seed)
        df = pd.read_csv(path, dtype=str)

    print(f"masking time only (CSV generation and reading excluded), best of {args.repeat}:")
    peers = {"pandas": _timed("pandas", len(df), args.repeat, lambda: mask_pandas(df))}
    if not args.skip_presidio:
        start = time.perf_counter()
        analyzer, anonymizer = build_presidio()
        print(f"presidio engines built in {time.perf_counter() - start:.2f} s (not timed below)")
        peers["presidio"] = _timed(
            "presidio", len(df), args.repeat, lambda: mask_presidio(df, analyzer, anonymizer)
        )

    for name, masked in peers.items():
        leaks = sum(bool(find_identifiers(text)) for text in masked["remark"])
        changed = (masked["remark"] != df["remark"]).sum()
        print(f"{name}: {changed:,} remarks masked, {leaks:,} still hold a valid identifier")
    if "presidio" in peers:
        a, b = peers["pandas"], peers["presidio"]
        differ = (a.ne(b) & ~(a.isna() & b.isna())).sum()
        print("cells where the peers disagree:", dict(differ[differ > 0]) or "none")

    # Spot checks: a formatted mobile, and remarks holding an ID and a plate.
    picks: list[int] = []
    for column, pattern in (("mobile", r"[+\s-]"), ("remark", ID_LIKE), ("remark", PLATE_LIKE)):
        found = df[column].str.contains(pattern, regex=True, na=False) & ~df.index.isin(picks)
        picks.extend(df.index[found][:1])
    print("\nspot checks: original  |  " + "  |  ".join(peers))
    for i in picks:
        print(f"row {i}")
        for column in df.columns:
            cells = [df.at[i, column], *(masked.at[i, column] for masked in peers.values())]
            print(f"  {column:<10} " + "  |  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
