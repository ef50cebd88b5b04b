"""Masking rules: one small interface, a registry, and the platform's default rules.

Every rule has two implementations of the same function:

- ``python(value)`` — the reference, used on single values (unit and property tests, and
  the API gateway's dynamic masking of response rows);
- ``spark(column, dtype)`` — a Spark expression built from *built-in* functions, used by
  the sample builder on the hot path. Free text (``sandbox.textpii``) and SM3 pseudonyms,
  which no built-in can express, run their Python reference on Arrow batches.

An integration test runs both on the same values and requires identical output.
Rules promise a format (``output_regex``, valid in Python and Java) that the leak gate
checks, and declare whether they are idempotent (masking a masked value changes nothing).

Sites add rules through the ``trustlab.masking_rules`` entry point group.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any, ClassVar

from hub.errors import TrustlabError
from sandbox.pii import COMPOUND_SURNAMES
from sandbox.spark import vectorized

STAR = "*"
HAN = "\u3400-\u9fff"
# Whitespace, spelled out: Python's str.strip() and \s are Unicode-wide, Spark's trim and
# Java's \s are not; both implementations use exactly these characters.
WS = " \t\n\r\f\x0b"
# Seven or more digits, whatever separators sit between them (what normalize_digits drops).
DIGIT_RUN = r"(?<![0-9])[0-9](?:[ \t\n\r\f\x0b\-.()]*[0-9]){6,}(?![0-9])"
_PY_DIGIT_RUN = re.compile(DIGIT_RUN)


class PolicyError(TrustlabError):
    """A masking policy or rule parameter is invalid."""


@dataclass(frozen=True)
class MaskingContext:
    """What rules may use beyond their parameters.

    ``secret`` keys pseudonyms and per-record offsets; ``known_values`` (a
    ``sandbox.textpii.known.KnownValues``) holds the dataset's own PII values, which the
    free-text rule masks wherever they appear.
    """

    secret: bytes
    hash_algorithm: str = "sha256"
    known_values: Any = None


@dataclass(frozen=True)
class Reveal:
    """What a rule leaves of a value (``sandbox.floor`` checks it against the floor).

    ``none``; ``partial`` (``head`` and ``tail`` characters kept); ``generalized`` (a
    coarser value: a year, a region, a bucket); ``text`` (free text with its PII masked,
    person names too when ``names``); ``all`` (the value itself).
    """

    kind: str
    head: int = 0
    tail: int = 0
    names: bool = True


def _spark() -> tuple[Any, Any]:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    return F, T


def _trim(column: Any) -> Any:
    """``str(value).strip(WS)`` as a Spark expression."""
    F, _ = _spark()
    return F.trim(column.cast("string"), F.lit(WS))


def _let(value: Any, body: Callable[[Any], Any]) -> Any:
    """``body(value)`` with ``value`` computed once per row.

    Spark copies a shared sub-expression into every branch of a CASE; binding it to a
    lambda variable (a one-element ``transform``) evaluates it exactly once.
    """
    F, _ = _spark()
    return F.element_at(F.transform(F.array(value), body), 1)


def _stars(n: Any) -> Any:
    """``'*' * n`` as a Spark expression (``n`` a Column; negative gives '')."""
    F, _ = _spark()
    return F.call_function("repeat", F.lit(STAR), n)


@dataclass
class MaskingRule(ABC):
    """Base class. Subclasses set the class attributes and implement ``python``/``spark``."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    note: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("string",)  # logical input types it accepts
    idempotent: ClassVar[bool] = True
    output_regex: ClassVar[str | None] = None  # format promise for string output

    params: dict[str, Any] = field(default_factory=dict)
    context: MaskingContext = field(default_factory=lambda: MaskingContext(b""))

    def __post_init__(self) -> None:
        self.params = {**self.defaults(), **self.params}
        unknown = set(self.params) - set(self.defaults())
        if unknown:
            raise PolicyError(
                f"rule {self.name} has no parameter(s) {sorted(unknown)}; it takes "
                f"{sorted(self.defaults()) or 'none'}"
            )
        self.validate()

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {}

    def validate(self) -> None:  # noqa: B027 - optional hook, most rules take no parameters
        """Check ``self.params``; raise PolicyError with what to do."""

    def reveals(self) -> Reveal | None:
        """What this rule leaves visible; ``None`` (undeclared) fails the floor for PII."""
        return None

    @abstractmethod
    def python(self, value: Any) -> Any:
        """Mask one value (None stays None)."""

    @abstractmethod
    def spark(self, column: Any, dtype: Any) -> Any:
        """The same masking as a Spark Column expression over ``column`` of type ``dtype``."""

    def release(self) -> None:  # noqa: B027 - optional hook
        """Free what ``spark`` shipped to the cluster (broadcasts), once the job is done."""

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip(WS)


