"""The check before loading files: counts of event ids already stored, and nothing stored."""

from __future__ import annotations

from pathlib import Path

from helpers_files import count, flat_events, ingest, write_jsonl, write_parquet

from eventlab.explore import export
from eventlab.explore.filters import Filters
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.precheck import precheck_paths
from eventlab.store.eventstore import EventStore


def _tables(store: EventStore) -> tuple[int, int, int]:
    return count(store, "events"), count(store, "quarantine"), count(store, "ingested_files")


def test_an_export_loaded_back_is_counted_before_and_nothing_is_stored(
        store: EventStore, tmp_path: Path) -> None:
    ingest(store, write_parquet(tmp_path / "a.parquet", flat_events(6)))
    with store.reading() as cur:
        export.export(cur, export.filtered_events(Filters()), tmp_path / "back.jsonl", "jsonl")
    before = _tables(store)
    report = precheck_paths(store, [str(tmp_path / "back.jsonl")])
    assert _tables(store) == before  # stores nothing: no events, files or quarantine rows
    assert (report.rows_checked, report.rows_known_id, report.rows_loaded) == (6, 6, 0)
    assert report.known_from == [{"origin": str(tmp_path / "a.parquet"), "events": 6}]
    assert not report.sampled
    assert report.summary().startswith(
        f"6 of 6 rows have an event id already stored (from: {tmp_path / 'a.parquet'} (6)).")
    # ... and the load then finds exactly what the check said.
    loaded = ingest_paths(store, [str(tmp_path / "back.jsonl")])
    assert (loaded.rows_known_id, loaded.rows_stored) == (6, 0)


def test_counts_agree_with_the_load_for_new_known_same_position_and_bad_rows(
        store: EventStore, tmp_path: Path) -> None:
    ingest(store, write_parquet(tmp_path / "a.parquet", flat_events(4)))
    mixed = write_jsonl(tmp_path / "mixed.jsonl", [
        {"event_id": "e1", "entity_id": "order-1", "event_type": "X", "ts": "2026-11-01T10:00:00Z"},
        {"event_id": "e2", "entity_id": "order-2", "event_type": "X", "ts": "2026-11-01T10:00:00Z"},
        {"event_id": "new", "entity_id": "order-9", "event_type": "X",
         "ts": "2026-11-01T10:00:00Z"},
        {"entity_id": "order-9", "event_type": "X"},  # no time: quarantined
        "not json",
    ])
    check = precheck_paths(store, [str(mixed)])
    assert (check.rows_checked, check.rows_known_id, check.rows_quarantine) == (5, 2, 2)
    load = ingest_paths(store, [str(mixed)])
    assert (load.rows_read, load.rows_known_id, load.rows_quarantined) == (5, 2, 2)
    again = precheck_paths(store, [str(tmp_path / "a.parquet"), str(mixed)])
    assert (again.files_unchanged, again.rows_known_id) == (2, 0)


def test_a_touched_file_counts_its_rows_as_already_loaded_not_as_known_ids(
        store: EventStore, tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "a.parquet", flat_events(3))
    ingest(store, path)
    write_parquet(path, flat_events(3))  # the same rows, a new mtime
    report = precheck_paths(store, [str(path)])
    assert (report.rows_loaded, report.rows_known_id, report.files_unchanged) == (3, 0, 0)


def test_a_big_input_is_sampled_and_says_so(store: EventStore, tmp_path: Path) -> None:
    ingest(store, write_parquet(tmp_path / "a.parquet", flat_events(10)))
    back = tmp_path / "back"
    back.mkdir()
    for i in range(3):
        write_parquet(back / f"{i}.parquet", flat_events(10))
    report = precheck_paths(store, [str(back)], max_files=2, max_rows=15)
    assert report.sampled and (report.files_found, report.files_checked) == (3, 2)
    assert (report.rows_checked, report.rows_known_id) == (15, 15)
    assert "checked the first 2 of 3 file(s), 15 rows (sampled" in report.summary()


def test_nothing_stored_yet_says_zero(store: EventStore, tmp_path: Path) -> None:
    report = precheck_paths(store, [str(write_parquet(tmp_path / "a.parquet", flat_events(3)))])
    assert (report.rows_checked, report.rows_known_id, report.known_from) == (3, 0, [])
    assert report.summary().startswith("0 of 3 rows have an event id already stored.")
    assert count(store, "events") == 0
