"""A JSON parser that refuses what lenient parsers let through and peers then disagree on.

Refused: invalid UTF-8, a byte-order mark, duplicate object keys, NaN and Infinity,
numbers with a fraction or exponent (no IMPlus field is fractional), lone surrogates,
nesting deeper than any message needs, and bodies over the size limit.
"""
from __future__ import annotations

import json
import re
from typing import Any

from .errors import Issue

_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _no_float(text: str) -> Any:
    raise _Refused(f"number {text[:40]} has a fraction or exponent; IMPlus numbers are integers")


def _issue(reason: str) -> Issue:
    return Issue(path=(), schema_path=(), requirement="MSG-1", reason=reason)


def parse(body: bytes, *, max_bytes: int, max_depth: int) -> tuple[Any, Issue | None]:
    """(value, None) for an acceptable JSON text, or (None, issue) saying why it is refused."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        return None, _issue(f"body must be bytes, not {type(body).__name__}")
    body = bytes(body)
    if len(body) > max_bytes:
        return None, _issue(f"body is {len(body)} bytes; the limit is {max_bytes}")
    if body.startswith(b"\xef\xbb\xbf"):
        return None, _issue("body starts with a UTF-8 byte-order mark")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _issue(f"body is not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant, parse_float=_no_float)
    except _Refused as exc:
        return None, _issue(exc.reason)
    except json.JSONDecodeError as exc:
        return None, _issue(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        return None, _issue(f"nesting deeper than {max_depth} levels")
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        if "digits" in str(exc):
            return None, _issue("an integer has more digits than Python converts (no IMPlus number is that long)")
        return None, _issue(f"not acceptable JSON: {exc}")
    problem = check_tree(value, max_depth)
    if problem is not None:
        return None, problem
    return value, None


def check_tree(value: Any, max_depth: int) -> Issue | None:
    """Depth and lone-surrogate check, iteratively so a hostile body cannot exhaust the stack."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _SURROGATE.search(node):
                return Issue(path, (), "MSG-1", "string holds a lone surrogate (not valid Unicode)")
        elif isinstance(node, dict):
            if depth >= max_depth:
                return Issue(path, (), "MSG-1", f"nesting deeper than {max_depth} levels")
            for k, v in node.items():
                if not k.isascii() and _SURROGATE.search(k):
                    return Issue(path, (), "MSG-1", "object key holds a lone surrogate (not valid Unicode)")
                stack.append((v, depth + 1, path + (k,)))
        elif isinstance(node, list):
            if depth >= max_depth:
                return Issue(path, (), "MSG-1", f"nesting deeper than {max_depth} levels")
            for i, v in enumerate(node):
                stack.append((v, depth + 1, path + (i,)))
    return None
