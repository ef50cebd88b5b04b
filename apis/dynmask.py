"""Dynamic masking (动态脱敏): each returned field as the caller's contract says.

``clear`` returns the value; a masking rule runs ``sandbox.masking``'s Python reference
on it (the same function the sample builder's Spark expression is tested against);
``pseudonym`` is a keyed token whose key is derived per application, so two consumers'
tokens for the same person do not match and cannot be joined across applications.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from apis.access import Access
from sandbox.masking import MaskingContext, make_rule

Mask = Callable[[Any], Any]


def application_context(base: MaskingContext, application: str) -> MaskingContext:
    key = hmac.new(base.secret, f"api-pseudonym:{application}".encode(), hashlib.sha256)
    return MaskingContext(secret=key.digest(), hash_algorithm=base.hash_algorithm)


PLAIN = frozenset((int, float, str, bool))


def _jsonable(value: Any) -> Any:
    if type(value) in PLAIN:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def masks(access: Access, base: MaskingContext) -> list[tuple[str, Mask | None]]:
    """(field, mask) in returned order; ``None``: the value goes out as it is."""
    context = application_context(base, access.application)
    out: list[tuple[str, Mask | None]] = []
    for field, how in access.fields.items():
        if how == "clear":
            out.append((field, None))
        elif how == "pseudonym":
            out.append((field, make_rule("pseudonym", {}, context).python))
        else:
            out.append((field, make_rule(how["rule"], dict(how.get("params", {})), context).python))
    return out


def apply(rows: list[tuple], columns: list[str], plan: list[tuple[str, Mask | None]]) -> list[dict]:
    """Rows (as the database returned them) → masked JSON objects in the plan's order."""
    index = {c: i for i, c in enumerate(columns)}
    cols = [(f, index[f], m) for f, m in plan if f in index]
    if all(m is None for _, _, m in cols):
        return [{f: _jsonable(row[i]) for f, i, _ in cols} for row in rows]
    return [
        {f: _jsonable(row[i] if m is None or row[i] is None else m(row[i])) for f, i, m in cols}
        for row in rows
    ]
