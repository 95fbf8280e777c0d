"""Load a Python reducer file chosen by the operator (a path on disk, never code from a browser).

The file defines

    def apply(state: dict | None, event) -> dict | None: ...   # required
    def upcast(event) -> event: ...                              # optional

and may set `NAME = "orders"` (default: the file name). EventLab calls `upcast` on every event
before `apply`; the event is an `eventlab.replay.Event`, readable as `event.payload` or
`event["payload"]`; an upcaster returns `event.replace(payload=..., event_version=2)` (or a
dict of the event's fields). Both functions get private copies, so `apply` may edit the state
in place and return it. Example:

    def upcast(event):
        if event.event_type == "OrderPlaced" and (event.event_version or 1) < 2:
            payload = dict(event.payload)
            payload["total"] = payload.pop("amount", 0)
            return event.replace(payload=payload, event_version=2)
        return event

    def apply(state, event):
        state = state or {}
        if event.event_type == "OrderPlaced":
            state.update(status="placed", total=event.payload["total"])
        return state

Running a file runs its code with the operator's rights: only paths the operator typed on the
command line or in the server config may reach this loader.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import uuid
from pathlib import Path
from types import ModuleType

from eventlab.errors import ReducerError
from eventlab.replay.reducer import FunctionReducer


class PythonReducer(FunctionReducer):
    """A reducer loaded from a user's Python file; `path` is where it came from."""

    def __init__(self, module: ModuleType, path: Path) -> None:
        upcast = getattr(module, "upcast", None)
        name = getattr(module, "NAME", None)
        super().__init__(module.apply, upcast, name=name if isinstance(name, str) else path.stem)
        self.path = path
        self.module = module


def load_python_reducer(path: str | Path) -> PythonReducer:
    """Import the reducer file at `path`; errors name the file and what to fix."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ReducerError(f"reducer file {file} not found (give the path of a .py file)")
    if file.suffix != ".py":
        raise ReducerError(f"reducer file {file.name} must be a Python file ending in .py")
    module = _import(file)
    apply = getattr(module, "apply", None)
    if apply is None:
        raise ReducerError(f"{file.name} defines no apply(state, event) function")
    _check_signature(file, "apply", apply, 2, "apply(state, event)")
    upcast = getattr(module, "upcast", None)
    if upcast is not None:
        _check_signature(file, "upcast", upcast, 1, "upcast(event)")
    return PythonReducer(module, file)


def _import(file: Path) -> ModuleType:
    """Execute the file as a fresh module (not left in sys.modules: reloading gives a new one)."""
    module_name = f"eventlab_user_reducer_{file.stem}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise ReducerError(f"cannot import {file.name} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and typing look the module up while it runs
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ReducerError(
            f"syntax error in {file.name}, line {exc.lineno}: {exc.msg}"
            + (f"\n    {exc.text.rstrip()}" if exc.text else "")
        ) from exc
    except Exception as exc:  # the user's module code: any failure is a loading error
        raise ReducerError(
            f"{file.name} failed while loading: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.modules.pop(module_name, None)
    return module


def _check_signature(file: Path, name: str, fn: object, arity: int, shape: str) -> None:
    if not callable(fn):
        raise ReducerError(f"{file.name}: {name} must be a function {shape}")
    try:
        inspect.signature(fn).bind(*([None] * arity))
    except TypeError as exc:
        raise ReducerError(f"{file.name}: {name} must take {shape}: {exc}") from exc
    except ValueError:  # no signature available (a builtin): accept it
        return
