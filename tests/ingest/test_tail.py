"""The newest end of the store: the tail query, the newest events, and per-topic status.

`tail_sql` is checked as exact SQL; `topic_status` and `status_rows` are pure over
`TopicInfo` listings and stored positions; `newest_events` runs on an in-memory store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from event_rows import add_events, event

from eventlab.ingest.tail import (
    TAIL_COLUMNS,
    TAIL_LIMIT,
    TopicStatus,
    newest_events,
    status_rows,
    tail_sql,
    topic_status,
)
from eventlab.kafka.admin import TopicInfo
from eventlab.store.eventstore import EventStore

SELECT = ('SELECT "ingested_at", "ts", "entity_id", "event_type", "seq", "topic", "partition", '
          '"offset" FROM events')
ORDER = ' ORDER BY ingested_at DESC, topic DESC, "partition" DESC, "offset" DESC LIMIT ?'
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


# --- tail_sql -------------------------------------------------------------------------------

def test_tail_sql_without_topics_reads_every_event() -> None:
    assert tail_sql() == (SELECT + ORDER, [])
    assert tail_sql([]) == (SELECT + ORDER, [])


def test_tail_sql_with_topics_binds_them_as_one_list() -> None:
    sql, params = tail_sql(("a", "b"))
    assert sql == SELECT + " WHERE list_contains(?, topic)" + ORDER
    assert params == [["a", "b"]]


# --- newest_events --------------------------------------------------------------------------

def _insert(store: EventStore, count: int, *, topic: str = "orders", start: int = 0) -> None:
    """`count` events of one topic, event i ingested at T0 + i seconds (offset i)."""
    add_events(store, [event(event_id=f"{topic}{i}", entity_id=f"order-{i % 3}", seq=i + 1,
                             ts=T0 + timedelta(seconds=i), source="kafka", topic=topic,
                             partition=0, offset=i, ingested_at=T0 + timedelta(seconds=i))
                       for i in range(start, start + count)])


@pytest.fixture()
def store() -> EventStore:
    return EventStore(":memory:")


def test_newest_events_come_newest_first_with_the_tail_columns(store: EventStore) -> None:
    _insert(store, 5)
    table = newest_events(store.cursor(), limit=3)
    assert tuple(table.column_names) == TAIL_COLUMNS
    rows = table.to_pylist()
    assert [r["offset"] for r in rows] == [4, 3, 2]
    assert rows[0]["ingested_at"] == T0 + timedelta(seconds=4)
    assert (rows[0]["entity_id"], rows[0]["seq"], rows[0]["topic"]) == ("order-1", 5, "orders")


def test_newest_events_default_to_the_tail_limit(store: EventStore) -> None:
    _insert(store, TAIL_LIMIT + 5)
    assert newest_events(store.cursor()).num_rows == TAIL_LIMIT


def test_newest_events_filter_by_topic(store: EventStore) -> None:
    _insert(store, 3, topic="orders")
    _insert(store, 3, topic="payments", start=10)
    got = newest_events(store.cursor(), ["payments"], limit=10).to_pylist()
    assert [(r["topic"], r["offset"]) for r in got] == [("payments", 12), ("payments", 11),
                                                        ("payments", 10)]
    assert newest_events(store.cursor(), ["nothing"]).num_rows == 0


def test_newest_events_break_ties_by_topic_partition_offset(store: EventStore) -> None:
    add_events(store, [event(event_id=f"{topic}{partition}{offset}", entity_type="o",
                             entity_id="o-1", event_type="X", ts=T0, source="kafka", topic=topic,
                             partition=partition, offset=offset, ingested_at=T0)
                       for topic, partition, offset in [("a", 0, 1), ("b", 0, 0), ("b", 1, 0),
                                                        ("b", 1, 5)]])
    got = newest_events(store.cursor(), limit=10).to_pylist()
    assert [(r["topic"], r["partition"], r["offset"]) for r in got] == [
        ("b", 1, 5), ("b", 1, 0), ("b", 0, 0), ("a", 0, 1)]


@pytest.mark.parametrize(("limit", "rows"), [(0, 1), (-7, 1), (1, 1), (1000, 1000),
                                             (5000, 1000)])
def test_newest_events_limit_is_clamped_to_1_through_1000(store: EventStore, limit: int,
                                                          rows: int) -> None:
    _insert(store, 1005)
    assert newest_events(store.cursor(), limit=limit).num_rows == rows


def test_newest_events_of_an_empty_store(store: EventStore) -> None:
    table = newest_events(store.cursor())
    assert table.num_rows == 0 and tuple(table.column_names) == TAIL_COLUMNS


# --- topic_status ---------------------------------------------------------------------------

def _info(name: str, end: dict[int, int], earliest: dict[int, int] | None = None) -> TopicInfo:
    return TopicInfo(name, len(end), end_offsets=end, earliest=earliest or {})


def test_behind_counts_records_after_the_stored_position() -> None:
    (status,) = topic_status([_info("orders", {0: 100, 1: 50})],
                             {("orders", 0): 90, ("orders", 1): 50})
    assert status.behind == 10
    assert status.stored == {0: 90, 1: 50} and status.loaded


def test_a_partition_never_read_counts_from_its_earliest_offset() -> None:
    (status,) = topic_status([_info("orders", {0: 100, 1: 50}, {0: 0, 1: 20})],
                             {("orders", 0): 100})
    assert status.behind == 30  # p1: 50 - 20, p0 is caught up


def test_a_position_below_earliest_counts_from_earliest() -> None:
    (status,) = topic_status([_info("orders", {0: 100}, {0: 60})], {("orders", 0): 10})
    assert status.behind == 40


def test_a_position_past_the_end_is_not_negative() -> None:
    (status,) = topic_status([_info("orders", {0: 5})], {("orders", 0): 9})
    assert status.behind == 0


def test_a_topic_never_read_is_behind_by_all_its_records() -> None:
    info = _info("fresh", {0: 30, 1: 12}, {0: 10})
    (status,) = topic_status([info], {("other", 0): 3})
    assert status.behind == 32 == status.records == info.records
    assert status.stored == {} and not status.loaded


def test_topic_status_keeps_the_cluster_offsets_and_order() -> None:
    infos = [_info("b", {0: 4}, {0: 1}), _info("a", {0: 2})]
    statuses = topic_status(infos, {("a", 0): 1, ("b", 0): 4})
    assert [s.name for s in statuses] == ["b", "a"]
    b, a = statuses
    assert (b.partitions, b.earliest, b.end, b.records, b.behind) == (1, {0: 1}, {0: 4}, 3, 0)
    assert (a.stored, a.behind) == ({0: 1}, 1)


def test_topic_status_copies_the_listing() -> None:
    info = _info("orders", {0: 5})
    (status,) = topic_status([info], {})
    info.end_offsets[0] = 999
    assert status.end == {0: 5}


# --- status_rows ----------------------------------------------------------------------------

def test_status_rows_write_offsets_per_partition() -> None:
    status = TopicStatus("orders", 2, {0: 0, 1: 1200}, {1: 40, 0: 12345}, 11145,
                         {0: 12, 1: 40}, 12333)
    assert status_rows([status]) == [{
        "topic": "orders", "partitions": 2, "records": 11145,
        "earliest offsets": "p0=0 · p1=1,200", "end offsets": "p0=12,345 · p1=40",
        "EventLab stored up to": "p0=12 · p1=40", "behind": 12333}]


def test_status_rows_of_a_topic_not_loaded_and_without_partitions() -> None:
    (row,) = status_rows([TopicStatus("empty", 0, {}, {}, 0, {}, 0)])
    assert row["EventLab stored up to"] == "not loaded"
    assert row["earliest offsets"] == row["end offsets"] == "—"


def test_status_rows_of_statuses_from_topic_status() -> None:
    rows = status_rows(topic_status([_info("t", {0: 3})], {("t", 0): 1}))
    assert [(r["topic"], r["EventLab stored up to"], r["behind"]) for r in rows] == [
        ("t", "p0=1", 2)]
