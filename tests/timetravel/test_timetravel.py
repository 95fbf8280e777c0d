"""One entity's time travel: loading from the store, the fold cache, positions, the CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
import shutil
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timetravel_support import T0, boom_on, insert, row, store_with

from eventlab import timetravel
from eventlab.cli import main
from eventlab.errors import EventLabError
from eventlab.replay import Event, MergeReducer, jsontext, merge_reducer
from eventlab.replay.event import Unparsed
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import FoldCache


def _merge() -> MergeReducer:
    return MergeReducer()


def test_load_events_in_stream_order_with_utc_times() -> None:
    rows = [row("o-1", 2, {"b": 2}, offset=5), row("o-1", 1, {"a": 1}, offset=9),
            row("o-1", 2, {"c": 3}, offset=4, source="b.parquet", kafka_minute=7),
            row("x-1", 1, {"other": True})]
    store = store_with(rows)
    events = timetravel.load_events(store.cursor(), "o-1")
    assert [(e.seq, e.offset) for e in events] == [(1, 9), (2, 4), (2, 5)]
    assert all(e.ts.tzinfo is UTC for e in events)
    assert events[1].kafka_ts == T0 + timedelta(minutes=7) and events[0].kafka_ts is None
    assert events[0].payload == {"a": 1} and events[0].metadata == {"actor": "test"}
    assert timetravel.event_types(store.cursor(), "o-1") == ["Changed"]
    assert timetravel.load_events(store.cursor(), "nobody") == ()


def test_load_events_sorts_rows_stored_out_of_seq_order_and_keeps_sorted_ones() -> None:
    """The fetch skips DuckDB's sort only when the rows come back with increasing seq."""
    shuffled = store_with([row("o-1", s, {"n": s}, offset=s) for s in (3, 1, 4, 2)])
    stored = store_with([row("o-1", s, {"n": s}, offset=s) for s in (1, 2, 3, 4)])
    for store in (shuffled, stored):
        events = timetravel.load_events(store.cursor(), "o-1")
        assert [e.seq for e in events] == [1, 2, 3, 4]
        assert [e.payload for e in events] == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]


def test_cache_reuses_reloads_on_new_events_and_evicts() -> None:
    store = store_with([row("o-1", i, {"n": i}) for i in range(1, 6)]
                       + [row("p-1", 1, {"p": 1}), row("q-1", 1, {"q": 1})])
    cur = store.cursor()
    cache = FoldCache(max_folds=2, max_events=100)
    first = cache.get(cur, "db", "o-1", "merge", _merge)
    assert cache.get(cur, "db", "o-1", "merge", _merge) is first
    assert cache.get(cur, "db", "o-1", "other", _merge) is not first  # per reducer
    insert(store, [row("o-1", 6, {"n": 6})])
    again = cache.get(cur, "db", "o-1", "merge", _merge)
    assert again is not first and len(again.fold) == 6 and again.fold.state_at(5) == {"n": 6}
    cache.get(cur, "db", "p-1", "merge", _merge)
    cache.get(cur, "db", "q-1", "merge", _merge)
    assert len(cache) == 2
    small = FoldCache(max_folds=10, max_events=6)
    small.get(cur, "db", "o-1", "merge", _merge)
    small.get(cur, "db", "p-1", "merge", _merge)
    assert len(small) == 1  # 6 + 1 events exceed the budget: the older fold goes
    with pytest.raises(timetravel.EntityNotFound):
        cache.get(cur, "db", "nobody", "merge", _merge)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.integers(0, 3) | st.none(),
                                max_size=3), min_size=1, max_size=40),
       st.integers(1, 7), st.data())
def test_states_through_snapshots_equal_the_naive_fold(patches: list[dict[str, Any]], k: int,
                                                       data: st.DataObject) -> None:
    store = store_with([row("o-1", i + 1, p) for i, p in enumerate(patches)])
    loaded = FoldCache().get(store.cursor(), "db", "o-1", "merge", _merge, snapshot_every=k)
    n = data.draw(st.integers(-1, len(patches) - 1))
    state = None
    for event in loaded.fold.events[: n + 1]:
        state = merge_reducer(state, event)
    assert loaded.fold.state_at(n) == state


def test_position_diff_and_a_failing_reducer() -> None:
    rows = [row("o-1", 1, {"s": "placed", "n": 1}), row("o-1", 2, {"s": "paid", "n": None}),
            row("o-1", 3, {"s": "sent"}, event_type="Boom"), row("o-1", 4, {"s": "done"})]
    store = store_with(rows)
    cur = store.cursor()
    loaded = FoldCache().get(cur, "db", "o-1", "boom", lambda: boom_on("Boom"))
    pos = timetravel.position(loaded.fold, 1)
    assert pos.error is None and pos.state == {"s": "paid"}
    assert timetravel.change_dicts(pos.changes) == [
        {"op": "change", "path": "s", "old": "placed", "new": "paid"},
        {"op": "remove", "path": "n", "old": 1, "new": None}]
    failed = timetravel.position(loaded.fold, 3)
    assert failed.error is not None and failed.state == {"s": "paid"} and not failed.changes
    assert "o-1/3/3" in str(failed.error) and "seq 3" in str(failed.error)
    assert "Boom" in str(failed.error)
    assert timetravel.position(loaded.fold, 1).state == {"s": "paid"}  # still works
    assert [c.dotted for c in timetravel.creation_changes({"a": 1, "b": {"c": 2}})] == ["a", "b"]


