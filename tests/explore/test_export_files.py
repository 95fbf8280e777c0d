"""Exports written by DuckDB: each format, raw bytes as hex (CSV, JSONL) or binary (Parquet),
the row cap, refused SQL, bad paths, the state history, and the round trip through ingest."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_support import CANONICAL, HEADERS, KEY, VALUE, make_store

from eventlab.errors import SqlRefused, SqlTimeout
from eventlab.explore import export
from eventlab.explore.filters import Filters
from eventlab.ingest.exports import discover, read_file
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.replay import Fold
from eventlab.store import db, filewriter
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import load_events


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return make_store(tmp_path / "bytes.duckdb")


@pytest.fixture()
def cur(db_path: Path):
    with EventStore(db_path, read_only=True) as store, store.reading() as c:
        yield c


def canonical(path: Path) -> list[tuple]:
    with EventStore(path, read_only=True) as store, store.reading() as c:
        return sorted(db.rows(c, f"SELECT {CANONICAL} FROM events"), key=repr)


def test_csv_has_hex_bytes_and_json_text(cur, tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    result = export.export(cur, export.filtered_events(Filters()), out, "csv")
    assert (result.rows, result.truncated, result.fmt) == (4, False, "csv")
    assert result.bytes == out.stat().st_size > 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == list(export.EVENT_EXPORT_COLUMNS)
    assert [r["event_id"] for r in rows] == ["f-1", "k-1", "k-2", "k-3"]  # by ts
    k1 = rows[1]
    assert k1["key"] == KEY.hex() == "00ff6b"
    assert k1["value"] == VALUE.hex()
    assert json.loads(k1["headers"]) == [{"key": "trace", "value": "00ff"},
                                         {"key": "none", "value": None}]
    assert json.loads(k1["payload"]) == {"n": 1, "s": "ü"}
    assert k1["ts"] == "2026-11-01 10:00:00.123456+00"
    assert rows[3]["payload"] == "" and rows[3]["value"] == "" and rows[3]["is_delete"] == "true"
    assert rows[0]["key"] == "" and rows[0]["headers"] == ""


def test_jsonl_has_hex_bytes_and_nested_json(cur, tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    export.export(cur, export.filtered_events(Filters(entity_prefix="order")), out, "jsonl")
    docs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [d["event_id"] for d in docs] == ["k-1", "k-2", "k-3"]
    assert docs[0]["payload"] == {"n": 1, "s": "ü"}  # an object, not a string
    assert docs[0]["metadata"] == {"correlation_id": "c1"}
    assert docs[0]["key"] == "00ff6b" and docs[0]["value"] == VALUE.hex()
    assert docs[0]["headers"] == [{"key": "trace", "value": "00ff"},
                                  {"key": "none", "value": None}]
    assert docs[1]["payload"] == {"paid": True, "amount": 12.5}
    assert docs[2]["payload"] is None and docs[2]["is_delete"] is True


def test_parquet_keeps_bytes_binary(cur, tmp_path: Path) -> None:
    out = tmp_path / "e.parquet"
    export.export(cur, export.entity_events("order-1"), out, "parquet")
    table = pq.read_table(out)
    assert table.column_names == list(export.EVENT_EXPORT_COLUMNS)
    rows = table.to_pylist()
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[0]["key"] == KEY and rows[0]["value"] == VALUE
    assert rows[0]["headers"] == HEADERS
    assert rows[2]["value"] is None and rows[2]["partition"] == 1


def test_quarantine_raw_bytes_as_hex(cur, tmp_path: Path) -> None:
    out = tmp_path / "q.jsonl"
    result = export.export(cur, export.quarantine("invalid JSON"), out, "jsonl")
    assert result.rows == 1
    doc = orjson.loads(out.read_bytes())
    assert doc["raw"] == "ff00626164" and doc["key"] == "6b39"
    assert doc["reason"] == "invalid JSON" and doc["offset"] == 9
    assert export.export(cur, export.quarantine("other"), tmp_path / "none.csv", "csv").rows == 0


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_exported_events_load_back_as_the_same_events(db_path: Path, cur, tmp_path: Path,
                                                      fmt: str) -> None:
    out = tmp_path / f"all.{fmt}"
    export.export(cur, export.filtered_events(Filters()), out, fmt)
    target = tmp_path / f"back-{fmt}.duckdb"
    with EventStore(target) as store:
        report = ingest_paths(store, [str(out)])
    assert (report.rows_stored, report.rows_quarantined, report.files_failed) == (4, 0, [])
    assert report.mapping["preset"] == "envelope"
    assert canonical(target) == canonical(db_path)


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_the_demo_loads_back_as_the_same_events(demo_db: Path, tmp_path: Path,
                                                fmt: str) -> None:
    # A copy: this process may hold the session's demo database open with other settings.
    demo_db = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    out = tmp_path / f"demo.{fmt}"
    with EventStore(demo_db) as store, store.reading() as c:
        result = export.export(c, export.sql_result("SELECT * FROM events"), out, fmt)
    target = tmp_path / "back.duckdb"
    with EventStore(target) as store:
        report = ingest_paths(store, [str(out)])
    assert report.rows_stored == result.rows > 2_900 and report.rows_quarantined == 0
    assert canonical(target) == canonical(demo_db)


def test_the_cap_cuts_and_says_so(cur, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    query = export.filtered_events(Filters())
    cut = export.export(cur, query, tmp_path / "a.csv", "csv", max_rows=3)
    assert (cut.rows, cut.truncated, cut.max_rows) == (3, True, 3)
    # only the rows up to the cap's time are sorted: still the first 3 in page order
    assert [r["event_id"] for r in csv.DictReader((tmp_path / "a.csv").open())] == [
        "f-1", "k-1", "k-2"]
    one = export.export(cur, export.filtered_events(Filters(entity_prefix="order")),
                        tmp_path / "o.csv", "csv", max_rows=1)
    assert (one.rows, one.truncated) == (1, True)
    assert [r["event_id"] for r in csv.DictReader((tmp_path / "o.csv").open())] == ["k-1"]
    whole = export.export(cur, query, tmp_path / "b.csv", "csv", max_rows=4)
    assert (whole.rows, whole.truncated) == (4, False)
    assert not export.export(cur, query, tmp_path / "c.jsonl", "jsonl", max_rows=5).truncated
    assert export.BROWSER_MAX_ROWS == 1_000_000
    monkeypatch.setattr(export, "BROWSER_MAX_ROWS", 1)
    temp = export.export_to_temp(cur, query, "parquet")
    assert (temp.rows, temp.truncated) == (1, True)
    assert Path(temp.path).name == "events.parquet"
    assert pq.read_table(temp.path).num_rows == 1
    export.discard(temp)
    assert not Path(temp.path).parent.exists()


@pytest.mark.parametrize(("cap", "rows", "truncated"), [
    (None, 6, False), (2, 2, True), (3, 3, True), (5, 5, True), (6, 6, False), (7, 6, False),
    (0, 0, True)])
def test_the_cap_at_and_between_batch_boundaries(cap: int | None, rows: int,
                                                 truncated: bool) -> None:
    batches = [pa.record_batch({"a": list(range(i, i + 2))}) for i in (0, 2, 4)]
    capped = filewriter._Capped(pa.RecordBatchReader.from_batches(batches[0].schema, batches),
                                cap)
    got = [x for b in capped.batches() for x in b.column("a").to_pylist()]
    assert (got, capped.rows, capped.truncated) == (list(range(rows)), rows, truncated)


@pytest.mark.parametrize("sql", [
    "DROP TABLE events",
    "COPY events TO '/tmp/eventlab-export-test.csv'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT 1; SELECT 2",
    "SELECT * FROM query('DELETE FROM events')",
])
def test_user_sql_goes_through_the_sandbox(cur, db_path: Path, tmp_path: Path,
                                           sql: str) -> None:
    out = tmp_path / "x.csv"
    with pytest.raises(SqlRefused):
        export.export(cur, export.sql_result(sql), out, "csv")
    assert not out.exists() and not Path("/tmp/eventlab-export-test.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(db_path.name)] == []
    assert len(canonical(db_path)) == 4


def test_user_sql_result_with_a_trailing_semicolon(cur, tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    export.export(cur, export.sql_result("SELECT event_id, key FROM events "
                                         "WHERE key IS NOT NULL ORDER BY event_id;\n"), out,
                  "jsonl")
    assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == [
        {"event_id": "k-1", "key": "00ff6b"}, {"event_id": "k-2", "key": b"order-1".hex()},
        {"event_id": "k-3", "key": b"order-1".hex()}]


def test_bad_paths_are_clear_errors(cur, tmp_path: Path) -> None:
    query = export.filtered_events(Filters())
    with pytest.raises(export.ExportError, match="does not exist"):
        export.export(cur, query, tmp_path / "no" / "such" / "e.csv", "csv")
    with pytest.raises(export.ExportError, match="is a folder"):
        export.export(cur, query, tmp_path, "csv")
    with pytest.raises(export.ExportError, match="unknown export format"):
        export.export(cur, query, tmp_path / "e.xml", "xml")
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".eventlab-export")]
    assert leftovers == []


def test_state_history_is_the_state_after_each_event(cur, tmp_path: Path) -> None:
    fold = Fold(load_events(cur, "order-1"))
    source = export.state_history(fold, "order-1")
    out = tmp_path / "states.jsonl"
    result = export.export(cur, source, out, "jsonl")
    assert result.rows == 3 and Path(result.path).name == "states.jsonl"
    docs = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert [d["seq"] for d in docs] == [1, 2, 3]
    assert docs[0]["state"] == {"n": 1, "s": "ü"}  # JSON, not a string
    assert docs[1]["state"] == {"n": 1, "s": "ü", "paid": True, "amount": 12.5}
    assert docs[2]["is_delete"] is True and docs[2]["event_type"] == "(tombstone)"
    assert export.file_name(source, "csv") == (
        f"entity-order-1-{export.unique_stem('order-1')[-12:]}-states.csv")
    table = pq.read_table(export.export(cur, source, tmp_path / "s.parquet", "parquet").path)
    assert json.loads(table.column("state")[1].as_py())["paid"] is True


def test_odd_results_columns_twice_nested_bytes_and_a_time_limit(cur, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    export.export(cur, export.sql_result("SELECT 1 AS a, 2 AS a, '{\"x\":1}'::JSON AS a"), out,
                  "jsonl")
    assert orjson.loads(out.read_bytes()) == {"a": 1, "a_2": 2, "a_3": {"x": 1}}
    export.export(cur, export.sql_result("SELECT {'k': '\\xff'::BLOB, 'n': [1, 2]} AS s, "
                                         "MAP {'\\x00'::BLOB: '\\xffb'::BLOB} AS m"), out, "jsonl")
    assert orjson.loads(out.read_bytes()) == {"s": {"k": "ff", "n": [1, 2]}, "m": {"00": "ff62"}}
    with pytest.raises(SqlTimeout, match="longer than 0.3 s"):
        export.export(cur, export.sql_result("SELECT sum(i) FROM range(100000000000) t(i)"),
                      tmp_path / "slow.csv", "csv", timeout_s=0.3)
    assert not (tmp_path / "slow.csv").exists()


def test_old_download_folders_are_swept(cur) -> None:
    temp = export.export_to_temp(cur, export.quarantine(), "csv")
    folder = Path(temp.path).parent
    export.sweep_downloads(max_age_s=3600)  # other old folders (other runs) may be swept
    assert folder.exists()  # a fresh one is kept
    os.utime(folder, (time.time() - 7200, time.time() - 7200))
    assert export.sweep_downloads(max_age_s=3600) >= 1 and not folder.exists()


def test_csv_empty_cells_read_back_as_null_and_quoted_ones_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text('a,b,c\nx,,""\n')
    table, _ = read_file(discover([str(path)])[0][0])
    assert table.select(["a", "b", "c"]).to_pylist() == [{"a": "x", "b": None, "c": ""}]
