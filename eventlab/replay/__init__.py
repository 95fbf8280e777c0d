"""Rebuilding state: reducers, the fold with snapshots, diffs, blame and field history.

Pure code: no I/O except loading a rules TOML file or an operator-chosen Python reducer file.
"""

from __future__ import annotations

from eventlab.replay.columns import EventColumns, field_values
from eventlab.replay.diff import (
    Change,
    HistoryEntry,
    apply_diff,
    blame,
    diff,
    event_changes,
    field_history,
)
from eventlab.replay.event import Event
from eventlab.replay.fold import BASES, BEFORE_FIRST, Fold, FoldError
from eventlab.replay.jsonvalue import MISSING, dotted, parse_path
from eventlab.replay.merge import MergeReducer, merge_patch, merge_reducer
from eventlab.replay.pyreducer import PythonReducer, load_python_reducer
from eventlab.replay.reducer import FunctionReducer, Reducer, ReducerLike, State, as_reducer
from eventlab.replay.rules import RulesError, RulesReducer, load_rules

__all__ = [
    "BASES", "BEFORE_FIRST", "MISSING", "Change", "Event", "EventColumns", "Fold", "FoldError",
    "FunctionReducer", "HistoryEntry", "MergeReducer", "PythonReducer", "Reducer",
    "ReducerLike", "RulesError", "RulesReducer", "State", "apply_diff", "as_reducer", "blame",
    "diff", "dotted", "event_changes", "field_history", "field_values", "load_python_reducer",
    "load_rules", "merge_patch", "merge_reducer", "parse_path",
]