# --- pass-through and removal --------------------------------------------------------------


class Keep(MaskingRule):
    name = "keep"
    note = "No masking: for columns classified as not personal (PII type none)."
    kinds = ("string", "integer", "decimal", "boolean", "date", "timestamp", "binary", "other")

    def reveals(self) -> Reveal:
        return Reveal("all")

    def python(self, value: Any) -> Any:
        return value

    def spark(self, column: Any, dtype: Any) -> Any:
        return column


class Drop(MaskingRule):
    """Handled by the builder: the column is left out of the sample."""

    name = "drop"
    note = "Leave the column out of the sample entirely."
    kinds = Keep.kinds

    def reveals(self) -> Reveal:
        return Reveal("none")

    def python(self, value: Any) -> Any:
        return None

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        return F.lit(None).cast(dtype)


class Redact(MaskingRule):
    name = "redact"
    note = "Replace the whole value: '****' for text, null for other types."
    kinds = Keep.kinds
    output_regex = r"^\*{4}$"

    def reveals(self) -> Reveal:
        return Reveal("none")

    def python(self, value: Any) -> Any:
        if value is None:
            return None
        return "****" if isinstance(value, str) else None

    def spark(self, column: Any, dtype: Any) -> Any:
        F, T = _spark()
        if isinstance(dtype, T.StringType):
            return F.when(column.isNull(), F.lit(None)).otherwise(F.lit("****"))
        return F.lit(None).cast(dtype)


# --- identifiers ----------------------------------------------------------------------------


class KeepEnds(MaskingRule):
    """Keep the first ``head`` and last ``tail`` characters; star the rest."""

    head: ClassVar[int]
    tail: ClassVar[int]

    def reveals(self) -> Reveal:
        return Reveal("partial", self.head, self.tail)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        keep = self.head + self.tail
        if len(s) > keep:
            return s[: self.head] + STAR * (len(s) - keep) + s[len(s) - self.tail :]
        return STAR * len(s)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        s = _trim(column)
        n = F.length(s)
        keep = self.head + self.tail
        masked = F.concat(
            F.substring(s, 1, self.head), _stars(n - keep), F.substring(s, -self.tail, self.tail)
        )
        return F.when(n > keep, masked).otherwise(_stars(n))


class IdCardKeep6Last4(KeepEnds):
    name = "id_keep6_4"
    note = (
        "Resident ID (GB 11643): keep the first 6 and last 4 characters, star the 8 between "
        "- the platform rule for public data."
    )
    head, tail = 6, 4
    output_regex = r"^([\s\S]{6}\*+[\s\S]{4}|\**)$"


# A country code in front of a full 11-digit number.
_MOBILE_PREFIX = r"^(?:0086|86)(?=[0-9*]{11})"


class MobileKeep3Last4(MaskingRule):
    name = "mobile_keep3_4"
    note = "Mobile: keep the first 3 and last 4 digits (138****5678), whatever the formatting."
    output_regex = r"^([0-9*]{3}\*{4}[0-9*]{4}|\*+[0-9*]{4}|\**)$"

    def reveals(self) -> Reveal:
        return Reveal("partial", 3, 4)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        d = re.sub(_MOBILE_PREFIX, "", re.sub(r"[^0-9*]", "", s))
        if len(d) >= 11:
            return d[:3] + "****" + d[-4:]
        if len(d) > 4:
            return STAR * (len(d) - 4) + d[-4:]
        return STAR * len(d)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        # Each regex runs once: the first CASE predicate uses ``d``, so Spark evaluates it once.
        digits = F.regexp_replace(
            F.regexp_replace(_trim(column), r"[^0-9*]", ""), _MOBILE_PREFIX, ""
        )

        def mask(d: Any) -> Any:
            n = F.length(d)
            return (
                F.when(
                    n >= 11, F.concat(F.substring(d, 1, 3), F.lit("****"), F.substring(d, -4, 4))
                )
                .when(n > 4, F.concat(_stars(n - 4), F.substring(d, -4, 4)))
                .otherwise(_stars(n))
            )

        return F.when(column.isNull(), F.lit(None)).otherwise(_let(digits, mask))


