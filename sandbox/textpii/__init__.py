"""PII in free text: detectors that return spans, and one masker that combines them.

A detector is a callable ``text -> list[Span]``. The masker (``masker.TextMasker``) runs
the detectors it is given, merges their spans and masks them in one pass, so each
detector's contribution can be measured by leaving it out (``bench/freetext.py``).

- ``patterns``: identifiers by shape (IDs in any spacing and case, mobiles in every
  written form, emails, bank cards, plates, addresses, birth dates);
- ``names``: person names from jieba's HMM part-of-speech tagger (tag ``nr``) and from
  surname-anchored patterns with context words (relations, roles, titles, speech verbs);
- ``known``: the dataset's own PII values, found anywhere in the text (Aho–Corasick);
- ``namescore``: the leak gate's *independent* name detector (character likelihoods, a
  different method from the masker's), run on masked text.
"""

from sandbox.textpii.spans import Span, merge

__all__ = ["Span", "merge"]
