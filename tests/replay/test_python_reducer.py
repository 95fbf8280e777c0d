"""Loading a user's Python reducer file: upcast before apply, clear loading errors."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from replay_support import make_event

from eventlab.errors import ReducerError
from eventlab.replay.fold import Fold, FoldError
from eventlab.replay.pyreducer import PythonReducer, load_python_reducer

ORDERS = '''
from __future__ import annotations

from dataclasses import dataclass

NAME = "orders"
seen_versions = []


@dataclass
class Totals:  # dataclasses need the module registered while it runs
    count: int = 0


def upcast(event):
    seen_versions.append(event.event_version)
    if event.event_type == "OrderPlaced" and (event.event_version or 1) < 2:
        payload = dict(event.payload)
        payload["total"] = payload.pop("amount", 0)
        return event.replace(payload=payload, event_version=2)
    return event


def apply(state, event):
    state = state or {"items": []}
    if event.event_type == "OrderPlaced":
        assert event.event_version == 2, "upcast runs before apply"
        state["total"] = event["payload"]["total"]
    elif event.event_type == "ItemAdded":
        state["items"].append(event.payload["sku"])  # in place: EventLab gives copies
        event.payload["sku"] = "mutated"
    return state
'''


def write(tmp_path: Path, source: str, name: str = "reducer.py") -> Path:
    file = tmp_path / name
    file.write_text(textwrap.dedent(source), encoding="utf-8")
    return file


def test_load_upcast_then_apply(tmp_path: Path) -> None:
    reducer = load_python_reducer(write(tmp_path, ORDERS, "orders_reducer.py"))
    assert isinstance(reducer, PythonReducer) and reducer.name == "orders"
    assert reducer.path.name == "orders_reducer.py"
    events = [
        make_event(1, "OrderPlaced", {"amount": 12}, event_version=1),
        make_event(2, "ItemAdded", {"sku": "A"}),
        make_event(3, "ItemAdded", {"sku": "B"}),
    ]
    fold = Fold(events, reducer, snapshot_every=1)
    assert fold.state_at(2) == {"items": ["A", "B"], "total": 12}
    assert fold.state_at(1) == {"items": ["A"], "total": 12}  # snapshots not mutated in place
    assert events[1].payload == {"sku": "A"}  # events not mutated either
    assert reducer.module.seen_versions[0] == 1
    assert not any(name.startswith("eventlab_user_reducer_") for name in sys.modules)


def test_upcast_may_return_a_mapping(tmp_path: Path) -> None:
    reducer = load_python_reducer(write(tmp_path, """
        def upcast(event):
            return {**event, "payload": {"v": 2}}

        def apply(state, event):
            return event.payload
    """))
    assert reducer(None, make_event(1, "E", {"v": 1})) == {"v": 2}


def test_bad_upcast_result_is_reported_by_the_fold(tmp_path: Path) -> None:
    reducer = load_python_reducer(write(tmp_path, """
        def upcast(event):
            event.replace(event_version=2)  # forgot to return it

        def apply(state, event):
            return state
    """))
    fold = Fold([make_event(1, "E", {})], reducer)
    assert isinstance(fold.error, FoldError)
    assert "upcast returned NoneType" in str(fold.error)


def test_apply_may_be_any_name_without_name_constant(tmp_path: Path) -> None:
    file = write(tmp_path, "def apply(state, event):\n    return {'n': event.seq}\n", "counts.py")
    reducer = load_python_reducer(str(file))
    assert reducer.name == "counts"
    assert reducer(None, make_event(4, "E", {})) == {"n": 4}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReducerError, match="nope.py not found"):
        load_python_reducer(tmp_path / "nope.py")


def test_not_a_python_file(tmp_path: Path) -> None:
    with pytest.raises(ReducerError, match="rules.toml must be a Python file"):
        load_python_reducer(write(tmp_path, "x = 1", "rules.toml"))


def test_no_apply(tmp_path: Path) -> None:
    with pytest.raises(ReducerError, match="noapply.py defines no apply"):
        load_python_reducer(write(tmp_path, "def upcast(event):\n    return event\n", "noapply.py"))


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    source = "def apply(state, event):\n    return state\n\ndef oops(:\n"
    with pytest.raises(ReducerError, match=r"syntax error in broken.py, line 4"):
        load_python_reducer(write(tmp_path, source, "broken.py"))


def test_error_while_importing(tmp_path: Path) -> None:
    with pytest.raises(ReducerError, match="boom.py failed while loading: ZeroDivisionError"):
        load_python_reducer(write(tmp_path, "x = 1 / 0\n", "boom.py"))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("apply = 3\n", "apply must be a function"),
        ("def apply(state):\n    return state\n", "apply must take apply\\(state, event\\)"),
        ("def apply(s, e):\n    return s\nupcast = 'x'\n", "upcast must be a function"),
        ("def apply(s, e):\n    return s\ndef upcast():\n    pass\n", "upcast must take"),
    ],
)
def test_wrong_signatures(tmp_path: Path, source: str, message: str) -> None:
    with pytest.raises(ReducerError, match=message):
        load_python_reducer(write(tmp_path, source))
