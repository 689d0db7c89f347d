"""A client's text as a message: the one strict parse every game socket and the clock
socket run before any handler (docs/protocol.md, "error": `bad_json`). Pure: standard
library and the protocol's limits only.

Python's json reads more than JSON (NaN, Infinity) and fails in more ways than
JSONDecodeError (RecursionError on deep nesting, ValueError past 4,300 digits); a string
may hold what no database stores. Here every way a text can fail ends as BadJson with
a detail, so nothing of it reaches a handler, a batch of answers or a reply.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .protocol import MAX_DEPTH, MAX_NUMBER_CHARS


class BadJson(ValueError):  # noqa: N818 - named for the error code it is answered with
    """A client message that is not a JSON text the protocol takes; `detail` says why:
    "syntax", "non_finite" (NaN, Infinity: not JSON, though Python's json reads them),
    "number_too_long", "too_deep" or "bad_string" (a lone surrogate or a NUL). Answered
    with the error frame `bad_json`."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _constant(_name: str) -> Any:
    raise BadJson("non_finite")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadJson("number_too_long")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadJson("number_too_long")
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise BadJson("non_finite")
    return value


def _problem(value: Any, limit: int) -> str:
    """Why `value` is no protocol message ("" if none): nesting of arrays and objects
    deeper than `limit`, or a string (key or value) no database can store: a lone UTF-16
    surrogate ("\\ud800", not Unicode) or a NUL. Iterative, level by level."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        inner: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                inner.extend(item)
                inner.extend(item.values())
            elif isinstance(item, list):
                inner.extend(item)
            elif isinstance(item, str) and not _storable(item):
                return "bad_string"
        if not inner:
            return ""
        level = inner
    return "too_deep"


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_message(text: str) -> Any:
    """A client message's text as Python values, or BadJson: strict JSON (no NaN or
    Infinity), numbers of at most MAX_NUMBER_CHARS characters, at most MAX_DEPTH deep.
    Every way a text can fail ends here as BadJson, never as another exception."""
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except BadJson:
        raise
    except RecursionError:
        raise BadJson("too_deep") from None
    except ValueError:  # JSONDecodeError and the like
        raise BadJson("syntax") from None
    problem = _problem(value, MAX_DEPTH)
    if problem:
        raise BadJson(problem)
    return value
