"""Per-data-version summaries: the same answers as a pass over the events, kept up to date by
reading only the new rows, rebuilt when the rows do not add up, ignored when stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eventlab import explore
from eventlab.explore.duplicates import CONFLICT, COPY, DUPLICATES_SQL, duplicate_map
from eventlab.store import db, summaries

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _add(store, rows: list[tuple[str, str, str, int, str | None]]) -> None:
    """(event id, entity id, event type, minutes after T0, payload), one transaction."""
    with store.transaction() as cur:
        for i, (eid, entity, etype, minutes, payload) in enumerate(rows):
            cur.execute("INSERT INTO events (event_id, entity_type, entity_id, event_type, seq, "
                        "ts, payload, source, \"offset\") VALUES (?, split_part(?, '-', 1), ?, "
                        "?, ?, ?, ?, 'f.jsonl', ?)",
                        [eid, entity, entity, etype, i, T0 + timedelta(minutes=minutes),
                         payload, db.scalar(cur, "SELECT count(*) FROM events")])


def _answers(store) -> tuple:
    """What Explore's first answer reads, through the public functions."""
    with store.reading() as cur:
        return (store.stats(), explore.facets(cur),
                explore.counts_over_time(cur, explore.Filters())[0].to_pylist(),
                explore.counts_over_time(cur, explore.Filters(event_types=("Paid",)),
                                         "1 day")[0].to_pylist(),
                duplicate_map(cur), explore.entity_ids(cur, ""), explore.entity_ids(cur, "ord"))


def _fresh(store) -> bool:
    with store.reading() as cur:
        return summaries.fresh(cur)


FIRST = [("a", "order-1", "Placed", 0, '{"x": 1}'), ("b", "order-1", "Paid", 90, '{"x": 2}'),
         ("c", "order-2", "Placed", 60 * 30, '{"x": 1}'), ("a", "order-1", "Placed", 5,
                                                          '{"x": 1}')]
SECOND = [("b", "order-1", "Paid", 95, '{"x": 3}'), ("d", "customer-9", "Joined", 60 * 50,
                                                    None),
          ("a", "order-1", "Placed", 7, '{"x": 9}')]  # a third copy of a, another payload


def test_summaries_answer_as_a_pass_over_the_events(store) -> None:
    _add(store, FIRST)
    scanned = _answers(store)
    assert not _fresh(store)
    assert store.refresh_summaries() == "rebuilt"
    assert _fresh(store)
    assert _answers(store) == scanned
    assert scanned[0].entities == 2 and scanned[4] == {"a": COPY}
    assert scanned[5] == ["order-1", "order-2"] == scanned[6]
    assert store.refresh_summaries() == "fresh"


def test_new_rows_are_folded_in_incrementally(store) -> None:
    _add(store, FIRST)
    store.refresh_summaries()
    _add(store, SECOND)
    assert not _fresh(store)  # stale summaries are not used: readers scan the events
    scanned = _answers(store)
    assert store.refresh_summaries() == "incremental"
    assert _answers(store) == scanned
    assert scanned[4] == {"a": CONFLICT, "b": CONFLICT}
    assert scanned[0].entities == 3 and scanned[0].events == 7
    with store.reading() as cur:
        assert db.scalar(cur, "SELECT count(*) FROM summary_duplicates") == 2


def test_rows_that_do_not_add_up_rebuild_the_summaries(store) -> None:
    _add(store, FIRST)
    store.refresh_summaries()
    # A transaction that began before the watermark but committed after it.
    with store.transaction() as cur:
        cur.execute("INSERT INTO events (event_id, entity_type, entity_id, event_type, seq, ts, "
                    "payload, source, \"offset\", ingested_at) VALUES ('late', 'order', "
                    "'order-7', 'Placed', 1, ?, '{}', 'g.jsonl', 0, ?)",
                    [T0, T0 - timedelta(days=1)])
    scanned = _answers(store)
    assert store.refresh_summaries() == "rebuilt"
    assert _answers(store) == scanned


def _duplicate_rows(store) -> tuple[list, list]:
    """summary_duplicates and the pass over the events it stands for, sorted."""
    with store.reading() as cur:
        return (sorted(db.rows(cur, "SELECT * FROM summary_duplicates")),
                sorted(db.rows(cur, DUPLICATES_SQL)))


def test_duplicates_from_hashes_are_the_pass_over_the_ids(store) -> None:
    # The summary groups 64-bit hashes of the ids first, then the rows of repeated hashes by
    # id: ids without a copy must not appear, every copy must be counted, rebuilt or folded in.
    _add(store, FIRST)
    store.refresh_summaries()
    built, scanned = _duplicate_rows(store)
    assert built == scanned == [("a", 2, 1, "order-1")]
    _add(store, SECOND)
    assert store.refresh_summaries() == "incremental"
    built, scanned = _duplicate_rows(store)
    assert built == scanned == [("a", 3, 2, "order-1"), ("b", 2, 2, "order-1")]
