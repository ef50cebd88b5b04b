"""Constant folding for the scanner: the string an expression always evaluates to
(``"so" + "cket"``, f-strings of constants, ``"".join``, ``[::-1]``, ``chr``, ``.lower()``,
``.format()``, base64/hex decoding), and SQL text with its formatted holes blanked."""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
from collections.abc import Mapping


class _Unknown:
    """Marker for a value the folder could not reduce to a constant."""


UNKNOWN = _Unknown()


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def fold(node: ast.AST, constants: Mapping[str, str] | None = None) -> str | _Unknown:
    """The constant string ``node`` always evaluates to, or UNKNOWN."""
    constants = constants or {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return node.value if isinstance(node.value, str) else node.value.decode("latin-1")
    if isinstance(node, ast.Name):
        return constants.get(node.id, UNKNOWN)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = fold(node.left, constants), fold(node.right, constants)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        left = fold(node.left, constants)
        right = node.right.value if isinstance(node.right, ast.Constant) else None
        if isinstance(left, str) and isinstance(right, int) and 0 <= right < 100:
            return left * right
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            part = fold(value.value if isinstance(value, ast.FormattedValue) else value, constants)
            if not isinstance(part, str):
                return UNKNOWN
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.Subscript):
        base = fold(node.value, constants)
        if isinstance(base, str) and isinstance(node.slice, ast.Slice):
            try:
                bounds = [
                    None if s is None else ast.literal_eval(s)
                    for s in (node.slice.lower, node.slice.upper, node.slice.step)
                ]
                return base[slice(*bounds)]
            except (ValueError, TypeError):
                return UNKNOWN
    if isinstance(node, ast.Call):
        return _fold_call(node, constants)
    return UNKNOWN


def _fold_call(node: ast.Call, constants: Mapping[str, str]) -> str | _Unknown:
    func = node.func
    args = [fold(a, constants) for a in node.args]
    if isinstance(func, ast.Name) and func.id == "chr" and len(node.args) == 1:
        try:
            return chr(ast.literal_eval(node.args[0]))
        except (ValueError, TypeError):
            return UNKNOWN
    if isinstance(func, ast.Name) and func.id == "str" and len(args) == 1:
        return args[0]
    if not isinstance(func, ast.Attribute):
        return UNKNOWN
    owner = fold(func.value, constants)
    if func.attr == "join" and isinstance(owner, str) and len(node.args) == 1:
        items = node.args[0]
        if isinstance(items, ast.List | ast.Tuple | ast.Set):
            parts = [fold(e, constants) for e in items.elts]
            if all(isinstance(p, str) for p in parts):
                return owner.join(parts)  # type: ignore[arg-type]
        return UNKNOWN
    if isinstance(owner, str) and all(isinstance(a, str) for a in args):
        method = {
            "lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip,
            "rstrip": str.rstrip, "replace": str.replace, "format": str.format,
            "decode": lambda s, *a: s, "encode": lambda s, *a: s, "title": str.title,
            "casefold": str.casefold, "swapcase": str.swapcase,
        }.get(func.attr)  # fmt: skip
        if method is not None:
            try:
                return method(owner, *args)  # type: ignore[operator]
            except (TypeError, ValueError, IndexError, KeyError):
                return UNKNOWN
    # base64.b64decode("c29ja2V0"), bytes.fromhex("736f636b6574"), codecs.decode(x, "rot13")
    target = _dotted(func)
    if target and len(args) >= 1 and isinstance(args[0], str):
        try:
            if target.endswith(("b64decode", "standard_b64decode", "urlsafe_b64decode")):
                return base64.b64decode(args[0]).decode("latin-1")
            if target.endswith("b32decode"):
                return base64.b32decode(args[0]).decode("latin-1")
            if target.endswith("fromhex") or target.endswith("unhexlify"):
                return binascii.unhexlify(args[0]).decode("latin-1")
            if target.endswith("codecs.decode") and len(args) == 2 and isinstance(args[1], str):
                return codecs.decode(args[0], args[1])
        except (ValueError, binascii.Error, LookupError, TypeError):
            return UNKNOWN
    return UNKNOWN


def fold_sql(node: ast.AST, constants: Mapping[str, str]) -> str | None:
    """SQL text with formatted values replaced by a literal placeholder, or None."""
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                folded = fold(value.value, constants)
                parts.append(folded if isinstance(folded, str) else "0")
            else:
                parts.append(str(value.value))
        return "".join(parts)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(base := fold(node.func.value, constants), str)
    ):
        return _blank(base)
    folded = fold(node, constants)
    return folded if isinstance(folded, str) else None


def _blank(template: str) -> str:
    import re

    return re.sub(r"\{[^{}]*\}", "0", template)