def test_bases_blame_history_and_paths() -> None:
    rows = [row("o-1", 1, {"s": "placed", "addr": {"city": "Rome"}}, minute=1, kafka_minute=2),
            row("o-1", 2, {"s": "paid"}, minute=5, offset=20),
            row("o-1", 3, {"addr": {"city": "Oslo"}}, minute=3, offset=30, kafka_minute=9)]
    loaded = FoldCache().get(store_with(rows).cursor(), "db", "o-1", "merge", _merge)
    fold = loaded.fold
    assert timetravel.available_bases(fold) == ["event_time", "kafka_time", "offset"]
    assert timetravel.out_of_order(fold, "event_time") == 1
    assert timetravel.index_at(fold, T0 + timedelta(minutes=4), "event_time") == 2
    assert timetravel.index_at(fold, T0 + timedelta(minutes=4), "kafka_time") == 0
    assert timetravel.index_at(fold, 25, "offset") == 1
    with pytest.raises(EventLabError):
        timetravel.index_at(fold, T0, "offset")
    blame = {r["path"]: (r["seq"], r["value"]) for r in timetravel.blame_rows(loaded, 2)}
    assert blame == {"s": (2, "paid"), "addr.city": (3, "Oslo")}
    assert timetravel.blame_rows(loaded, 2) is timetravel.blame_rows(loaded, 2)  # memoised
    assert [h.value for h in timetravel.history(loaded, "addr.city")] == ["Rome", "Oslo"]
    assert timetravel.seen_paths(loaded) == ["addr", "addr.city", "s"]
    assert timetravel.leaf_paths({"a": {"b": 1, "c": {}}, "d": [1]}) == ["a", "a.b", "a.c", "d"]
    assert timetravel.jsonable({"t": T0, "l": (1,)}) == {"t": T0.isoformat(), "l": [1]}


@pytest.fixture(scope="module")
def cli_db(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo database: the CLI opens it read-only, which DuckDB refuses while
    another test (or the app under AppTest) holds the same file open for writing."""
    target = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    shutil.copy(demo_db, target)
    return target


# --- eventlab state --------------------------------------------------------------------------

def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(["state", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if "--json" in argv else out


@pytest.fixture(scope="module")
def customer(cli_db: Path) -> tuple[str, int]:
    with EventStore(cli_db) as store:
        events = timetravel.load_events(store.cursor(), "customer-00001")
    return "customer-00001", len(events)


def test_cli_state_json_history_and_positions(cli_db: Path, customer: tuple[str, int],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    entity, n = customer
    code, out = _run(capsys, entity, "--db", str(cli_db), "--json")
    assert code == 0 and out["entity_id"] == entity and out["position"] == n
    assert {"seq", "ts", "state", "event_type", "reducer"} <= set(out)
    code, out = _run(capsys, entity, "--db", str(cli_db), "--seq", "3", "--history", "--json",
                     "--rules", "eventlab/demo/rules.toml")
    assert out["seq"] == 3 and out["reducer"] == "rules" and len(out["history"]) == 3
    assert out["state"]["address_changes"] >= 1
    first = out["history"][0]
    assert set(first) == {"seq", "ts", "event_type", "event_id", "diff"}
    assert first["event_type"] == "CustomerRegistered" and first["diff"][0]["op"] == "add"
    code, out = _run(capsys, entity, "--db", str(cli_db), "--at", out["history"][1]["ts"],
                     "--json")
    assert out["seq"] == 2
    code, out = _run(capsys, entity, "--db", str(cli_db), "--at", "2000-01-01", "--json")
    assert out["seq"] is None and out["state"] is None and out["position"] == 0
    code, text = _run(capsys, entity, "--db", str(cli_db), "--seq", "2", "--history")
    assert code == 0 and "CustomerRegistered" in text and "seq      2" in text


def test_cli_state_reports_a_failing_reducer(cli_db: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    reducer = tmp_path / "broken.py"
    reducer.write_text("def apply(state, event):\n"
                       "    if event.seq == 2:\n        raise KeyError('street')\n"
                       "    return {**(state or {}), **(event.payload or {})}\n")
    code, out = _run(capsys, "customer-00001", "--db", str(cli_db), "--reducer",
                     str(reducer), "--json")
    assert code == 2
    assert out["failed_event"]["seq"] == 2 and "KeyError" in out["error"]
    assert out["state"]["customer_id"] == "customer-00001"  # the state before it
    assert main(["state", "nobody", "--db", str(cli_db)]) == 2


def test_loaded_metadata_is_parsed_on_first_read_and_equals_the_eager_parse() -> None:
    metadatas = ['{"actor": "a", "n": [1, 2]}', '{"x": NaN, "y": 1e400}', "[]",
                 "[" * 300 + "]" * 300, '"just text"', None]
    rows = [{**row("o-1", i + 1, {"i": i}), "metadata": m} for i, m in enumerate(metadatas)]
    events = timetravel.load_events(store_with(rows).cursor(), "o-1")
    slot = type(events[0]).__dict__["metadata"].slot
    assert all(isinstance(slot.__get__(e), Unparsed) for e in events[:5])
    assert slot.__get__(events[5]) is None
    expected = [None if m is None else jsontext.loads(m) for m in metadatas]
    eager = [Event.from_row({**dataclasses.asdict(e), "metadata": m})
             for e, m in zip(events, metadatas, strict=True)]
    assert repr(events) == repr(tuple(eager))  # repr, ==, replace all see parsed values
    assert math.isnan(events[1].metadata["x"]) and events[1].metadata["y"] == math.inf
    assert [repr(e.metadata) for e in events] == [repr(v) for v in expected]
    assert isinstance(events[3].metadata, jsontext.Unreadable)
    assert not isinstance(slot.__get__(events[0]), Unparsed)  # kept once parsed
    assert events[0].replace(seq=9).metadata == {"actor": "a", "n": [1, 2]}
    assert pickle.loads(pickle.dumps(events[4])).metadata == "just text"
