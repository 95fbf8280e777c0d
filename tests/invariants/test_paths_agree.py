"""The DuckDB path equals the fold on random histories: merge-patch edge cases (nested objects,
nulls, non-object payloads, deletes, duplicate seqs) and every kind of condition."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timetravel_support import row, store_with

from eventlab.invariants import duckdb_path, fold_path
from eventlab.invariants.spec import Invariant
from eventlab.replay.merge import MergeReducer

KEYS = st.sampled_from(["a", "b", "c", "x"])
SCALARS = (st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 2.25])
           | st.sampled_from(["", "s", "t", "paid"]))
JSONS = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
EVENT = st.tuples(st.sampled_from(["patch"] * 6 + ["null", "sqlnull", "delete", "Removed",
                                                   "replace"]),
                  st.dictionaries(KEYS, JSONS, max_size=3), JSONS, st.integers(0, 2))
RULES = [
    Invariant("r1", "e", "a exists", "b.c == 1 or b.c == \"s\""),
    Invariant("r2", "e", "not (a.b > 0) and c != \"paid\""),
    Invariant("r3", "e", "count(b) < 2 or sum(b, x * 2) >= 1 or b[0].x exists"),
    Invariant("r4", "e", "abs(coalesce(a.x, c, 0) - 1) <= 1.5", "event.type == \"Changed\""),
    Invariant("r5", "e", "a in (1, \"s\", true) or a.b == c or x not in (0.5)"),
    Invariant("r6", "e", "event.payload.a exists or b == false or -a.x / 2 < c"),
    Invariant("r7", "e", "a.b.c exists or a == x or (c > \"s\" and c <= \"t\")"),
]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    offset = 0
    for n in range(draw(st.integers(1, 4))):
        seq = 0
        for kind, patch, value, step in draw(st.lists(EVENT, min_size=1, max_size=7)):
            seq += step  # 0: a duplicate seq
            offset += 1
            kw: dict[str, Any] = {"minute": offset, "offset": offset, "is_delete": kind == "delete",
                                  "event_type": "Removed" if kind == "Removed" else "Changed"}
            payload = {"patch": patch, "null": None, "replace": value, "delete": {"a": 1},
                       "Removed": patch}.get(kind)
            rows.append(row(f"e-{n}", seq, **kw) if kind == "sqlnull"
                        else row(f"e-{n}", seq, payload, **kw))
    return rows


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(histories())
def test_duckdb_path_equals_the_fold(rows: list[dict[str, Any]]) -> None:
    store = store_with(rows)
    try:
        with store.reading() as cur:
            fast = duckdb_path.check(cur, RULES, ["Removed"])
            slow = fold_path.check(cur, RULES, MergeReducer(["Removed"]))
    finally:
        store.close()
    for a, b in zip(fast, slow, strict=True):
        assert (a.invariant.name, a.entities, a.positions, a.violations) == \
            (b.invariant.name, b.entities, b.positions, b.violations)