_CARD_SEPARATORS = str.maketrans("", "", WS + "-")


class BankCardKeep6Last4(MaskingRule):
    name = "card_keep6_4"
    note = (
        "Bank card: keep at most the first 6 and last 4 digits, star at least 6 (JR/T 0171 style)."
    )
    output_regex = r"^[\s\S]{0,6}\*+[\s\S]{0,4}$|^$"

    def reveals(self) -> Reveal:
        return Reveal("partial", 6, 4)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        d = s.translate(_CARD_SEPARATORS)
        n = len(d)
        if n >= 16:
            return d[:6] + STAR * (n - 10) + d[-4:]
        if n > 10:
            return d[: n - 10] + STAR * 6 + d[-4:]
        if n > 4:
            return STAR * (n - 4) + d[-4:]
        return STAR * n

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()

        def mask(d: Any) -> Any:
            n = F.length(d)
            head = F.call_function("substring", d, F.lit(1), n - 10)
            return (
                F.when(
                    n >= 16, F.concat(F.substring(d, 1, 6), _stars(n - 10), F.substring(d, -4, 4))
                )
                .when(n > 10, F.concat(head, F.lit(STAR * 6), F.substring(d, -4, 4)))
                .when(n > 4, F.concat(_stars(n - 4), F.substring(d, -4, 4)))
                .otherwise(_stars(n))
            )

        digits = F.translate(_trim(column), WS + "-", "")
        return F.when(column.isNull(), F.lit(None)).otherwise(_let(digits, mask))


_PLATE_SEPARATORS = str.maketrans("", "", "·" + WS)


class PlateKeepPrefix(MaskingRule):
    name = "plate_keep_prefix"
    note = "Licence plate (GA 36): keep the province character and the authority letter."
    output_regex = r"^[\s\S]{0,2}\*{5}$|^$"

    def reveals(self) -> Reveal:
        return Reveal("partial", 2, 0)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        s = s.translate(_PLATE_SEPARATORS)
        head = s[:2] if "*" not in s[:2] else s[: s.index("*")]
        return head + STAR * 5 if s else ""

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        s = F.translate(_trim(column), "·" + WS, "")
        first, second = F.substring(s, 1, 1), F.substring(s, 2, 1)
        head = (
            F.when(first == STAR, F.lit(""))
            .when(second == STAR, first)
            .otherwise(F.substring(s, 1, 2))
        )
        return F.when(F.length(s) > 0, F.concat(head, F.lit(STAR * 5))).otherwise(s)


class EmailKeepFirst(MaskingRule):
    name = "email_keep_first"
    note = "Email: keep the first character of the local part and the domain (z***@qq.com)."
    output_regex = r"^([^@ \t\n\r\f\x0b]\*{3}@.+|\*{4})$"
    _PATTERN = r"^([^@ \t\n\r\f\x0b])[^@]*@(.+)$"

    def reveals(self) -> Reveal:
        return Reveal("partial", 1, 0)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        m = re.match(self._PATTERN, s)
        if not m:
            return "****"
        # A domain is no place for a phone or card number: mask long digit runs there too
        # (on the whole result: the kept single character cannot start such a run).
        return _PY_DIGIT_RUN.sub("****", f"{m.group(1)}***@{m.group(2)}")

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        s = _trim(column)
        masked = F.regexp_replace(F.regexp_replace(s, self._PATTERN, "$1***@$2"), DIGIT_RUN, "****")
        return F.when(s.rlike(self._PATTERN), masked).otherwise(
            F.when(column.isNull(), F.lit(None)).otherwise(F.lit("****"))
        )


