"""File ingest: schema drift, corrupt files, idempotent re-ingest, time zones, quarantine, seq,
and file discovery (folders, globs, hive folders) — on a real DuckDB file in tmp_path."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from helpers_files import (
    count,
    events,
    flat_events,
    ingest,
    quarantine,
    write_csv,
    write_jsonl,
    write_parquet,
    write_random_bytes,
    write_truncated_copy,
)

from eventlab import explore
from eventlab.ingest.exports import discover, hive_values, read_file
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.mapping import spec_from_dict
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture(params=["pyarrow", "native"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventStore]:
    """Every test here runs twice: files read by pyarrow, and a store that may read tmp_path
    (as `eventlab ingest` opens one), whose Parquet files DuckDB reads itself."""
    readable = (str(tmp_path),) if request.param == "native" else ()
    with EventStore(":memory:", readable=readable) as s:
        yield s


def _bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime, st.st_mtime + 10))


# --- schema drift (safety item 13) ----------------------------------------------------------------

def test_columns_combine_by_name_not_position(store: EventStore, tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", {
        "event_id": ["a1"], "entity_id": ["cart-1"], "event_type": ["ItemAdded"],
        "ts": ["2026-11-01T10:00:00Z"], "sku": ["S-1"], "qty": [2]})
    # Other order, no event_id and no qty, an extra column.
    b = write_parquet(tmp_path / "b.parquet", {
        "ts": ["2026-11-01T11:00:00Z"], "sku": ["S-2"], "event_type": ["ItemRemoved"],
        "note": ["gift"], "entity_id": ["cart-2"]})
    report = ingest(store, a, b)
    assert (report.files_read, report.rows_stored, report.files_failed) == (2, 2, [])
    ea, eb = events(store)
    assert (ea["event_id"], ea["entity_id"], ea["event_type"], ea["ts"]) == \
        ("a1", "cart-1", "ItemAdded", datetime(2026, 11, 1, 10, tzinfo=UTC))
    assert ea["payload"] == {"sku": "S-1", "qty": 2, "note": None}
    assert (eb["entity_id"], eb["event_type"], eb["ts"]) == \
        ("cart-2", "ItemRemoved", datetime(2026, 11, 1, 11, tzinfo=UTC))
    assert eb["payload"] == {"sku": "S-2", "qty": None, "note": "gift"}
    assert len(eb["event_id"]) == 32  # md5 of the source position
    assert report.warnings == []


def test_type_conflict_loads_and_warns_naming_file_and_column(store: EventStore,
                                                              tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", {
        "entity_id": ["o-1"], "event_type": ["T"], "ts": ["2026-11-01T10:00:00Z"],
        "amount": [5]})
    b = write_parquet(tmp_path / "b.parquet", {
        "entity_id": ["o-2"], "event_type": ["T"], "ts": ["2026-11-01T11:00:00Z"],
        "amount": ["five"]})
    report = ingest(store, a, b)
    assert (report.rows_stored, report.files_failed) == (2, [])
    assert [str(e["payload"]["amount"]) for e in events(store)] == ["5", "five"]
    [warning] = [w for w in report.warnings if "'amount'" in w]
    assert str(a) in warning and str(b) in warning
    assert "int64" in warning and "string" in warning


def test_jsonl_key_that_first_appears_late_is_kept(store: EventStore, tmp_path: Path) -> None:
    # NOLOSS: a key first seen after line 10,000 must still reach the payload.
    line = b'{"entity_id":"o-1","event_type":"T","ts":"2026-11-01T10:00:00Z"}'
    f = tmp_path / "late.jsonl"
    f.write_bytes(b"\n".join([line] * 10_000) + b"\n" +
                  b'{"entity_id":"o-2","event_type":"T","ts":"2026-11-01T10:00:00Z",'
                  b'"coupon":"LATE"}\n')
    report = ingest(store, f)
    assert report.rows_stored == 10_001
    [late] = events(store, "WHERE entity_id = ?", ["o-2"])
    assert late["payload"] == {"coupon": "LATE"}


def test_type_conflict_without_a_common_type_loads_and_warns(store: EventStore,
                                                              tmp_path: Path) -> None:
    # int64 vs struct: DuckDB cannot combine them, so the files load one by one.
    a = write_parquet(tmp_path / "a.parquet", {
        "entity_id": ["o-1"], "event_type": ["T"], "ts": ["2026-11-01T10:00:00Z"],
        "detail": [5]})
    b = write_parquet(tmp_path / "b.parquet", {
        "entity_id": ["o-1"], "event_type": ["T"], "ts": ["2026-11-01T11:00:00Z"],
        "detail": [{"k": 1}]})
    report = ingest(store, a, b)
    assert (report.rows_stored, report.files_failed) == (2, [])
    assert [e["payload"] for e in events(store)] == [{"detail": 5}, {"detail": {"k": 1}}]
    assert [e["seq"] for e in events(store)] == [1, 2]
    named = [w for w in report.warnings if "'detail'" in w]
    assert named, f"no warning names the column: {report.warnings}"
    assert str(a) in named[0] and str(b) in named[0]


def test_small_chunks_give_the_same_events(store: EventStore, tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", flat_events(4))
    b = write_parquet(tmp_path / "b.parquet", flat_events(4, start=4))
    report = ingest_paths(store, [str(a), str(b)], chunk_rows=1)
    assert (report.files_read, report.rows_stored) == (2, 8)
    assert [(e["event_id"], e["entity_id"], e["seq"]) for e in events(store)] == [
        ("e0", "order-0", 1), ("e1", "order-1", 1), ("e2", "order-2", 1),
        ("e3", "order-0", 2), ("e4", "order-1", 2), ("e5", "order-2", 2),
        ("e6", "order-0", 3), ("e7", "order-1", 3)]


# --- corrupt files (safety item 12) ---------------------------------------------------------------

def test_corrupt_files_are_listed_and_the_good_ones_load(store: EventStore,
                                                          tmp_path: Path) -> None:
    d = tmp_path / "export"
    good1 = write_parquet(d / "good1.parquet", flat_events(4))
    good2 = write_parquet(d / "good2.parquet", flat_events(3, start=4))
    full = write_parquet(tmp_path / "full.parquet", flat_events(200))
    (d / "empty.parquet").write_bytes(b"")
    bad = {
        write_random_bytes(d / "random.parquet"): "Parquet magic bytes not found",
        write_truncated_copy(full, d / "truncated.parquet"): "cannot read as parquet",
        d / "empty.parquet": "cannot read as parquet",
    }
    report = ingest(store, d)
    assert report.files_read == 2
    assert report.rows_stored == 7
    assert {f["file"] for f in report.files_failed} == {str(p) for p in bad}
    for failed in report.files_failed:
        assert failed["file"] not in failed["error"]  # the report names it once
        assert bad[Path(failed["file"])] in failed["error"]
    assert {e["source"] for e in events(store)} == {str(good1), str(good2)}
    assert count(store, "ingested_files") == 2


def test_zero_row_parquet_and_header_only_csv_load_as_zero_rows(store: EventStore,
                                                                tmp_path: Path) -> None:
    empty = pa.table({"entity_id": pa.array([], pa.string()),
                      "event_type": pa.array([], pa.string()),
                      "ts": pa.array([], pa.timestamp("us", tz="UTC"))})
    p = write_parquet(tmp_path / "empty.parquet", empty)
    c = write_csv(tmp_path / "empty.csv", empty)
    report = ingest(store, p, c)
    assert (report.files_read, report.rows_read, report.rows_stored) == (2, 0, 0)
    assert report.files_failed == []


def test_empty_jsonl_file_loads_as_zero_rows(store: EventStore, tmp_path: Path) -> None:
    # Safety item 16: empty files load as 0 rows.
    f = tmp_path / "empty.jsonl"
    f.write_bytes(b"")
    report = ingest(store, f)
    assert report.files_failed == []
    assert (report.files_read, report.rows_read, report.rows_stored) == (1, 0, 0)


def test_reserved_column_names_fail_that_file(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", {**flat_events(1), "__row": [1]})
    report = ingest(store, f)
    assert report.files_failed == [{"file": str(f), "error": (
        "column names starting with '__' are reserved (__row)")}]


# --- idempotent re-ingest --------------------------------------------------------------------

def test_same_files_twice_store_nothing_new(store: EventStore, tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", flat_events(5))
    b = write_jsonl(tmp_path / "b.jsonl", [
        {"entity_id": f"order-{i}", "event_type": "T", "ts": "2026-11-01T10:00:00Z"}
        for i in range(3)])
    first = ingest(store, a, b)
    assert first.rows_stored == 8
    second = ingest(store, a, b)
    assert (second.rows_stored, second.rows_skipped_duplicate, second.rows_read) == (0, 8, 8)
    assert sorted(second.files_skipped) == sorted([str(a), str(b)])
    assert count(store, "events") == 8


def test_reingest_after_reopening_the_database_file(tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", flat_events(5))
    with EventStore(tmp_path / "x.duckdb") as s:
        assert ingest(s, a).rows_stored == 5
    write_parquet(a, flat_events(7))
    _bump_mtime(a)
    with EventStore(tmp_path / "x.duckdb") as s:
        report = ingest(s, a)
        assert (report.rows_stored, report.rows_skipped_duplicate) == (2, 5)
        assert [e["seq"] for e in events(s)] == [1, 1, 1, 2, 2, 2, 3]


def test_touched_file_is_reread_but_rows_dedupe_by_position(store: EventStore,
                                                            tmp_path: Path) -> None:
    a = write_parquet(tmp_path / "a.parquet", flat_events(5))
    ingest(store, a)
    _bump_mtime(a)
    report = ingest(store, a)
    assert report.files_read == 1
    assert (report.rows_stored, report.rows_skipped_duplicate) == (0, 5)
    assert count(store, "events") == 5


def test_appended_rows_store_only_the_new_rows(store: EventStore, tmp_path: Path) -> None:
    a = tmp_path / "a.parquet"
    write_parquet(a, flat_events(6))
    ingest(store, a)
    write_parquet(a, flat_events(9))  # rewritten with three more rows
    _bump_mtime(a)
    report = ingest(store, a)
    assert (report.rows_read, report.rows_stored, report.rows_skipped_duplicate) == (9, 3, 6)
    ev = events(store)
    assert [e["event_id"] for e in ev] == [f"e{i}" for i in range(9)]
    assert [e["offset"] for e in ev] == list(range(9))


def test_quarantine_rows_are_not_duplicated(store: EventStore, tmp_path: Path) -> None:
    good = {"entity_id": "o-1", "event_type": "T", "ts": "2026-11-01T10:00:00Z"}
    lines: list[dict | bytes] = [good, {"event_type": "T", "ts": "2026-11-01T10:00:00Z"},
                                 b"{nope", b"\xff\xfe"]
    f = write_jsonl(tmp_path / "q.jsonl", lines)
    assert ingest(store, f).rows_quarantined == 3
    _bump_mtime(f)
    again = ingest(store, f)
    assert (again.rows_stored, again.rows_quarantined) == (0, 0)
    assert count(store, "quarantine") == 3
    write_jsonl(f, [*lines, good, b"{also bad"])
    _bump_mtime(f)
    more = ingest(store, f)
    assert (more.rows_stored, more.rows_quarantined) == (1, 1)
    assert [(q["offset"], q["reason"]) for q in quarantine(store)] == [
        (1, "missing entity_id"), (2, "invalid JSON"), (3, "not UTF-8"), (5, "invalid JSON")]
    assert count(store, "events") == 2


def test_quarantine_rows_of_parquet_are_not_duplicated(store: EventStore,
                                                       tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "q.parquet", {"entity_id": ["o-1", None],
                                               "event_type": ["T", "T"],
                                               "ts": ["2026-11-01T10:00:00Z"] * 2})
    ingest(store, f)
    _bump_mtime(f)
    report = ingest(store, f)
    assert report.rows_quarantined == 0
    assert count(store, "quarantine") == 1


def test_quarantine_raw_row_is_the_whole_source_row_named_like_canonical_columns(
        store: EventStore, tmp_path: Path) -> None:
    # The bad rows' source columns ride through the mapping in one struct column (one scan of
    # the files, no join with a second read): columns named like the mapped ones stay theirs.
    f = write_parquet(tmp_path / "names.parquet", {
        "entity_id": ["o-1", None], "event_type": ["T", "T"],
        "ts": ["2026-11-01T10:00:00Z"] * 2, "metadata": ['{"m": 1}', '{"m": 2}'],
        "payload": ['{"n": 1}', '{"n": 2}'], "seq": [1, 2], "seq_src": [7, 8]})
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_quarantined) == (1, 1)
    (q,) = quarantine(store)
    assert (q["offset"], q["reason"]) == (1, "missing entity_id")
    assert json.loads(bytes(q["raw"])) == {
        "entity_id": None, "event_type": "T", "ts": "2026-11-01T10:00:00Z",
        "metadata": '{"m": 2}', "payload": '{"n": 2}', "seq": 2, "seq_src": 8}


# --- time zones (safety item 15) ------------------------------------------------------------------

def test_naive_parquet_timestamps_are_assumed_utc(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "naive.parquet", {
        "entity_id": ["o-1", "o-2"], "event_type": ["T", "T"],
        "ts": [datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 1, 23, 59, 59)]},
        types={"ts": pa.timestamp("us")})
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_ts_assumed_utc) == (2, 2)
    ev = events(store)
    assert [e["ts"] for e in ev] == [datetime(2026, 11, 1, 10, tzinfo=UTC),
                                     datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC)]
    assert [e["ts_assumed_utc"] for e in ev] == [True, True]
    cur = store.cursor()
    assert db.scalar(cur, "SELECT current_setting('TimeZone')") == "UTC"


def test_zoned_parquet_timestamps_are_not_flagged(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "tz.parquet", {
        "entity_id": ["o-1"], "event_type": ["T"],
        "ts": [datetime(2026, 11, 1, 10, 0, tzinfo=UTC)]},
        types={"ts": pa.timestamp("ms", tz="Europe/Berlin")})
    report = ingest(store, f)
    assert report.rows_ts_assumed_utc == 0
    [ev] = events(store)
    assert (ev["ts"], ev["ts_assumed_utc"]) == (datetime(2026, 11, 1, 10, tzinfo=UTC), False)


TIME_STRINGS = [
    ("2026-11-01 10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC), True),
    ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC), True),
    ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC), False),
    ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, tzinfo=UTC), False),
    ("2026-11-01T10:00:00-05:30", datetime(2026, 11, 1, 15, 30, tzinfo=UTC), False),
]


def test_jsonl_time_strings(store: EventStore, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "t.jsonl", [
        {"entity_id": f"o-{i}", "event_type": "T", "ts": text}
        for i, (text, _, _) in enumerate(TIME_STRINGS)])
    report = ingest(store, f)
    assert report.rows_stored == len(TIME_STRINGS)
    assert report.rows_ts_assumed_utc == sum(naive for _, _, naive in TIME_STRINGS)
    assert [(e["ts"], e["ts_assumed_utc"]) for e in events(store)] == \
        [(ts, naive) for _, ts, naive in TIME_STRINGS]


@pytest.mark.parametrize(("text", "expected", "naive"), TIME_STRINGS)
def test_csv_time_strings(store: EventStore, tmp_path: Path, text: str, expected: datetime,
                          naive: bool) -> None:
    f = write_csv(tmp_path / "t.csv", {"entity_id": ["o-1"], "event_type": ["T"],
                                       "ts": [text]})
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_ts_assumed_utc) == (1, int(naive))
    [ev] = events(store)
    assert (ev["ts"], ev["ts_assumed_utc"]) == (expected, naive)


def test_csv_mixed_zoned_and_naive_strings_in_one_column(store: EventStore,
                                                         tmp_path: Path) -> None:
    f = write_csv(tmp_path / "t.csv", {"entity_id": ["o-1", "o-2"], "event_type": ["T", "T"],
                                       "ts": ["2026-11-01 10:00:00",
                                              "2026-11-01T10:00:00+02:00"]})
    report = ingest(store, f)
    assert report.rows_ts_assumed_utc == 1
    assert [(e["ts"], e["ts_assumed_utc"]) for e in events(store)] == [
        (datetime(2026, 11, 1, 10, tzinfo=UTC), True),
        (datetime(2026, 11, 1, 8, tzinfo=UTC), False)]


EPOCH_MS = 1_793_527_200_000  # 2026-11-01T10:00:00Z


def test_epoch_milliseconds_in_parquet_and_csv(store: EventStore, tmp_path: Path) -> None:
    p = write_parquet(tmp_path / "ms.parquet", {"entity_id": ["o-1"], "event_type": ["T"],
                                                "ts": [EPOCH_MS]}, types={"ts": pa.int64()})
    c = write_csv(tmp_path / "ms.csv", {"entity_id": ["o-2"], "event_type": ["T"],
                                        "ts": [EPOCH_MS + 1500]})
    report = ingest(store, p, c)
    assert (report.rows_stored, report.rows_quarantined, report.rows_ts_assumed_utc) == \
        (2, 0, 0)
    by_entity = {e["entity_id"]: e["ts"] for e in events(store)}
    t = datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert by_entity == {"o-1": t, "o-2": t + timedelta(milliseconds=1500)}


def test_epoch_milliseconds_in_jsonl(store: EventStore, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "ms.jsonl", [
        {"entity_id": "o-1", "event_type": "T", "ts": EPOCH_MS}])
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_quarantined) == (1, 0)
    [ev] = events(store)
    assert ev["ts"] == datetime(2026, 11, 1, 10, tzinfo=UTC)


# --- quarantine reasons (safety item 14) ----------------------------------------------------------

def test_jsonl_quarantine_reasons_keep_exact_line_bytes(store: EventStore,
                                                        tmp_path: Path) -> None:
    lines = [
        b'{"entity_id":"o-1","event_type":"T","ts":"2026-11-01T10:00:00Z"}',
        b'{"event_type":"T","ts":"2026-11-01T10:00:00Z","note":"no entity"}',
        b'{"entity_id":"o-1","ts":"2026-11-01T10:00:00Z"}',
        b'{"entity_id":"o-1","event_type":"T"}',
        b'{"entity_id":"o-1","event_type":"T","ts":"next tuesday"}',
        b'{"entity_id":"o-1", "event_type": broken',
        b'',
        b'{"entity_id":"o-\xff","event_type":"T","ts":"2026-11-01T10:00:00Z"}',
        b'  {"entity_id":"o-2","event_type":"T","ts":"2026-11-01T10:00:00Z"}  ',
    ]
    f = tmp_path / "q.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_quarantined) == (2, 6)
    got = [(q["source"], q["offset"], q["reason"], bytes(q["raw"])) for q in quarantine(store)]
    assert got == [
        (str(f), 1, "missing entity_id", lines[1]),
        (str(f), 2, "missing event_type", lines[2]),
        (str(f), 3, "missing time", lines[3]),
        (str(f), 4, "unparsable time", lines[4]),
        (str(f), 5, "invalid JSON", lines[5]),
        (str(f), 7, "not UTF-8", lines[7]),
    ]
    assert [e["offset"] for e in events(store)] == [0, 8]
    summary = explore.quarantine_summary(store.cursor()).to_pylist()
    assert {(r["reason"], r["source"], r["rows"]) for r in summary} == {
        ("missing entity_id", str(f), 1), ("missing event_type", str(f), 1),
        ("missing time", str(f), 1), ("unparsable time", str(f), 1),
        ("invalid JSON", str(f), 1), ("not UTF-8", str(f), 1)}


def test_quarantine_detail_names_the_problem_and_place(store: EventStore,
                                                       tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "q.jsonl", [
        {"entity_id": "o-1", "event_type": "T", "ts": "2026-11-01T10:00:00Z"},
        {"event_type": "T", "ts": "2026-11-01"}, b"\xff"])
    ingest(store, f)
    details = [q["detail"] for q in quarantine(store)]
    assert details[0] == f"no entity id (column entity_id is empty) at {f} row 1"
    assert details[1].startswith("line 3 is not UTF-8 text")


def test_json_array_line_is_invalid_json(store: EventStore, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "q.jsonl", [
        {"entity_id": "o-1", "event_type": "T", "ts": "2026-11-01T10:00:00Z"}, "[1, 2]"])
    ingest(store, f)
    assert [(q["offset"], q["reason"], bytes(q["raw"])) for q in quarantine(store)] == \
        [(1, "invalid JSON", b"[1, 2]")]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_parquet_and_csv_quarantine_reasons_keep_the_row_as_json(
        store: EventStore, tmp_path: Path, fmt: str) -> None:
    rows = {
        "entity_id": ["o-1", None, "o-2", "o-3", "o-4"],
        "event_type": ["T", "T", None, "T", "T"],
        "ts": ["2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z", None,
               "soon"],
        "amount": [1, 2, 3, 4, 5],
    }
    writer = write_parquet if fmt == "parquet" else write_csv
    f = writer(tmp_path / f"q.{fmt}", rows)
    report = ingest(store, f)
    assert (report.rows_stored, report.rows_quarantined) == (1, 4)
    q = quarantine(store)
    assert [(x["source"], x["offset"], x["reason"]) for x in q] == [
        (str(f), 1, "missing entity_id"), (str(f), 2, "missing event_type"),
        (str(f), 3, "missing time"), (str(f), 4, "unparsable time")]
    empty = None  # CSV writes None as an empty field, which reads back as NULL
    for x in q:
        raw = json.loads(bytes(x["raw"]))
        i = x["offset"]
        for col, values in rows.items():
            assert raw[col] == (empty if values[i] is None else values[i])


def test_quarantined_row_json_holds_only_the_source_columns(store: EventStore,
                                                            tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "q.parquet", {"entity_id": [None], "event_type": ["T"],
                                               "ts": ["2026-11-01T10:00:00Z"],
                                               "amount": [7]})
    ingest(store, f)
    [q] = quarantine(store)
    assert json.loads(bytes(q["raw"])) == {"entity_id": None, "event_type": "T",
                                           "ts": "2026-11-01T10:00:00Z", "amount": 7}


def test_empty_time_string_is_missing_time(store: EventStore, tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "q.jsonl", [{"entity_id": "o-1", "event_type": "T", "ts": ""}])
    ingest(store, f)
    assert [q["reason"] for q in quarantine(store)] == ["missing time"]


# --- seq -------------------------------------------------------------------------------------

def test_seq_from_the_source_when_mapped(store: EventStore, tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "s.parquet", {
        "entity_id": ["o-1", "o-1", "o-2"], "event_type": ["T"] * 3,
        "ts": ["2026-11-01T12:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T10:00:00Z"],
        "seq": [41, 42, 7]})
    ingest(store, f)
    assert [(e["entity_id"], e["seq"]) for e in events(store)] == \
        [("o-1", 41), ("o-1", 42), ("o-2", 7)]


def test_seq_derived_per_entity_by_time_then_source_order(store: EventStore,
                                                          tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "s.parquet", {
        "event_id": ["late", "early", "tie-1", "other", "tie-2"],
        "entity_id": ["o-1", "o-1", "o-1", "o-2", "o-1"], "event_type": ["T"] * 5,
        "ts": ["2026-11-01T12:00:00Z", "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z",
               "2026-11-01T08:00:00Z", "2026-11-01T10:00:00Z"]})
    ingest(store, f)
    assert {e["event_id"]: e["seq"] for e in events(store)} == \
        {"early": 1, "tie-1": 2, "tie-2": 3, "late": 4, "other": 1}


def test_second_ingest_continues_after_the_stored_max_seq(store: EventStore,
                                                          tmp_path: Path) -> None:
    ingest(store, write_parquet(tmp_path / "a.parquet", flat_events(6, entities=2)))
    ingest(store, write_parquet(tmp_path / "b.parquet",
                                {**flat_events(3, start=6, entities=3)}))
    seqs = {e["event_id"]: (e["entity_id"], e["seq"]) for e in events(store)}
    assert seqs == {
        "e0": ("order-0", 1), "e2": ("order-0", 2), "e4": ("order-0", 3),
        "e1": ("order-1", 1), "e3": ("order-1", 2), "e5": ("order-1", 3),
        "e6": ("order-0", 4), "e7": ("order-1", 4), "e8": ("order-2", 1)}


# --- discovery -------------------------------------------------------------------------------

def _hive_export(root: Path) -> list[Path]:
    files = []
    for i, day in enumerate(("2026-11-01", "2026-11-02")):
        files.append(write_parquet(root / f"day={day}" / "part-0.parquet",
                                   flat_events(2, start=2 * i)))
    (root / "day=2026-11-01" / "_SUCCESS").write_bytes(b"")
    write_random_bytes(root / "day=2026-11-01" / "_temporary.parquet")
    write_random_bytes(root / "day=2026-11-02" / ".part-0.parquet")
    write_random_bytes(root / "day=2026-11-02" / ".part-0.parquet.crc")
    return files


def test_hive_folder_discovery_ignores_underscore_and_dot_files(tmp_path: Path) -> None:
    files = _hive_export(tmp_path / "export")
    refs, problems, _ = discover([str(tmp_path / "export")])
    assert problems == []
    assert sorted(r.path for r in refs) == [str(p) for p in files]
    assert {r.fmt for r in refs} == {"parquet"}
    assert hive_values(str(files[0])) == {"day": "2026-11-01"}


@pytest.mark.parametrize("pattern", ["export/*/*.parquet", "export/**/*.parquet",
                                     "export/day=*/part-*.parquet"])
def test_globs_find_the_same_files(tmp_path: Path, pattern: str) -> None:
    files = _hive_export(tmp_path / "export")
    refs, problems, _ = discover([str(tmp_path / pattern)])
    assert problems == []
    assert sorted(r.path for r in refs) == [str(p) for p in files]


def test_discover_reports_paths_that_match_nothing(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    refs, problems, _ = discover([str(tmp_path / "nope.parquet"), str(tmp_path / "*.csv"),
                               str(tmp_path / "notes.txt")])
    assert refs == []
    assert problems == [
        {"file": str(tmp_path / "nope.parquet"), "error": "no such file"},
        {"file": str(tmp_path / "*.csv"), "error": "no such file, folder or matching files"},
        {"file": str(tmp_path / "notes.txt"),
         "error": "unknown format (not .parquet, .jsonl, .ndjson, .json or .csv)",
         "needs": "format"}]


def test_hive_folder_ingest_loads_every_partition(store: EventStore, tmp_path: Path) -> None:
    files = _hive_export(tmp_path / "export")
    report = ingest(store, tmp_path / "export")
    assert (report.files_read, report.rows_stored, report.files_failed) == (2, 4, [])
    assert sorted({e["source"] for e in events(store)}) == [str(p) for p in files]


def test_the_source_column_is_read_as_a_one_value_dictionary(tmp_path: Path) -> None:
    # The file path is not copied into every row (docs/speed.md, Parquet ingest, third
    # round); a hive column keeps the plain string type a file's own column would have.
    f = _hive_export(tmp_path / "export")[0]
    (ref,), _, _ = discover([str(f)])
    table, _ = read_file(ref)
    source = table.column("__source").combine_chunks()
    assert pa.types.is_dictionary(source.type)
    assert source.dictionary.to_pylist() == [str(f)]
    assert source.to_pylist() == [str(f)] * table.num_rows
    assert table.schema.field("day").type == pa.string()


def test_mapping_can_use_a_hive_partition_column(store: EventStore, tmp_path: Path) -> None:
    # Folders like kind=order/ are columns of the export; a mapping file may name them.
    f = write_parquet(tmp_path / "export" / "kind=purchase" / "part-0.parquet",
                      flat_events(2))
    report = ingest(store, tmp_path / "export",
                    spec=spec_from_dict({"fields": {"entity_type": "kind"}}))
    assert (report.rows_stored, report.files_failed) == (2, [])
    assert [(e["source"], e["entity_type"]) for e in events(store)] == [(str(f), "purchase")] * 2


def test_mixed_formats_in_one_folder(store: EventStore, tmp_path: Path) -> None:
    d = tmp_path / "mixed"
    write_parquet(d / "a.parquet", flat_events(2))
    write_csv(d / "b.csv", flat_events(2, start=2))
    write_jsonl(d / "c.jsonl", [{"entity_id": "order-9", "event_type": "T",
                                 "ts": "2026-11-01T10:00:00Z"}])
    report = ingest(store, d)
    assert (report.files_read, report.rows_stored, report.files_failed) == (3, 5, [])


def test_a_short_csv_row_is_quarantined_with_its_line_and_the_rest_loads(
        store: EventStore, tmp_path: Path) -> None:
    f = tmp_path / "short.csv"
    f.write_text("entity_id,event_type,ts\n"
                 "o-1,Placed,2026-11-01T10:00:00Z\n"
                 "o-1,Paid\n"
                 "o-2,Placed,2026-11-01T11:00:00Z\n"
                 "o-2,Paid,2026-11-01T12:00:00Z,extra\n")
    report = ingest(store, f)
    assert report.files_failed == []
    assert (report.rows_stored, report.rows_quarantined) == (2, 2)
    assert [(e["entity_id"], e["event_type"]) for e in events(store)] == [
        ("o-1", "Placed"), ("o-2", "Placed")]
    got = [(q["source"], q["offset"], q["reason"], q["detail"], bytes(q["raw"]))
           for q in quarantine(store)]
    assert got == [
        (str(f), 2, "wrong number of fields", "line 3 has 2 fields, the header 3", b"o-1,Paid"),
        (str(f), 4, "wrong number of fields", "line 5 has 4 fields, the header 3",
         b"o-2,Paid,2026-11-01T12:00:00Z,extra")]
    assert (ingest(store, f).rows_quarantined, len(quarantine(store))) == (0, 2)  # once


# --- ids already stored (an export loaded back) -----------------------------------------------

def _with_ids(n: int) -> dict[str, list[Any]]:
    rows = flat_events(n)
    return {**rows, "event_id": [f"ev-{i}" for i in range(n)]}


def test_rows_whose_ids_are_stored_are_skipped_and_said(store: EventStore,
                                                        tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", _with_ids(4))
    ingest(store, tmp_path / "a.parquet")
    back = write_parquet(tmp_path / "back.parquet", _with_ids(6))  # 4 known ids, 2 new
    report = ingest(store, back)
    assert (report.rows_stored, report.rows_known_id, report.rows_skipped_duplicate) == (2, 4, 0)
    assert "4 rows have an event id that is already stored (skipped" in report.summary()
    assert count(store, "events") == 6


def test_rows_whose_ids_are_stored_load_as_copies_when_asked(store: EventStore,
                                                             tmp_path: Path) -> None:
    write_parquet(tmp_path / "a.parquet", _with_ids(4))
    ingest(store, tmp_path / "a.parquet")
    back = write_parquet(tmp_path / "back.parquet", _with_ids(4))
    report = ingest_paths(store, [str(back)], duplicates="copy")
    assert (report.rows_stored, report.rows_known_id) == (4, 4)
    assert "4 rows have an event id that is already stored (loaded as copies)" \
        in report.summary()
    assert count(store, "events") == 8
