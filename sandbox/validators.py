"""Validators for Chinese personal identifiers: structure *and* check digits, not just shapes.

These are shared by PII detection (catalog proposals), the leak gate and the demo data
generator, so a value the generator calls valid is one the detector and the gate recognise.
"""

from __future__ import annotations

import re
from datetime import date

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; check value table.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First digit of the administrative division code (GB/T 2260): 1-6 mainland regions,
# 7 Taiwan, 8 Hong Kong/Macao (residence permits).
_ID_RE = re.compile(r"[1-8]\d{16}[\dXx]")

# Mobile numbers: 11 digits, 1 then 3-9; international prefix and separators tolerated.
_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
_MOBILE_PREFIX = re.compile(r"^(?:\+|00)?86")
_SEPARATORS = re.compile(r"[\s\-().]")

_EMAIL_RE = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
)

# Licence plates (GA 36): province abbreviation, issuing-authority letter, 5 characters
# (6 for new-energy vehicles). I and O are not used as serial letters.
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
# Longest alternatives first, and no letter/digit may follow, so a new-energy plate
# found in free text is never cut short to its first five serial characters.
_PLATE_RE = re.compile(
    rf"[{PLATE_PROVINCES}][A-HJ-NP-Z][·\s]?(?:[DF][A-HJ-NP-Z0-9]{{5}}|[A-HJ-NP-Z0-9]{{5}}[DF]|"
    r"[A-HJ-NP-Z0-9]{5}|[A-HJ-NP-Z0-9]{4}[挂学警港澳])(?![A-Za-z0-9])"
)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_resident_id(value: str) -> bool:
    """True for an 18-character resident ID with a valid birth date and check digit."""
    value = value.strip()
    if not _ID_RE.fullmatch(value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < 1880 or born > date.today():
        return False
    return id_check_char(value[:17]) == value[17].upper()


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by bank card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Digit sum of 2*d for each digit d: the Luhn "doubling" step as a translation table.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(payload: str) -> str:
    """The digit to append to ``payload`` so that the result passes Luhn."""
    if not payload.isdigit():
        raise ValueError("payload must be digits")
    # Once the check digit is appended, the payload's last digit and every second one
    # before it are doubled.
    doubled = payload[::-2].translate(_LUHN_DOUBLED)
    plain = payload[-2::-2]
    total = sum(doubled.encode()) + sum(plain.encode()) - 48 * len(payload)
    return str(-total % 10)


def normalize_digits(value: str) -> str:
    """Drop spaces, dashes, dots and parentheses."""
    return _SEPARATORS.sub("", value.strip())


def is_bank_card(value: str) -> bool:
    """13-19 digits (separators tolerated) passing Luhn; UnionPay cards are 16-19."""
    digits = normalize_digits(value)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def normalize_mobile(value: str) -> str | None:
    """The 11-digit mobile number in ``value`` (``+86``/``0086``/spaces/dashes tolerated)."""
    compact = normalize_digits(value)
    if len(compact) > 11:
        compact = _MOBILE_PREFIX.sub("", compact)
    return compact if _MOBILE_RE.fullmatch(compact) else None


def is_mobile(value: str) -> bool:
    return normalize_mobile(value) is not None


def is_email(value: str) -> bool:
    return _EMAIL_RE.fullmatch(value.strip()) is not None


def is_plate(value: str) -> bool:
    return _PLATE_RE.fullmatch(value.strip().upper()) is not None


# Patterns for finding identifiers embedded in free text. Digit runs are bounded by
# non-digits so that a substring of a longer number is not reported.
_EMBEDDED_ID = re.compile(r"(?<![0-9A-Za-z])[1-8]\d{16}[\dXx](?![0-9A-Za-z])")
_EMBEDDED_MOBILE = re.compile(
    r"(?<!\d)(?:(?:\+|00)?86[\s\-]?)?1[3-9]\d[\s\-]?\d{4}[\s\-]?\d{4}(?!\d)"
)
_EMBEDDED_CARD = re.compile(
    r"(?<![0-9A-Za-z])\d{4}(?:[\s\-]?\d{4}){2,3}(?:[\s\-]?\d{1,3})?(?![0-9A-Za-z])"
)
_EMBEDDED_PLATE = re.compile(_PLATE_RE.pattern, re.IGNORECASE)


def find_identifiers(text: str) -> dict[str, list[tuple[int, int]]]:
    """Spans of validated identifiers embedded in ``text``, by PII type.

    Only spans that pass their validator are returned (check digit, Luhn, mobile prefix),
    so an order number that merely looks like an ID is not reported.
    """
    found: dict[str, list[tuple[int, int]]] = {}

    def add(kind: str, span: tuple[int, int]) -> None:
        taken = [s for spans in found.values() for s in spans]
        if not any(a < span[1] and span[0] < b for a, b in taken):
            found.setdefault(kind, []).append(span)

    for m in _EMBEDDED_ID.finditer(text):
        if is_resident_id(m.group()):
            add("id_card", m.span())
    for m in _EMBEDDED_CARD.finditer(text):
        if is_bank_card(m.group()) and len(normalize_digits(m.group())) >= 16:
            add("bank_card", m.span())
    for m in _EMBEDDED_MOBILE.finditer(text):
        if is_mobile(m.group()):
            add("mobile", m.span())
    for m in _EMAIL_RE.finditer(text):
        add("email", m.span())
    for m in _EMBEDDED_PLATE.finditer(text):
        add("plate", m.span())
    return found