class NameKeepSurname(MaskingRule):
    name = "name_keep_surname"
    note = (
        "Person name: keep the surname (compound surnames such as 欧阳 stay whole), star "
        "the given name; non-Chinese names keep each word's initial."
    )
    # Han names: surname then stars; others: no two letters (Latin or Han) in a row, no digit.
    output_regex = rf"^([{HAN}]{{1,2}}\**|(?![\s\S]*[A-Za-z\u00C0-\u024F{HAN}]{{2}})[^0-9]*)$"

    def reveals(self) -> Reveal:
        return Reveal("partial", 2, 0)

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        if s and "\u3400" <= s[0] <= "\u9fff":
            keep = 2 if len(s) > 2 and s[:2] in COMPOUND_SURNAMES else 1
            return s[:keep] + STAR * (len(s) - keep)
        return re.sub(r"[0-9]", STAR, re.sub(r"(?<=[^\W\d_])[^\W\d_]", STAR, s))

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        s = _trim(column)
        n = F.length(s)
        first = F.substring(s, 1, 1)
        han = (first >= F.lit("\u3400")) & (first <= F.lit("\u9fff"))  # UTF-8 keeps code order
        compound = F.substring(s, 1, 2).isin(sorted(COMPOUND_SURNAMES)) & (n > 2)
        return (
            F.when(han & compound, F.concat(F.substring(s, 1, 2), _stars(n - 2)))
            .when(han, F.concat(F.substring(s, 1, 1), _stars(n - 1)))
            .otherwise(
                F.regexp_replace(F.regexp_replace(s, r"(?<=\p{L})\p{L}", STAR), "[0-9]", STAR)
            )
        )


# Province / prefecture / county, in that order; county-level marker required. The class
# excludes markers so each level is one name; 自治区/特别行政区 are provinces, not counties.
_REGION = (
    r"^(?:[^省市区县旗0-9]{1,8}(?:省|自治区|特别行政区))?"
    r"(?:[^省市区县旗0-9]{1,10}?(?:市|自治州|地区|盟))?"
    r"[^省市区县旗镇乡街路道号村0-9]{1,10}?(?:区|县|旗|市)"
)


class AddressKeepRegion(MaskingRule):
    name = "address_keep_region"
    note = "Address: keep province, city and district/county; replace the rest with '****'."
    output_regex = r"^[\s\S]*\*{4}$"

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        m = re.match(_REGION, s)
        return (m.group(0) if m else "") + "****"

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        s = _trim(column)
        return F.when(column.isNull(), F.lit(None)).otherwise(
            F.concat(F.regexp_extract(s, _REGION, 0), F.lit("****"))
        )


# --- dates ----------------------------------------------------------------------------------

_DATE_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})"), "yyyy-M-d"),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})"), "yyyy/M/d"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "yyyyMMdd"),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日"), "yyyy年M月d日"),
)


def parse_date(value: Any) -> date | None:
    """A date from a date/datetime or from text in the formats the platform recognises."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    for pattern, _ in _DATE_FORMATS:
        m = pattern.match(s)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


def _spark_date(column: Any, dtype: Any) -> Any:
    """A DateType expression from a date, timestamp or text column (null when unparseable)."""
    F, T = _spark()
    if isinstance(dtype, T.DateType):
        return column
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return F.to_date(column)
    s = _trim(column)
    candidates = []
    for pattern, fmt in _DATE_FORMATS:
        piece = F.regexp_extract(s, pattern.pattern, 0)
        candidates.append(F.try_to_date(F.when(piece != "", piece), fmt))
    return F.coalesce(*candidates)


def _like_input(result_date: Any, column: Any, dtype: Any) -> Any:
    """Give the masked date the input's type: dates stay dates, text becomes yyyy-MM-dd."""
    F, T = _spark()
    if isinstance(dtype, T.DateType):
        return result_date
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return result_date.cast(dtype)
    return F.date_format(result_date, "yyyy-MM-dd")


def _python_like_input(d: date | None, value: Any) -> Any:
    if d is None:
        return None
    if isinstance(value, datetime):
        return datetime(d.year, d.month, d.day)
    if isinstance(value, date):
        return d
    return d.isoformat()


class DateGeneralize(MaskingRule):
    name = "date_generalize"
    note = (
        "Birth date: generalize to the decade (yyy0-01-01), the year (yyyy-01-01) or the "
        "month (yyyy-MM-01)."
    )
    kinds = ("date", "timestamp", "string")
    output_regex = r"^\d{4}-\d{2}-01$"

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"to": "year"}

    def validate(self) -> None:
        if self.params["to"] not in ("decade", "year", "month"):
            raise PolicyError("date_generalize: to must be 'decade', 'year' or 'month'")

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        d = parse_date(value)
        if d is None:
            return None
        to = self.params["to"]
        if to == "decade":
            g = date(d.year - d.year % 10, 1, 1)
        else:
            g = date(d.year, 1, 1) if to == "year" else date(d.year, d.month, 1)
        return _python_like_input(g, value)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        to = self.params["to"]
        d = _spark_date(column, dtype)
        if to == "decade":
            year = F.year(d)
            g = F.make_date(year - year % 10, F.lit(1), F.lit(1))
        else:
            g = F.trunc(d, "year" if to == "year" else "month")
        return _like_input(g, column, dtype)


