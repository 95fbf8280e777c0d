"""The current-state table: populations read through it equal the direct fold exactly, and its
incremental refresh equals a rebuild."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_asof import populations
from timetravel_support import T0, insert, row, store_with

from eventlab import asof
from eventlab.asof import current
from eventlab.store import db
from eventlab.store.eventstore import EventStore

COLUMNS = "entity_id, entity_type, seq, ts, event_type, event_id, CAST(state AS VARCHAR)"


def _direct(cur: db.Connection, at: Any, entity_type: str, basis: str,
            delete_types: tuple[str, ...]) -> list[tuple]:
    sql, params = asof.population_sql(entity_type, basis, delete_types)
    return db.rows(cur, f"SELECT {COLUMNS} FROM ({sql}) ORDER BY entity_id", [at, *params])


def _materialized(cur: db.Connection, at: Any, entity_type: str, basis: str,
                  delete_types: tuple[str, ...]) -> list[tuple]:
    result = asof.materialize(cur, at, entity_type=entity_type, basis=basis,
                              delete_types=delete_types, version=object())
    try:
        return db.rows(cur, f"SELECT {COLUMNS} FROM {result.table} ORDER BY entity_id")
    finally:
        asof.drop(cur, result)


def _table(cur: db.Connection) -> list[tuple]:
    return db.rows(cur, f"SELECT * EXCLUDE (state), CAST(state AS VARCHAR) "
                        f"FROM {current.TABLE} ORDER BY entity_type, entity_id")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(populations(), st.integers(-2, 42), st.sampled_from(sorted(asof.SQL_BASES)),
       st.booleans())
def test_population_through_the_table_equals_the_direct_fold(
        rows: list[dict[str, Any]], minute: int, basis: str, deletes: bool) -> None:
    store = store_with(rows)
    assert current.refresh_store(store) == "rebuilt"
    cur = store.cursor()
    assert current.fresh(cur)
    at = T0 + timedelta(minutes=minute)
    delete_types = ("Removed",) if deletes else ()
    assert _materialized(cur, at, "e", basis, delete_types) == \
        _direct(cur, at, "e", basis, delete_types)
    store.close()


def _first() -> list[dict[str, Any]]:
    return [
        row("order-1", 1, {"status": "placed", "n": 1}, minute=1, kafka_minute=1),
        row("order-1", 2, {"status": "paid"}, minute=5, kafka_minute=5),
        row("order-2", 1, {"status": "placed"}, minute=2),  # no Kafka time
        row("order-3", 1, {"a": 1}, minute=3, kafka_minute=3),
        row("order-3", 2, [1, 2], minute=4, kafka_minute=4),  # not an object: replaces
        row("order-4", 1, {"a": 1}, minute=3),
        row("order-4", 2, {"x": 1}, minute=6, is_delete=True),  # tombstone
        row("customer-1", 1, {"name": "A"}, minute=1),
    ]


def _later() -> list[dict[str, Any]]:
    return [
        row("order-1", 3, {"status": "shipped", "n": None}, minute=20, kafka_minute=20),
        row("order-2", 0, {"status": "draft", "z": 1}, minute=0, offset=99),  # sorts first
        row("order-3", 3, {"b": 2}, minute=21, kafka_minute=21),
        row("order-4", 3, None, minute=22, kafka_minute=22),  # JSON null: nothing
        row("order-5", 1, {"new": True}, minute=23, event_type="Cancelled"),
        row("order-5", 2, "text", minute=24, event_type="Changed"),
    ]


def test_incremental_refresh_equals_rebuild_equals_direct(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "s.duckdb")
    insert(store, _first())
    assert current.refresh_store(store) == "rebuilt"
    assert current.refresh_store(store) == "fresh"
    insert(store, _later())
    cur = store.cursor()
    assert not current.fresh(cur)
    at = T0 + timedelta(minutes=30)
    stale = _materialized(cur, at, "order", "event_time", ())  # the stale table is not used
    assert stale == _direct(cur, at, "order", "event_time", ())
    assert current.refresh_store(store) == "incremental"
    incremental = _table(cur)
    with store.transaction() as w:
        w.execute(f"DELETE FROM {current.STATE}")
    assert current.refresh_store(store) == "rebuilt"
    assert _table(cur) == incremental
    assert [r[0] for r in incremental if r[1] == "order"] == [f"order-{i}" for i in range(1, 6)]
    for minute in (0, 2, 4, 5, 6, 20, 21, 23, 30):
        at = T0 + timedelta(minutes=minute)
        for basis in asof.SQL_BASES:
            for deletes in ((), ("Cancelled",)):
                assert _materialized(cur, at, "order", basis, deletes) == \
                    _direct(cur, at, "order", basis, deletes), (minute, basis, deletes)
    store.close()


def test_rows_that_do_not_add_up_rebuild(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "s.duckdb")
    insert(store, _first())
    current.refresh_store(store)
    with store.transaction() as w:
        w.execute("DELETE FROM events WHERE entity_id = 'order-1' AND seq = 2")
    assert current.refresh_store(store) == "rebuilt"
    cur = store.cursor()
    at = T0 + timedelta(minutes=30)
    assert _materialized(cur, at, "order", "event_time", ()) == \
        _direct(cur, at, "order", "event_time", ())
    store.close()


def test_refresh_does_not_wait_for_a_writer_nor_write_read_only(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = EventStore(path)
    insert(store, _first())
    with store.transaction():
        assert current.refresh_store(store) == "busy"
    store.close()
    with EventStore(path, read_only=True) as ro:
        assert current.refresh_store(ro) == "read-only"
        assert not current.fresh(ro.cursor())


def test_the_rest_and_the_rebuild_run_in_slices(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(current, "FOLD_SLICE", 2)
    store = EventStore(tmp_path / "s.duckdb")
    insert(store, _first() + _later())
    assert current.refresh_store(store) == "rebuilt"
    cur = store.cursor()
    cur.execute(f"CREATE TEMP TABLE _asof_rest AS SELECT entity_id, events "
                f"FROM {current.TABLE} WHERE entity_type = 'order'")
    assert len(current._slices(cur)) >= 3
    cur.execute("DELETE FROM _asof_rest")
    assert current._slices(cur) == []
    cur.execute("DROP TABLE _asof_rest")
    monkeypatch.setattr(current, "FOLD_SLICE", 10_000)
    whole = _table(cur)
    with store.transaction() as w:
        w.execute(f"DELETE FROM {current.STATE}")
    assert current.refresh_store(store) == "rebuilt" and _table(cur) == whole
    monkeypatch.setattr(current, "FOLD_SLICE", 2)
    for minute in (2, 5, 21):
        at = T0 + timedelta(minutes=minute)
        assert _materialized(cur, at, "order", "event_time", ("Cancelled",)) == \
            _direct(cur, at, "order", "event_time", ("Cancelled",))
    store.close()
