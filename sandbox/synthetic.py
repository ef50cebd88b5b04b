"""Synthetic samples: the dataset's schema, formats and per-column distributions, and not
one real row.

For datasets whose owner allows no real rows in development (``trustlab sample build NAME
--synthetic``). Each column is generated on its own (joint distributions are not kept):

- PII columns by type with Faker's ``zh_CN`` locale and the platform's own generators:
  names and addresses from Faker; resident IDs with a real-looking region, birth date and
  sequence but a **wrong check digit**, and bank cards that **fail Luhn**, so no value can
  belong to anyone; emails on the reserved ``example`` domains; plates and mobiles in
  their usual formats;
- birth dates: years drawn from the source's years (only years held by at least ``k``
  people), month and day at random;
- other columns from the source's distribution: numbers and dates from 100 quantiles,
  categories from their frequencies (only values held by at least ``k`` rows: a rare value
  could identify someone), other text shape-preserved (each digit, letter and Han
  character of a sampled value replaced at random, punctuation kept);
- nulls in the source's proportion.

The leak gate then checks the result like any sample; its raw-value join covers every
sensitive column, so no generated value equals a real one.
"""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sandbox.validators import id_check_char, luhn_check_digit

QUANTILES = 100
MAX_CATEGORIES = 1000
_COMMON_HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能"
    "下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量"
)


@dataclass
class ColumnModel:
    name: str
    kind: str  # pii type, or numeric/date/category/text
    null_fraction: float
    data: dict[str, Any] = field(default_factory=dict)


def _spark_kind(dtype: Any) -> str:
    from pyspark.sql import types as T

    if isinstance(dtype, T.NumericType):
        return "numeric"
    if isinstance(dtype, T.DateType | T.TimestampType | T.TimestampNTZType):
        return "date"
    if isinstance(dtype, T.BooleanType):
        return "category"
    return "text"


def profile(source: Any, info: dict[str, Any], min_count: int) -> list[ColumnModel]:
    """What generation needs of each column: aggregates only, never a row."""
    from pyspark.sql import functions as F

    total = source.count()
    pii = {c["name"]: c["pii"] for c in info["columns"]}
    models = []
    for f in source.schema.fields:
        col = F.col(f"`{f.name}`")
        nulls = source.where(col.isNull()).count()
        kind = pii.get(f.name, "none")
        if kind == "none":
            kind = _spark_kind(f.dataType)
        model = ColumnModel(f.name, kind, nulls / total if total else 0.0)
        present = source.where(col.isNotNull())
        if kind == "birth_date":
            years = present.select(F.year(F.to_date(col)).alias("y")).groupBy("y").count()
            model.data["years"] = {
                r["y"]: r["count"] for r in years.collect() if r["y"] and r["count"] >= min_count
            }
        elif kind in ("numeric", "date"):
            cast = col.cast("double") if kind == "numeric" else F.unix_timestamp(col)
            probs = [i / QUANTILES for i in range(QUANTILES + 1)]
            model.data["quantiles"] = present.select(cast.alias("v")).approxQuantile(
                "v", probs, 0.001
            )
            model.data["dtype"] = f.dataType.simpleString()
        elif kind in ("text", "category"):
            counts = present.groupBy(col.alias("v")).count()
            if counts.count() <= MAX_CATEGORIES:
                model.kind = "category"
                model.data["values"] = {
                    r["v"]: r["count"] for r in counts.collect() if r["count"] >= min_count
                }
            else:
                model.kind = "text"
                shapes = present.select(col.cast("string").alias("v")).sample(
                    fraction=min(1.0, 200 / max(total, 1)), seed=1
                )
                model.data["shapes"] = [r["v"] for r in shapes.limit(200).collect()]
        models.append(model)
    return models


