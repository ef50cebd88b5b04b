"""Identifiers in free text, found by shape: over-masking on purpose.

A shape match is masked without checking its check digit: a sample loses a little text,
never a real number. Separators (spaces, dashes, dots, full-width forms) may sit between
any two characters of an identifier, because people write them that way; they are
masked with it. What stays visible follows the column rules: an ID's first 6 and last 4,
a mobile's first 3 and last 4, a card's first 6 and last 4, a plate's first 2.
"""

from __future__ import annotations

import re
import unicodedata

from sandbox.textpii.spans import Span

HAN = "\u3400-\u4dbf\u4e00-\u9fff"
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
_SEP = r"[ \t\u3000\-\u2010-\u2015\uff0d.·]?"  # at most one separator between characters
_D = r"[0-9\uff10-\uff19]"  # ASCII and full-width digits


def _spaced(parts: str, n: int) -> str:
    """``n`` characters of class ``parts``, each optionally preceded by one separator."""
    return rf"(?:{_SEP}{parts}){{{n}}}"


# No digit (optionally followed by one separator) may touch an identifier on either side,
# so a mobile is never found inside a longer card number.
_NOT_AFTER = rf"(?<![0-9A-Za-z\uff10-\uff19])(?<![0-9\uff10-\uff19]{_SEP[:-1]})"
_NOT_BEFORE = rf"(?!{_SEP}[0-9\uff10-\uff19])(?![A-Za-z])"

# Resident ID: 18 characters, the last may be X/x; any spacing between characters.
_ID = re.compile(rf"{_NOT_AFTER}[1-8]{_spaced(_D, 16)}{_SEP}[0-9Xx\uff10-\uff19ｘＸ]{_NOT_BEFORE}")
# Mobile: an optional country prefix in any bracket form, then 1[3-9] and 9 more digits.
_MOBILE = re.compile(
    rf"{_NOT_AFTER}(?P<prefix>[(（\[]?(?:\+|＋|00)?86[)）\]]?{_SEP})?"
    rf"(?P<number>1{_SEP}[3-9３-９]{_spaced(_D, 9)}){_NOT_BEFORE}"
)
# Bank card: 15-19 digits in any grouping (checked after IDs and mobiles).
_CARD = re.compile(rf"{_NOT_AFTER}[1-9１-９]{_spaced(_D, 14)}(?:{_SEP}{_D}){{0,4}}{_NOT_BEFORE}")
# Any other run of 7+ digits (landlines, account and policy numbers).
_DIGITS = re.compile(
    rf"(?<![0-9\uff10-\uff19]){_D}(?:[ \-.()（）]*{_D}){{6,}}(?![0-9\uff10-\uff19])"
)
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+\s?[@＠]\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_PLATE = re.compile(
    rf"[{PLATE_PROVINCES}][A-Za-z][ ·.\-]?[A-Za-z0-9]{{4,6}}(?:[挂学警港澳])?(?![A-Za-z0-9])"
)
# Addresses: administrative levels down to a road, village, estate or building number.
_ADMIN = r"(?:省|自治区|特别行政区|市|自治州|地区|盟|区|县|旗|镇|乡|街道)"
_STREET = r"(?:大道|路|街|巷|道|胡同|弄|里|村|社区)"
_ESTATE = r"(?:小区|花园|家园|新村|公寓|大厦|广场|苑|府|城|湾|庭|居|坊|园)"
_NUMBER = rf"(?:{_D}+|[一二三四五六七八九十百零〇]+)"
_UNIT = rf"(?:{_NUMBER}(?:号楼|号院|号|弄|栋|幢|座|单元|门|层|楼|室|房|组|户)[-－]?)"
_ADDRESS = re.compile(
    rf"(?:[{HAN}]{{1,8}}?{_ADMIN})*"
    rf"(?:[{HAN}]{{1,10}}?{_STREET}(?:[{HAN}]{{0,6}}?{_STREET})?{_UNIT}+"
    rf"(?:(?:[{HAN}]{{1,10}}?{_ESTATE})+{_UNIT}*)?"
    rf"|(?:[{HAN}]{{1,10}}?{_ESTATE})+{_UNIT}{{2,}})(?:{_D}+)?"
)
_COUNTY = re.compile(r"^.*?(?<!自治)(?<!特别行政)(?<!地)[区县旗]")
# A birth date next to the words that announce one; the year stays, month and day go.
_CN = "〇零○一二三四五六七八九十"
_DATE = (
    rf"((?:19|20)?{_D}{{2}})(\s*[年\-/.]\s*{_D}{{1,2}}\s*[月\-/.]\s*{_D}{{1,2}}\s*[日号]?"
    rf"|{_D}{{4}}(?![0-9])|\s*年\s*{_D}{{1,2}}\s*月(?!\s*{_D})|[.\-/]{_D}{{1,2}}(?![0-9.\-/]))"
    rf"|([{_CN}]{{4}})(年[{_CN}]{{1,3}}月[{_CN}]{{1,3}}[日号]?)"
)
_BIRTH = re.compile(
    rf"(?:出生(?:于|日期|年月)?|生于|生日|DOB|D\.O\.B\.|[Bb]orn(?: on)?|[Dd]ate of [Bb]irth)"
    rf"(?:为|是|[:：\s])*(?:{_DATE})"
    rf"|(?:{_DATE})(?=\s*(?:出生|生人|生于|出世|降生|生(?![产活效成长气日])))"
)
# Every announcing word of _BIRTH holds one of these: texts without skip that pass.
_MAY_BIRTH = re.compile(r"生|DOB|D\.O\.B|[Bb]orn|[Bb]irth")
# Calendar dates are not identifiers, whatever digit run they make.
_CALENDAR = re.compile(rf"(?:19|20){_D}{{2}}[\-/.]{_D}{{1,2}}[\-/.]{_D}{{1,2}}")