def _keyed_int(context: MaskingContext, text: str) -> int:
    """A keyed 32-bit integer of ``text``; the Spark side computes the same from sha2."""
    digest = hashlib.sha256((context.secret.hex() + text).encode()).hexdigest()
    return int(digest[:8], 16)


def _spark_keyed_int(context: MaskingContext, text: Any) -> Any:
    F, _ = _spark()
    digest = F.sha2(F.concat(F.lit(context.secret.hex()), text), 256)
    return F.conv(F.substring(digest, 1, 8), 16, 10).cast("long")


class DateShift(MaskingRule):
    name = "date_shift"
    note = (
        "Birth date: shift by a per-record offset of at most max_days, keyed by the platform "
        "secret so the same date of the same value shifts alike in every sample."
    )
    kinds = ("date", "timestamp", "string")
    idempotent = False  # shifting twice shifts twice, by design
    output_regex = r"^\d{4}-\d{2}-\d{2}$"

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"max_days": 30}

    def validate(self) -> None:
        if not isinstance(self.params["max_days"], int) or not 1 <= self.params["max_days"] <= 3650:
            raise PolicyError("date_shift: max_days must be an integer from 1 to 3650")

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        d = parse_date(value)
        if d is None:
            return None
        span = 2 * self.params["max_days"] + 1
        offset = _keyed_int(self.context, d.isoformat()) % span - self.params["max_days"]
        return _python_like_input(d + timedelta(days=offset), value)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        d = _spark_date(column, dtype)
        span = 2 * self.params["max_days"] + 1
        key = _spark_keyed_int(self.context, F.date_format(d, "yyyy-MM-dd"))
        offset = F.pmod(key, F.lit(span)) - self.params["max_days"]
        return _like_input(F.date_add(d, offset.cast("int")), column, dtype)


# --- numbers --------------------------------------------------------------------------------


class NumericRound(MaskingRule):
    name = "numeric_round"
    note = "Number: round half-up to `digits` decimal places (negative: tens, hundreds, ...)."
    kinds = ("integer", "decimal")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"digits": -3}

    def validate(self) -> None:
        if not isinstance(self.params["digits"], int) or not -12 <= self.params["digits"] <= 12:
            raise PolicyError("numeric_round: digits must be an integer from -12 to 12")

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        if value is None:
            return None
        q = Decimal(1).scaleb(-self.params["digits"])
        rounded = Decimal(str(value)).quantize(q, rounding=ROUND_HALF_UP)
        return int(rounded) if isinstance(value, int) else float(rounded)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        return F.round(column, self.params["digits"]).cast(dtype)


class NumericBucket(MaskingRule):
    name = "numeric_bucket"
    note = "Number: replace with the lower bound of its bucket of the given width."
    kinds = ("integer", "decimal")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"width": 10000}

    def validate(self) -> None:
        w = self.params["width"]
        if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
            raise PolicyError("numeric_bucket: width must be a positive number")

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        if value is None:
            return None
        w = Decimal(str(self.params["width"]))
        bucket = (Decimal(str(value)) / w).to_integral_value(rounding=ROUND_FLOOR) * w
        return int(bucket) if isinstance(value, int) else float(bucket)

    def spark(self, column: Any, dtype: Any) -> Any:
        F, _ = _spark()
        w = self.params["width"]
        return (F.floor(column / F.lit(w)) * F.lit(w)).cast(dtype)


class NumericNoise(MaskingRule):
    name = "numeric_noise"
    note = "Number: multiply by 1 + u, |u| <= ratio, u keyed per value (bounded noise)."
    kinds = ("integer", "decimal")
    idempotent = False

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"ratio": 0.1}

    def validate(self) -> None:
        r = self.params["ratio"]
        if not isinstance(r, int | float) or not 0 < r < 1:
            raise PolicyError("numeric_noise: ratio must be between 0 and 1")

    def _factor_python(self, value: Any) -> float:
        u = _keyed_int(self.context, str(value)) / 0xFFFFFFFF  # 0..1
        return 1 + (2 * u - 1) * self.params["ratio"]

    def reveals(self) -> Reveal:
        return Reveal("generalized")

    def python(self, value: Any) -> Any:
        if value is None:
            return None
        noisy = value * self._factor_python(value)
        return round(noisy) if isinstance(value, int) else noisy

    def spark(self, column: Any, dtype: Any) -> Any:
        F, T = _spark()
        text = column.cast("string")
        u = _spark_keyed_int(self.context, text) / F.lit(float(0xFFFFFFFF))
        noisy = column * (1 + (2 * u - 1) * self.params["ratio"])
        if isinstance(dtype, T.IntegralType):
            return F.round(noisy, 0).cast(dtype)
        return noisy.cast(dtype)


