"""The leak gate's own name detector: character likelihoods, not the masker's methods.

The masker finds names with jieba's HMM tagger, a curated surname list with context
words, and the dataset's own values. This detector shares none of them. From jieba's
dictionary *as data* it estimates, once:

- which characters start person names (the first character of the dictionary's
  three-character ``nr`` entries, kept when it starts many of them): its surname set;
- how much more often each character appears in given names than in ordinary words
  (a log-likelihood ratio, add-half smoothed).

A candidate is a surname followed by two (or one) Han characters that is not an ordinary
dictionary word and does not continue the word before it; it is reported when its given
characters score high enough. Run on *masked* text, what it reports is a name the masker
left behind, whoever it names.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from sandbox.textpii.patterns import HAN

MIN_SURNAME_ENTRIES = 25  # dictionary names a character must start to count as a surname
MIN_COMPOUND_ENTRIES = 5  # four-character dictionary names a pair must start (欧阳, 司马)
THRESHOLD_TWO = 2.2  # mean given-character score for a three-character name
THRESHOLD_ONE = 3.6  # a two-character name (surname + one) needs a more name-like char
MIN_CHAR = 0.3  # every given character must lean towards names at least this much
_COMMON = 30  # dictionary frequency from which a non-name word is "ordinary"
_HAN_RE = re.compile(rf"[{HAN}]")
_PLACE_SUFFIX = set("省市区县州旗盟镇乡村屯寨路街道巷弄里号楼院局所站厂店园馆山河湖江桥港湾")


@dataclass(frozen=True)
class Model:
    surnames: frozenset[str]
    compound: frozenset[str]
    score: dict[str, float]
    words: dict[str, int]  # ordinary (non-name) words and their frequency
    longer: frozenset[str]  # 3-5 character words: places and transliterations (哈尔滨)


@lru_cache(maxsize=1)
def model() -> Model:
    from sandbox.textpii.names import _freq, _word_tags  # jieba's dictionary, loaded once

    tags, freq = _word_tags(), _freq()
    starts: Counter[str] = Counter()
    given: Counter[str] = Counter()
    text: Counter[str] = Counter()
    words: dict[str, int] = {}
    for word, tag in tags.items():
        f = freq.get(word, 0)
        if tag == "nr" and len(word) == 3 and all(_HAN_RE.match(c) for c in word):
            starts[word[0]] += 1
            given.update(word[1:])
        elif not tag.startswith("nr"):
            text.update({c: f for c in word})
            if f >= _COMMON:
                words[word] = f
    surnames = frozenset(c for c, n in starts.items() if n >= MIN_SURNAME_ENTRIES)
    pairs = Counter(w[:2] for w, t in tags.items() if t == "nr" and len(w) == 4)
    compound = frozenset(
        p for p, k in pairs.items() if k >= MIN_COMPOUND_ENTRIES and p not in words
    )
    g_total, t_total = sum(given.values()), sum(text.values())
    score = {
        c: math.log((given[c] + 0.5) / g_total) - math.log((text[c] + 1) / t_total)
        for c in set(given) | set(text)
    }
    longer = frozenset(
        w for w, t in tags.items() if 3 <= len(w) <= 5 and (not t.startswith("nr") or t == "nrt")
    )
    return Model(surnames, compound, score, words, longer)


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    score: float


def find_names(text: str) -> list[Finding]:
    """Likely person names left in ``text`` (positions and scores), longest first."""
    m = model()
    out: list[Finding] = []
    i = 0
    n = len(text)
    while i < n - 1:
        sl = 2 if text[i : i + 2] in m.compound else 1 if text[i] in m.surnames else 0
        if not sl or (i and _continues(m, text, i)):
            i += 1
            continue
        found = None
        for given in (2, 1):
            chars = text[i + sl : i + sl + given]
            if len(chars) != given or not all(_HAN_RE.match(c) for c in chars):
                continue
            word = text[i : i + sl + given]
            if word in m.words or chars in m.words or text[i : i + sl + 1] in m.words:
                continue
            if text[i + sl + given : i + sl + given + 1] in _PLACE_SUFFIX | {"*"}:
                continue  # 武侯区, 张家村: a place; 师李**: the name after it was masked
            if _inside_longer_word(m, text, i, sl + given):
                continue  # 哈尔滨, 乌鲁木齐, 汉密尔顿: a longer dictionary word starts here
            scores = [m.score.get(c, 0.0) for c in chars]
            mean = sum(scores) / given
            if min(scores) >= MIN_CHAR and mean >= (THRESHOLD_TWO if given == 2 else THRESHOLD_ONE):
                found = Finding(i, i + sl + given, mean)
                break
        if found:
            out.append(found)
            i = found.end
        else:
            i += 1
    return out


def _inside_longer_word(m: Model, text: str, i: int, length: int) -> bool:
    """A 3-5 character dictionary word starts at ``i`` past the candidate, or covers ``i``
    from one or two characters before (呼和浩特 around 和浩特)."""
    if any(text[i : i + k] in m.longer for k in range(length + 1, length + 4)):
        return True
    return any(
        text[i - back : i - back + k] in m.longer
        for back in (1, 2)
        if i - back >= 0
        for k in range(back + 1, 6)
    )


def _continues(m: Model, text: str, i: int) -> bool:
    """The character before ``i`` and the surname form an ordinary word (银行, 公司)."""
    return text[i - 1 : i + 1] in m.words or text[max(0, i - 2) : i + 1] in m.words


def has_name(text: str | None) -> bool:
    return bool(text) and bool(find_names(str(text)))