def _fold_table() -> dict[int, str]:
    """Every BMP character whose NFKC form is one other character (full-width forms,
    the ideographic space, circled digits ...): one ``str.translate`` table."""
    table = {}
    for code in range(0x80, 0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        ch = chr(code)
        folded = unicodedata.normalize("NFKC", ch)
        if len(folded) == 1 and folded != ch:
            table[code] = folded
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Full-width forms to ASCII (NFKC), keeping the length, so patterns see one alphabet."""
    return text if text.isascii() else text.translate(_FOLD)


def _digits_only(s: str) -> int:
    return sum(ch.isdigit() for ch in s)


def identifier_spans(text: str) -> list[Span]:
    """IDs, emails, mobiles, cards, plates, digit runs, birth dates (in that precedence),
    in text already folded (``fold``)."""
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(span: Span) -> None:
        spans.append(span)
        taken.append((span.start, span.end))

    for m in _ID.finditer(text):
        add(keep_digits(text, m.start(), m.end(), "id_card", 6, 4))
    for m in _EMAIL.finditer(text) if "@" in text else ():  # folded: ＠ is @
        if free(m.start(), m.end()):
            add(Span(m.start(), m.end(), "email", keep=1, source="pattern"))
    for m in _MOBILE.finditer(text):
        if free(m.start(), m.end()):
            if m.group("prefix"):
                add(Span(m.start(), m.start("number"), "mobile", source="pattern"))
            add(keep_digits(text, m.start("number"), m.end(), "mobile", 3, 4))
    for m in _CARD.finditer(text):
        if free(m.start(), m.end()) and 15 <= _digits_only(m.group()) <= 19:
            add(keep_digits(text, m.start(), m.end(), "bank_card", 6, 4))
    for m in _PLATE.finditer(text):
        if free(m.start(), m.end()):
            add(Span(m.start(), m.end(), "plate", keep=2, source="pattern"))
    for m in _BIRTH.finditer(text) if _MAY_BIRTH.search(text) else ():
        group = next(g for g in (2, 4, 6, 8) if m.group(g))
        if free(m.start(group), m.end(group)):
            add(Span(m.start(group), m.end(group), "birth_date", source="pattern"))
    for m in _DIGITS.finditer(text):
        if free(m.start(), m.end()) and not _CALENDAR.fullmatch(m.group()):
            add(Span(m.start(), m.end(), "number", source="pattern"))
    return spans


def keep_digits(text: str, start: int, end: int, kind: str, head: int, tail: int) -> Span:
    """A span that keeps its first ``head`` and last ``tail`` letters or digits visible."""
    chunk = text[start:end]
    keep = _visible_prefix(chunk, head)
    keep_end = _visible_prefix(chunk[::-1], tail)
    return Span(start, end, kind, keep, keep_end, "pattern")


def _visible_prefix(chunk: str, digits: int) -> int:
    seen = 0
    for i, ch in enumerate(chunk):
        if seen == digits:
            return i
        if ch.isalnum():
            seen += 1
    return len(chunk)


def address_spans(text: str) -> list[Span]:
    """Addresses below county level: the part after the first 区/县/旗 is masked."""
    spans = []
    for m in _ADDRESS.finditer(text):
        county = _COUNTY.match(m.group())
        keep = county.end() if county else 0
        if keep >= len(m.group()):
            continue
        spans.append(Span(m.start(), m.end(), "address", keep=keep, source="pattern"))
    return spans
