"""Reading stored JSON text that other people wrote (docs/safety.md, item 40). Pure code.

DuckDB's JSON reader accepts what strict parsers refuse: `NaN`, `Infinity`, numbers past the
float range (`1e400`) and nesting of any depth. Ingest stores such payloads as they came; the
fold, the pages and the bundle must still work on them:

- `NaN`, `Infinity`, `-Infinity` and out-of-range numbers are read as Python floats (nan, inf);
  `finite_or_text` shows them as the strings "NaN", "Infinity", "-Infinity" where JSON output
  is needed (the page's JSON tree, the bundle), since strict JSON has no such numbers;
- a value nested deeper than MAX_DEPTH levels, or text that is no JSON at all, becomes an
  `Unreadable` record: the fold stops at that event and names it, and the state before it is
  still shown.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import orjson

MAX_DEPTH = 256
"""Deepest nesting a payload may have to be folded (recursive code stays far from Python's
recursion limit); deeper payloads are `Unreadable`."""


@dataclass(frozen=True)
class Unreadable:
    """A stored JSON value EventLab cannot use; `reason` says why, `size` its length."""

    reason: str
    size: int

    def __str__(self) -> str:
        return f"(unreadable JSON, {self.size:,} characters: {self.reason})"


def depth(text: str | bytes) -> int:
    """How deeply brackets nest in JSON `text`, ignoring those inside strings."""
    data = text.encode() if isinstance(text, str) else bytes(text)
    deepest = level = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            level += 1
            deepest = max(deepest, level)
        elif byte in (0x5D, 0x7D):
            level -= 1
    return deepest


def loads(text: str | bytes) -> Any:
    """Parse one stored JSON text: strict and fast where it can, lenient where it must, and
    an `Unreadable` record (never an exception) where it cannot."""
    size = len(text)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            value = json.loads(text)  # NaN, Infinity, 1e400 -> float nan/inf
        except RecursionError:
            return Unreadable(f"nested deeper than {MAX_DEPTH} levels", size)
        except ValueError as exc:
            return Unreadable(f"not JSON ({exc})", size)
    if size > 2 * MAX_DEPTH and depth(text) > MAX_DEPTH:
        return Unreadable(f"nested deeper than {MAX_DEPTH} levels", size)
    return value


def finite_or_text(value: float) -> float | str:
    """A float JSON can hold: nan and the infinities as the text JSON5 and JavaScript use."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
