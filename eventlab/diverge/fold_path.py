"""Divergence through the fold: the states of every entity of a type under any reducer.

Each entity (`timetravel.fold_each`, shared with invariants' fold path) is folded once, with
its snapshots, over its events at or before the read-model row's cut (a seq or a time: the
same events the DuckDB path reads). Along the way each compared field remembers the last
event that changed its value. The result is an Arrow table of the states' fields as JSON text
that `compare.comparison_sql` compares exactly as it compares the DuckDB path's.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from eventlab.diverge.readmodel import DivergeError
from eventlab.errors import ReducerError
from eventlab.replay.fold import Fold
from eventlab.replay.jsonvalue import MISSING, get_path
from eventlab.replay.reducer import Reducer
from eventlab.store import db
from eventlab.timetravel import fold_each


def field_value(state: Any, path: tuple[str, ...]) -> Any:
    """The field at a dotted path's keys; None when absent (or null: they compare alike)."""
    value = get_path(state, path) if isinstance(state, dict) else MISSING
    return None if value is MISSING else value


def json_text(value: Any) -> str | None:
    """A value as DuckDB's JSON text of it (compact; None for absent)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def same(a: Any, b: Any) -> bool:
    """Whether two field values are the same JSON (so `1`, `1.0` and `true` all differ)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (dict, list)):
        return json_text(a) == json_text(b)
    return bool(a == b)


def _cuts(con: db.Connection, cut_sql: str, id_column: str) -> dict[str, Any]:
    """Each read-model row's cut (a seq or an aware time), as the DuckDB path casts it."""
    from eventlab.diverge.compare import _RM
    from eventlab.store.sql import quote_ident

    return dict(db.rows(con, f"SELECT CAST({quote_ident(id_column)} AS VARCHAR), {cut_sql} "
                             f"FROM {_RM} WHERE {cut_sql} IS NOT NULL"))


def states(con: db.Connection, fields: list[tuple[str, str]], entity_type: str,
           reducer: Reducer, *, cut: str, cut_sql: str, id_column: str,
           max_events: int | None = fold_each.MAX_EVENTS,
           progress: fold_each.Progress | None = None) -> pa.Table:
    """entity_id, deleted (state None), per field `v{i}` (JSON text) and `b{i}` (rowid of the
    event that last changed it) for every entity with events at or before its cut."""
    cost = fold_each.plan(con, entity_type)
    fold_each.check_cost(cost, max_events, "comparing the read model")
    cuts = _cuts(con, cut_sql, id_column) if cut != "latest" else {}
    paths = [tuple(path.split(".")) for _, path in fields]
    ids: list[str] = []
    deleted: list[bool] = []
    values: list[list[str | None]] = [[] for _ in fields]
    blamed: list[list[int | None]] = [[] for _ in fields]
    for entity in fold_each.each_entity(con, entity_type, progress=progress,
                                        total=cost.events):
        events, rowids = entity.events, entity.rowids
        limit = cuts.get(entity.entity_id)
        if limit is not None:
            keep = [i for i, e in enumerate(events)  # as SQL: a NULL time is not before
                    if (at := e.seq if cut == "seq" else e.ts) is not None and at <= limit]
            events = tuple(events[i] for i in keep)
            rowids = tuple(rowids[i] for i in keep)
        if not events:
            continue
        last: list[Any] = [None] * len(fields)
        changed: list[int | None] = [None] * len(fields)
        state: Any = None
        try:
            for i, _, state in Fold(events, reducer, eager=False).iter_states(copy=False):
                for k, path in enumerate(paths):
                    value = field_value(state, path)
                    if not same(value, last[k]):
                        last[k] = value if not isinstance(value, (dict, list)) \
                            else json.loads(json_text(value) or "null")  # a reducer may edit it
                        changed[k] = i
        except ReducerError as exc:
            raise DivergeError(f"cannot rebuild {entity.entity_id}: {exc}") from exc
        ids.append(entity.entity_id)
        deleted.append(state is None)
        for k in range(len(fields)):
            values[k].append(json_text(last[k]))
            blamed[k].append(None if changed[k] is None else rowids[changed[k]])
    columns: dict[str, pa.Array] = {"entity_id": pa.array(ids, pa.string()),
                                    "deleted": pa.array(deleted, pa.bool_())}
    for k in range(len(fields)):
        columns[f"v{k}"] = pa.array(values[k], pa.string())
        columns[f"b{k}"] = pa.array(blamed[k], pa.int64())
    return pa.table(columns)
