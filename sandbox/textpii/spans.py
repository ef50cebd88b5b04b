"""Spans of PII found in a text, and how overlapping spans merge."""

from __future__ import annotations

from dataclasses import dataclass

STAR = "*"


@dataclass(frozen=True, order=True)
class Span:
    """``text[start:end]`` is PII of ``kind``; ``keep`` leading characters stay visible."""

    start: int
    end: int
    kind: str
    keep: int = 0  # visible prefix (a surname, an ID's region code)
    keep_end: int = 0  # visible suffix (an ID's last four)
    source: str = ""  # the detector that found it


def merge(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans covering every input span.

    Where spans overlap, a character stays visible only if every span covering it lets
    it show: the union keeps the shorter visible prefix and suffix.
    """
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not out or span.start >= out[-1].end:
            out.append(span)
            continue
        last = out[-1]
        keep = min(last.keep, span.start - last.start + span.keep)
        if span.end > last.end:
            # The new span's visible suffix shows only where ``last`` does not cover it.
            keep_end = min(span.keep_end, span.end - last.end)
        elif span.end == last.end:
            keep_end = min(last.keep_end, span.keep_end)
        else:
            keep_end = last.keep_end if last.end - last.keep_end >= span.end else 0
        end = max(last.end, span.end)
        out[-1] = Span(last.start, end, last.kind, keep, keep_end, last.source)
    return out


def apply(text: str, spans: list[Span]) -> str:
    """``text`` with every merged span starred, except its visible prefix and suffix.

    Whitespace and separators inside a span are starred too: a masked value must not
    reveal how it was written.
    """
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for span in merge(spans):
        parts.append(text[pos : span.start])
        length = span.end - span.start
        keep = min(span.keep, length)
        keep_end = min(span.keep_end, length - keep)
        middle = length - keep - keep_end
        parts.append(text[span.start : span.start + keep])
        parts.append(STAR * middle)
        parts.append(text[span.end - keep_end : span.end])
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