# --- pseudonyms -----------------------------------------------------------------------------

# Tokens use the letters a-p for the 16 hex digits: a token can never contain a digit run
# that looks like a phone, card or ID number and trips the leak gate.
TOKEN_RE = r"^tk_[a-p]{32}$"
_HEX_TO_TOKEN = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_TOKEN = re.compile(TOKEN_RE)


class Pseudonym(MaskingRule):
    name = "pseudonym"
    note = (
        "Keyed pseudonym: HMAC (SHA-256 or SM3) with the platform secret; equal inputs give "
        "equal tokens in every dataset, so joins still work; irreversible without the key."
    )
    kinds = ("string", "integer")
    output_regex = TOKEN_RE

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"algorithm": "sha256"}

    def validate(self) -> None:
        if self.params["algorithm"] not in ("sha256", "sm3"):
            raise PolicyError("pseudonym: algorithm must be sha256 or sm3")
        if not self.context.secret:
            raise PolicyError("pseudonym needs the platform secret (TRUSTLAB_HOME/keys)")

    def reveals(self) -> Reveal:
        return Reveal("none")

    def python(self, value: Any) -> Any:
        s = _text(value)
        if s is None:
            return None
        if _TOKEN.match(s):
            return s  # already a token: idempotent
        if self.params["algorithm"] == "sha256":  # OpenSSL's one-shot HMAC (the gateway's path)
            mac = hmac.digest(self.context.secret, s.encode(), "sha256")
        else:
            mac = hmac.new(self.context.secret, s.encode(), self._digestmod()).digest()
        return "tk_" + mac.hex()[:32].translate(_HEX_TO_TOKEN)

    def _digestmod(self) -> Callable[[], Any] | str:
        if self.params["algorithm"] == "sha256":
            return "sha256"
        from hub.hashing import hasher

        return hasher("sm3")

    def spark(self, column: Any, dtype: Any) -> Any:
        F, T = _spark()
        s = _trim(column)
        if self.params["algorithm"] == "sha256":
            # HMAC from built-ins: H((K^opad) || H((K^ipad) || m)); K is fixed, so both pads
            # are constants.
            key = self.context.secret
            if len(key) > 64:
                key = hashlib.sha256(key).digest()
            key = key.ljust(64, b"\0")
            ipad = bytes(b ^ 0x36 for b in key).hex()
            opad = bytes(b ^ 0x5C for b in key).hex()
            inner = F.sha2(F.concat(F.unhex(F.lit(ipad)), F.encode(s, "UTF-8")), 256)
            mac = F.sha2(F.concat(F.unhex(F.lit(opad)), F.unhex(inner)), 256)
            letters = F.translate(F.substring(mac, 1, 32), "0123456789abcdef", "abcdefghijklmnop")
            token = F.concat(F.lit("tk_"), letters)
        else:
            token = vectorized(self.python, T.StringType())(s)
        return F.when(s.rlike(TOKEN_RE), s).otherwise(token)


# --- free text ------------------------------------------------------------------------------


# Every identifier pattern needs a digit (ASCII, full-width or Chinese), an '@' or a plate
# prefix (a province abbreviation and a letter).
_IDENTIFIER_GUARD = (
    "[0-9\uff10-\uff19@\uff20\u3007\u96f6\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03"
    "\u516b\u4e5d\u5341]|[\u4eac\u6d25\u6caa\u6e1d\u5180\u8c6b\u4e91\u8fbd\u9ed1\u6e58"
    "\u7696\u9c81\u65b0\u82cf\u6d59\u8d63\u9102\u6842\u7518\u664b\u8499\u9655\u5409"
    "\u95fd\u8d35\u7ca4\u9752\u85cf\u5ddd\u5b81\u743c\u4f7f\u9886][A-Za-z]"
)


