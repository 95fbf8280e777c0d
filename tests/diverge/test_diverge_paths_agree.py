"""Divergence through the fold equals divergence in DuckDB on random histories: every count,
every listed difference with both values, and the event each one blames (the last event that
changed the field), with and without a per-row cut (a seq or a time)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from timetravel_support import T0, row, store_with

from eventlab.diverge import DivergeError, ReadModelSpec, compare
from eventlab.replay.merge import merge_reducer
from eventlab.replay.reducer import as_reducer
from eventlab.timetravel import fold_each

SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from([0.5, "s", "t"])
B = SCALARS | st.fixed_dictionaries({}, optional={"c": SCALARS, "d": SCALARS})
PATCH = st.fixed_dictionaries({}, optional={"a": SCALARS, "b": B, "x": SCALARS})
EVENT = st.tuples(st.sampled_from(["patch"] * 6 + ["null", "sqlnull", "delete", "Removed",
                                                   "replace"]),
                  PATCH, st.lists(SCALARS, max_size=2) | SCALARS, st.integers(0, 2))
READ = st.sampled_from([None, "s", "t", "1", "2", "true", "0.5"])
NUMBER = st.none() | st.sampled_from([0.0, 1.0, 2.0, 0.5, -1.0])


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], pa.Table, str]:
    rows: list[dict[str, Any]] = []
    offset = 0
    n = draw(st.integers(1, 4))
    for e in range(n):
        seq = 0
        for kind, patch, value, step in draw(st.lists(EVENT, min_size=1, max_size=7)):
            seq += step  # 0: a duplicate seq
            offset += 1
            kw: dict[str, Any] = {"minute": draw(st.integers(0, 8)), "offset": offset,
                                  "is_delete": kind == "delete",
                                  "event_type": "Removed" if kind == "Removed" else "Changed"}
            payload = {"patch": patch, "null": None, "replace": value, "delete": {"a": 1},
                       "Removed": patch}.get(kind)
            rows.append(row(f"e-{e}", seq, **kw) if kind == "sqlnull"
                        else row(f"e-{e}", seq, payload, **kw))
    ids = [f"e-{e}" for e in range(n + 1) if draw(st.booleans())]  # e-n: only in the model
    cut = draw(st.sampled_from(["latest", "seq", "ts"]))
    cols: dict[str, Any] = {"id": pa.array(ids, pa.string()),
                            "a": pa.array([draw(READ) for _ in ids], pa.string()),
                            "c": pa.array([draw(NUMBER) for _ in ids], pa.float64())}
    if cut == "seq":
        cols["at"] = pa.array([draw(st.none() | st.integers(0, 8)) for _ in ids], pa.int64())
    elif cut == "ts":
        cols["at"] = pa.array([None if (m := draw(st.none() | st.integers(0, 8))) is None
                               else T0 + timedelta(minutes=m) for _ in ids],
                              pa.timestamp("us", tz="UTC"))
    return rows, pa.table(cols), cut


def _spec(cut: str) -> ReadModelSpec:
    return ReadModelSpec(at_column=None if cut == "latest" else "at",
                         mapping={"a": "a", "c": "b.c"}, tolerance=0.25)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases())
def test_the_fold_path_equals_the_duckdb_path(case: tuple[list[dict[str, Any]], pa.Table,
                                                          str]) -> None:
    rows, rm, cut = case
    python_merge = as_reducer(lambda s, e: merge_reducer(s, e, {"Removed"}))
    with store_with(rows) as store, store.reading() as cur:
        fast = compare(cur, rm, _spec(cut), entity_type="e", delete_types=("Removed",))
        slow = compare(cur, rm, _spec(cut), entity_type="e", reducer=python_merge)
    assert (fast.path, slow.path) == ("duckdb", "fold")
    assert fast.counts == slow.counts
    assert fast.by_field == slow.by_field
    assert (fast.missing, fast.only_in_read_model) == (slow.missing, slow.only_in_read_model)
    assert fast.differences.to_pylist() == slow.differences.to_pylist()


def test_the_blamed_event_is_the_last_that_changed_the_field() -> None:
    rows = [row("order-1", 1, {"status": "paid"}), row("order-1", 2, {"note": "x"}),
            row("order-1", 3, {"status": "paid"}), row("order-2", 1, {"status": "placed"})]
    rm = pa.table({"id": ["order-1", "order-2"], "status": ["placed", "placed"]})
    python_merge = as_reducer(merge_reducer)
    with store_with(rows) as store, store.reading() as cur:
        for reducer in (None, python_merge):
            got = compare(cur, rm, ReadModelSpec(mapping={"status": "status"}),
                          reducer=reducer)
            [d] = got.differences.to_pylist()  # seq 3 set it again, it changed nothing
            assert (d["entity_id"], d["state_value"], d["seq"]) == ("order-1", "paid", 1)


def test_a_fold_over_too_many_events_is_refused_with_the_numbers() -> None:
    rows = [row(f"order-{n}", s, {"status": "placed"}) for n in range(3) for s in (1, 2)]
    rm = pa.table({"id": ["order-0"], "status": ["placed"]})
    with store_with(rows) as store, store.reading() as cur, pytest.raises(
            fold_each.FoldTooLarge,
            match=r"6 events of about 3 order entities .*bound of 5 events"):
        compare(cur, rm, ReadModelSpec(), reducer=as_reducer(merge_reducer), max_events=5)


def test_the_fold_reports_progress_per_entity_and_names_a_failing_event() -> None:
    rows = [row(f"order-{n}", s, {"status": "placed"}) for n in range(3) for s in (1, 2)]
    rm = pa.table({"id": ["order-0"], "status": ["placed"]})
    seen: list[tuple[int, int]] = []
    with store_with(rows) as store, store.reading() as cur:
        got = compare(cur, rm, ReadModelSpec(), reducer=as_reducer(merge_reducer),
                      progress=lambda done, total: seen.append((done, total)))
        assert got.path == "fold" and got.counts["missing"] == 2
        assert seen == [(2, 6), (4, 6), (6, 6)]

        def broken(state: Any, event: Any) -> Any:
            if event.entity_id == "order-1" and event.seq == 2:
                raise ValueError("no")
            return merge_reducer(state, event)

        with pytest.raises(DivergeError, match=r"order-1: .*order-1/2/2"):
            compare(cur, rm, ReadModelSpec(), reducer=as_reducer(broken))
