"""JSONPath (jsonpath-ng, extended syntax) as registered and orchestrated APIs use it.

Paths are compiled once and cached; evaluating one never runs code from the definition.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse

MAX_LENGTH = 500


@lru_cache(maxsize=1024)
def compiled(text: str) -> JSONPath:
    """The compiled path; ValueError (saying why) when it is not one."""
    if not text.startswith("$") or len(text) > MAX_LENGTH:
        raise ValueError(f"{text[:60]!r} is not a JSONPath starting with $ (at most {MAX_LENGTH})")
    try:
        return parse(text)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise ValueError(f"{text[:60]!r} is not a valid JSONPath ({type(exc).__name__})") from None


def values(text: str, data: Any) -> list[Any]:
    """Every value ``text`` selects in ``data``, in document order."""
    return [m.value for m in compiled(text).find(data)]


def first(text: str, data: Any) -> Any:
    """The first value ``text`` selects, or None."""
    found = values(text, data)
    return found[0] if found else None
