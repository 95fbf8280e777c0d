"""The native read path (`ingest.native_parquet`): DuckDB reads Parquet files itself and stores
exactly what the pyarrow path stores; a file it cannot read still does not stop the others."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers_files import flat_events, ingest, write_parquet

import eventlab.ingest.readahead as readahead
from eventlab.ingest.file_ingest import ingest_paths
from eventlab.ingest.native_parquet import readable_folders
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture
def pyarrow_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files the pyarrow path read (a spy around the real `read_file`)."""
    seen: list[str] = []
    real = readahead.read_file

    def spy(ref: Any) -> Any:
        seen.append(ref.path)
        return real(ref)

    monkeypatch.setattr(readahead, "read_file", spy)
    yield seen


def _fingerprint(store: EventStore) -> dict[str, Any]:
    """Every stored value but the ingest times: `events` as a multiset plus its stored order
    by (rowid, entity_id, seq), `quarantine`, the summaries and `ingested_files`."""
    out: dict[str, Any] = {}
    with store.reading() as cur:
        for table, skip in (("events", {"ingested_at"}), ("quarantine", {"quarantined_at"}),
                            ("summary_counts", set()), ("summary_entities", set()),
                            ("summary_duplicates", set()),
                            ("ingested_files", {"mtime", "ingested_at", "loaded_at"})):
            cols = ", ".join(f'"{r[0]}"' for r in db.rows(cur, f"DESCRIBE {table}")
                             if r[0] not in skip)
            out[table] = db.rows(cur, f"SELECT count(*), sum(hash(({cols}))) FROM {table}")[0]
        out["order"] = db.scalar(cur, "SELECT sum(hash((rowid, entity_id, seq))) FROM events")
    return out


def _runs(d: Path) -> list[tuple[list[str], int]]:
    """Ingest runs (paths, chunk rows) over edge cases, each a separate call."""
    hive = d / "hive"
    write_parquet(hive / "day=2026-11-01" / "a.parquet", flat_events(50))
    write_parquet(hive / "day=2026-11-02" / "b.parquet", flat_events(40, start=50))
    edges = write_parquet(d / "edges.parquet", {
        "event_id": ["x1", "x2", "x3", "x4", "x5", None, "x7", "x1"],
        "entity_id": ["a", "a", None, "b", "", "c", "c", "a"],
        "event_type": ["T", "T", "T", None, "T", "T", "T", "T"],
        "ts": ["2026-11-01T10:00:00Z", "not a time", "2026-11-01T10:02:00Z",
               "2026-11-01T10:03:00", None, "2026-11-01 10:05:00+02",
               "1762000000", "2026-11-01T10:00:00Z"],
        "seq": [2**63 - 1, -(2**63), 0, 1, 2, None, 3, 2**63 - 1],
        "version": [2**31 - 1, -(2**31), 2**8, None, 0, 1, 2, 3],
        "payload": ['{"a":1}', "{bad json", None, "[1,2]", '"x"', "{}", '{"n":1e400}',
                    '{"a":1}'],
        "flag": [True, False, None, True, False, True, None, True],
        "ratio": [float("nan"), 1.5, None, float("inf"), -0.0, 2.0, 3.0, 1.0],
        "blob": [b"\x00\xff", None, b"", b"x", b"y", b"z", b"w", b"v"],
        "tags": [["a"], [], None, ["b", "c"], ["d"], ["e"], ["f"], ["g"]],
    }, types={"seq": pa.int64(), "version": pa.int32(), "tags": pa.list_(pa.string())})
    conflict = d / "conflict"
    write_parquet(conflict / "1.parquet", flat_events(5))
    write_parquet(conflict / "2.parquet", {**flat_events(5, start=5),
                                           "n": [str(i) for i in range(5)]})
    chunks = d / "chunks"
    for i in range(4):
        write_parquet(chunks / f"{i}.parquet", flat_events(30, start=30 * i, entities=7))
    write_parquet(chunks / "again.parquet", flat_events(20, start=10, entities=7))
    no_seq = d / "noseq.parquet"
    write_parquet(no_seq, {**flat_events(12, start=200), "n": [None] * 12},
                  types={"n": pa.int64()})
    link = d / "link"  # a folder reached through a symbolic link: `__source` is the link's path
    link.symlink_to(chunks, target_is_directory=True)
    return [([str(hive)], 1000), ([str(edges)], 1000), ([str(conflict)], 1000),
            ([str(chunks)], 50), ([str(no_seq), str(hive)], 1000), ([str(link)], 1000)]


def test_native_reads_store_exactly_what_pyarrow_reads(tmp_path: Path,
                                                       pyarrow_reads: list[str]) -> None:
    runs = _runs(tmp_path / "data")
    prints, reports = [], []
    for readable in ((), (str(tmp_path / "data"),)):
        pyarrow_reads.clear()
        with EventStore(tmp_path / f"{len(readable)}.duckdb", readable=readable) as store:
            got = [ingest_paths(store, paths, chunk_rows=rows).to_dict() for paths, rows in runs]
            prints.append(_fingerprint(store))
        reports.append([{k: v for k, v in r.items() if k != "seconds"} for r in got])
        read = {Path(p).name for p in pyarrow_reads}
    assert prints[0] == prints[1]
    assert reports[0] == reports[1]
    assert prints[0]["events"][0] > 100 and prints[0]["quarantine"][0] >= 4, prints[0]
    assert any("combined as a common type" in w for r in reports[1] for w in r["warnings"])
    assert read == set()  # the readable store read every file natively, conflicts included