class Generator:
    """One value at a time per column model, deterministic for a seed."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)

    def value(self, model: ColumnModel, avoid: frozenset[str] = frozenset()) -> Any:
        """A value for ``model``; never one of ``avoid`` (the column's real values)."""
        if self.rng.random() < model.null_fraction:
            return None
        make = getattr(self, f"_{model.kind}", None) or self._text
        for _ in range(50):
            v = make(model)
            if v is None or not _collides(str(v), avoid):
                return v
        return None  # every attempt held a real value: leave the cell empty

    def _name(self, m: ColumnModel) -> str:
        return self.fake.name()

    def _address(self, m: ColumnModel) -> str:
        return self.fake.address().split(" ")[0]

    def _email(self, m: ColumnModel) -> str:
        user = self.fake.user_name()
        return f"{user}@{self.rng.choice(('example.com', 'example.net', 'example.org'))}"

    def _id_card(self, m: ColumnModel) -> str:
        real = self.fake.ssn()  # a well-formed ID ...
        # ... made impossible: its check digit is wrong (and it is no Luhn-valid card either)
        wrong = [c for c in "0123456789X" if c not in (id_check_char(real[:17]),
                                                      luhn_check_digit(real[:17]))]  # fmt: skip
        return real[:17] + self.rng.choice(wrong)

    def _bank_card(self, m: ColumnModel) -> str:
        length = self.rng.choice((16, 19))
        body = "62" + "".join(self.rng.choice(string.digits) for _ in range(length - 3))
        right = luhn_check_digit(body)
        return body + self.rng.choice([d for d in string.digits if d != right])

    def _mobile(self, m: ColumnModel) -> str:
        return (
            "1"
            + self.rng.choice("3456789")
            + "".join(self.rng.choice(string.digits) for _ in range(9))
        )

    def _plate(self, m: ColumnModel) -> str:
        serial = "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(5))
        return (
            self.rng.choice("京津沪渝冀豫云辽黑湘皖鲁苏浙赣鄂粤川")
            + self.rng.choice("ABCDEFGHJK")
            + serial
        )

    def _free_text(self, m: ColumnModel) -> str:
        return self.fake.sentence(nb_words=self.rng.randint(4, 12))

    def _birth_date(self, m: ColumnModel) -> str:
        years = m.data.get("years") or {1980: 1}
        year = self.rng.choices(list(years), list(years.values()))[0]
        return (date(year, 1, 1) + timedelta(days=self.rng.randrange(365))).isoformat()

    def _numeric(self, m: ColumnModel) -> Any:
        q = [v for v in m.data.get("quantiles") or [] if v is not None]
        if not q:
            return None
        u = self.rng.random() * (len(q) - 1)
        i = int(u)
        v = q[i] + (q[min(i + 1, len(q) - 1)] - q[i]) * (u - i)
        dtype = m.data.get("dtype", "double")
        return round(v) if dtype in ("int", "bigint", "smallint", "tinyint") else v

    def _date(self, m: ColumnModel) -> Any:
        seconds = self._numeric(m)
        if seconds is None:
            return None
        moment = datetime.fromtimestamp(seconds)
        return moment.date() if m.data.get("dtype") == "date" else moment

    def _category(self, m: ColumnModel) -> Any:
        values = m.data.get("values") or {}
        if not values:
            return None
        keys = list(values)
        cumulative = []
        running = 0
        for k in keys:
            running += values[k]
            cumulative.append(running)
        return keys[bisect.bisect(cumulative, self.rng.random() * running)]

    def _text(self, m: ColumnModel) -> Any:
        shapes = m.data.get("shapes") or []
        if not shapes:
            return self.fake.word()
        return "".join(self._like(ch) for ch in self.rng.choice(shapes))

    def _like(self, ch: str) -> str:
        if ch.isdigit():
            return self.rng.choice(string.digits)
        if ch.isascii() and ch.isalpha():
            pool = string.ascii_uppercase if ch.isupper() else string.ascii_lowercase
            return self.rng.choice(pool)
        if "\u3400" <= ch <= "\u9fff":
            return self.rng.choice(_COMMON_HAN)
        return ch


def _collides(value: str, avoid: frozenset[str]) -> bool:
    """``value``, or a 2-4 character piece of it (how the gate reads text), is real."""
    if not avoid:
        return False
    if value in avoid:
        return True
    return any(value[i : i + n] in avoid for n in (2, 3, 4) for i in range(0, len(value) - n + 1))


def _real_values(source: Any, info: dict[str, Any], limit: int = 2_000_000) -> dict[str, Any]:
    """The distinct values of the PII columns: a generated value must be none of them."""
    from pyspark.sql import functions as F

    out: dict[str, frozenset[str]] = {}
    for c in info["columns"]:
        if c["pii"] in ("none", "free_text") or c["name"] not in source.columns:
            continue
        col = F.trim(F.col(f"`{c['name']}`").cast("string")).alias("v")
        rows = source.select(col).where(F.col("v").isNotNull()).distinct().limit(limit)
        out[c["name"]] = frozenset(r["v"] for r in rows.toLocalIterator())
    return out


def _as_type(v: Any, dtype: Any, T: Any) -> Any:
    from decimal import Decimal

    if v is None:
        return None
    if isinstance(dtype, T.StringType):
        return str(v)
    if isinstance(dtype, T.DateType):
        return date.fromisoformat(v) if isinstance(v, str) else v
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType) and isinstance(v, str):
        return datetime.fromisoformat(v)
    if isinstance(dtype, T.IntegralType):
        return round(float(v))
    if isinstance(dtype, T.DecimalType):
        return Decimal(str(round(float(v), dtype.scale)))
    if isinstance(dtype, T.FractionalType):
        return float(v)
    return v


def synthesize(spark: Any, source: Any, info: dict[str, Any], rows: int, seed: int,
               min_count: int) -> Any:  # fmt: skip
    """A Spark DataFrame of ``rows`` synthetic rows with ``source``'s schema."""
    from pyspark.sql import types as T

    if rows < 1:
        raise ValueError("rows must be positive")
    models = profile(source, info, min_count)
    avoid = _real_values(source, info)
    gen = Generator(seed)
    fields = source.schema.fields
    data = []
    for _ in range(rows):
        row = []
        for f, model in zip(fields, models, strict=True):
            value = gen.value(model, avoid.get(f.name, frozenset()))
            row.append(_as_type(value, f.dataType, T))
        data.append(row)
    return spark.createDataFrame(data, schema=source.schema)


def synthetic_rules(info: dict[str, Any], context: Any) -> dict[str, Any]:
    """The rules the gate judges a synthetic sample by: every sensitive column counts as
    fully replaced (``redact``), so every one of its real values is hunted for."""
    from sandbox.floor import level_of
    from sandbox.masking import make_rule

    return {
        c["name"]: make_rule(
            "redact" if c["pii"] != "none" or level_of(c) >= 2 else "keep", {}, context
        )
        for c in info["columns"]
    }