class FreeTextRedact(MaskingRule):
    name = "free_text_redact"
    version = 2
    note = (
        "Free text: mask IDs (any spacing and case), mobiles (every prefix form), emails, "
        "cards, plates, addresses, birth dates and digit runs by shape; person names found "
        "by jieba's tagger and by surname patterns with context words; and every value of "
        "the dataset's own PII columns wherever it appears (Aho-Corasick)."
    )

    _broadcast: Any = None  # the known values, shipped once to Spark's workers

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"names": True}

    def validate(self) -> None:
        if not isinstance(self.params["names"], bool):
            raise PolicyError("free_text_redact: names must be true or false")

    @cached_property
    def masker(self) -> Any:
        from sandbox.textpii.masker import ALL, TextMasker

        use = ALL if self.params["names"] else ("patterns",)
        known = self.context.known_values
        return TextMasker(use, known) if known is not None else TextMasker(use)

    def reveals(self) -> Reveal:
        return Reveal("text", names=self.params["names"])

    def python(self, value: Any) -> Any:
        if value is None:
            return None
        return self.masker.mask(str(value))

    def spark(self, column: Any, dtype: Any) -> Any:
        F, T = _spark()
        text = column.cast("string")
        # The Python reference itself, on Arrow batches: one definition, no drift. Spark
        # calls the UDF for every row whatever the condition around it, so rows that cannot
        # hold a match cross the Arrow boundary as nulls and keep their text.
        candidate = text.rlike(_IDENTIFIER_GUARD)
        if self.params["names"]:
            candidate = candidate | text.rlike(rf"[{HAN}]{{2}}")
        masked = vectorized(self._shipped(), T.StringType())(F.when(candidate, text))
        return F.when(candidate, masked).otherwise(text)

    def _shipped(self) -> Any:
        from pyspark import SparkContext

        from sandbox.textpii.masker import ShippedMask

        use = self.masker.use
        if "known" not in use or not self.masker.known.size:
            return ShippedMask(tuple(d for d in use if d != "known"))
        if self._broadcast is None:
            # The process's context, whichever thread builds (the API serves from a pool).
            self._broadcast = SparkContext.getOrCreate().broadcast(self.masker.known)
        return ShippedMask(use, self._broadcast)

    def release(self) -> None:
        if self._broadcast is not None:
            self._broadcast.destroy()
            self._broadcast = None


# --- registry -------------------------------------------------------------------------------

BUILTIN_RULES: tuple[type[MaskingRule], ...] = (
    Keep,
    Drop,
    Redact,
    IdCardKeep6Last4,
    MobileKeep3Last4,
    BankCardKeep6Last4,
    PlateKeepPrefix,
    EmailKeepFirst,
    NameKeepSurname,
    AddressKeepRegion,
    DateGeneralize,
    DateShift,
    NumericRound,
    NumericBucket,
    NumericNoise,
    Pseudonym,
    FreeTextRedact,
)

# The rule a confirmed PII type gets when the policy does not say otherwise.
DEFAULT_RULES: dict[str, tuple[str, dict[str, Any]]] = {
    "id_card": ("id_keep6_4", {}),
    "mobile": ("mobile_keep3_4", {}),
    "name": ("name_keep_surname", {}),
    "address": ("address_keep_region", {}),
    "email": ("email_keep_first", {}),
    "bank_card": ("card_keep6_4", {}),
    "plate": ("plate_keep_prefix", {}),
    # Decades: with a gender and a district beside it, birth years leave most classes of a
    # 10,000-row sample below k = 5 (the default floor); decades keep nearly all rows.
    "birth_date": ("date_generalize", {"to": "decade"}),
    "free_text": ("free_text_redact", {}),
    "none": ("keep", {}),
}


def registry() -> dict[str, type[MaskingRule]]:
    """Built-in rules plus those registered under the ``trustlab.masking_rules`` entry points."""
    from hub.platform import plugins

    rules = {r.name: r for r in BUILTIN_RULES}
    for name, ep in plugins("trustlab.masking_rules").items():
        rules[name] = ep.load()
    return rules


def make_rule(name: str, params: dict[str, Any], context: MaskingContext) -> MaskingRule:
    rules = registry()
    if name not in rules:
        raise PolicyError(f"unknown masking rule {name!r}; choose from {', '.join(sorted(rules))}")
    return rules[name](params=dict(params), context=context)
