"""JSON-like values: dotted paths, strict equality, copying and copy-on-write edits.

States in EventLab are JSON-like (dicts, lists, str, numbers, bools, None). Reducers here never
mutate a state: they copy the dicts along the path they change and share everything else with the
previous state (a persistent structure). So unchanged parts of two states are the *same* objects,
which makes `json_equal` and `diff` cheap (`a is b` short-circuits), and makes it important that
nobody mutates a state in place: the fold hands out copies (`copy_value`).
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import Any

Path = tuple[Hashable, ...]


class _Missing:
    """The value at a path that does not exist (distinct from a JSON null)."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(missing)"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Sentinel for "no value at this path"; its repr is `(missing)` and it is falsy."""


def parse_path(path: str | Path) -> Path:
    """Turn `"address.city"` into `("address", "city")`; tuples pass through; `""` is the root."""
    if isinstance(path, tuple):
        return path
    if path == "":
        return ()
    parts = tuple(path.split("."))
    if any(part == "" for part in parts):
        raise ValueError(f"path {path!r} has an empty part (two dots, or a dot at an end)")
    return parts


def dotted(path: Path) -> str:
    """The display form of a path: keys joined by dots, `""` for the root."""
    return ".".join(str(key) for key in path)


def get_path(value: Any, path: Path) -> Any:
    """The value at `path`, or `MISSING`. Steps into dicts by key and into lists by index."""
    for key in path:
        if isinstance(value, dict):
            if key not in value:
                return MISSING
            value = value[key]
        elif isinstance(value, list) and isinstance(key, (str, int)) and not isinstance(key, bool):
            try:
                value = value[int(key)]
            except (ValueError, IndexError):
                return MISSING
        else:
            return MISSING
    return value


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: `1` and `1.0` are the same number, but `1` and `true` differ."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def copy_value(value: Any) -> Any:
    """A deep copy, fast for JSON-like values (other objects go through `copy.deepcopy`)."""
    if isinstance(value, dict):
        return {k: copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_value(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def set_path(state: Any, path: Path, value: Any, *, what: str = "state") -> Any:
    """A new state with `value` at `path`, creating missing objects on the way (copy-on-write)."""
    if not path:
        return value
    if state is None or state is MISSING:
        state = {}
    if not isinstance(state, dict):
        raise TypeError(
            f"cannot set {dotted(path)!r}: the {what} is {kind_of(state)}, not an object"
        )
    key, rest = path[0], path[1:]
    new = dict(state)
    new[key] = set_path(state.get(key), rest, value, what=f"value at {key!r}") if rest else value
    return new


def unset_path(state: Any, path: Path) -> Any:
    """A new state without the key at `path` (unchanged, same object, if it is not there)."""
    if not path:
        return None
    if not isinstance(state, dict) or path[0] not in state:
        return state
    key, rest = path[0], path[1:]
    if not rest:
        new = dict(state)
        del new[key]
        return new
    child = unset_path(state[key], rest)
    if child is state[key]:
        return state
    new = dict(state)
    new[key] = child
    return new


def kind_of(value: Any) -> str:
    """A short name of a value's JSON type for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__