def _corrupt_pages(path: Path) -> Path:
    """Overwrite the first page header of every column: the footer stays valid."""
    meta = pq.read_metadata(path)
    data = bytearray(path.read_bytes())
    for c in range(meta.num_columns):
        col = meta.row_group(0).column(c)
        start = col.dictionary_page_offset or col.data_page_offset
        data[start:start + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))
    return path


def _cut_pages(path: Path) -> Path:
    """Keep the footer whole and cut the pages short (a file cut and its footer re-appended)."""
    data = path.read_bytes()
    footer = int.from_bytes(data[-8:-4], "little") + 8
    body = data[:-footer]
    path.write_bytes(body[: len(body) // 3] + data[-footer:])
    return path


def test_a_corrupt_page_fails_that_file_and_the_others_load(tmp_path: Path,
                                                           pyarrow_reads: list[str]) -> None:
    d = tmp_path / "export"
    write_parquet(d / "a.parquet", flat_events(4))
    bad = _corrupt_pages(write_parquet(d / "b.parquet", flat_events(200, start=4)))
    write_parquet(d / "c.parquet", flat_events(3, start=204))
    cut = _cut_pages(write_parquet(d / "d.parquet", flat_events(5000, start=300)))
    for f in (bad, cut):
        pq.read_metadata(f)  # the footer is fine: DuckDB starts reading the file
    with EventStore(":memory:", readable=(str(d),)) as store:
        report = ingest(store, d)
        assert (report.files_read, report.rows_stored) == (2, 7)
        assert [f["file"] for f in report.files_failed] == [str(bad), str(cut)]
        assert all("cannot read as parquet" in f["error"] for f in report.files_failed)
        with store.reading() as cur:
            assert db.scalar(cur, "SELECT count(*) FROM ingested_files") == 2
    assert len(pyarrow_reads) == 4  # DuckDB failed mid-statement: the chunk went the old way


def test_a_readable_store_still_refuses_files_elsewhere_and_stays_locked(tmp_path: Path) -> None:
    inside = write_parquet(tmp_path / "in" / "a.parquet", flat_events(2))
    outside = write_parquet(tmp_path / "out" / "b.parquet", flat_events(2))
    with EventStore(":memory:", readable=readable_folders([str(inside)])) as store, \
            store.reading() as cur:
        assert db.scalar(cur, "SELECT count(*) FROM read_parquet(?)", [str(inside)]) == 2
        for sql, params in (("SELECT count(*) FROM read_parquet(?)", [str(outside)]),
                            ("SELECT count(*) FROM read_csv('/etc/passwd')", []),
                            ("SET enable_external_access = true", []),
                            ("SET allowed_directories = ['/']", [])):
            with pytest.raises(db.DuckError):
                db.rows(cur, sql, params)


def test_readable_folders_are_the_folders_of_the_given_paths(tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a" / "x.parquet", flat_events(1))
    (tmp_path / "b").mkdir()
    assert readable_folders([str(f), str(tmp_path / "b"), str(tmp_path / "c" / "*.parquet")]) \
        == (str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c"))


def test_a_file_named_like_a_pattern_is_read_as_itself(tmp_path: Path,
                                                       pyarrow_reads: list[str]) -> None:
    """`read_parquet` takes `*`, `?` and `[...]` in a path as a pattern: such files go the
    pyarrow way, so `ev[1].parquet` is not read as `ev1.parquet` (nor `q*` as `qz` too).
    (The files read natively and the others are separate chunks, so a seq derived across
    them may differ from one all-pyarrow chunk's: compared here are the rows themselves.)"""
    d = tmp_path / "export"
    names = ("ev1.parquet", "ev[1].parquet", "q*.parquet", "qz.parquet", "w?.parquet",
             "w1.parquet", "b{1}.parquet", "b\\1.parquet")
    for i, name in enumerate(names):
        write_parquet(d / name, flat_events(3, start=10 * i))
    stored = []
    for readable in ((), (str(d),)):
        pyarrow_reads.clear()
        with EventStore(tmp_path / f"{len(readable)}.duckdb", readable=readable) as store:
            report = ingest(store, d)
            assert report.rows_stored == 3 * len(names), report
            with store.reading() as cur:
                stored.append(sorted(db.rows(cur, 'SELECT event_id, source, "offset", payload '
                                                  "FROM events")))
    assert stored[0] == stored[1]
    assert sorted({s for _, s, _, _ in stored[1]}) == sorted(str(d / n) for n in names)
    read = [Path(p).name for p in pyarrow_reads]
    assert sorted(set(read)) == sorted(n for n in names if set(n) & set("*?[]{}\\"))
