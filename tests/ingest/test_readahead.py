"""Reading export files ahead of the loader: order, per-file errors, early stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from eventlab.ingest import readahead
from eventlab.ingest.exports import discover
from eventlab.ingest.readahead import read_ahead


def _files(tmp_path: Path, n: int, bad_at: int | None = None) -> list[Path]:
    paths = []
    for i in range(n):
        path = tmp_path / f"part-{i:02d}.parquet"
        if i == bad_at:
            path.write_bytes(b"PAR1 this is not parquet")
        else:
            pq.write_table(pa.table({"id": [f"e{i}-{j}" for j in range(i + 1)]}), path)
        paths.append(path)
    return paths


def test_files_come_in_order_with_their_errors(tmp_path: Path) -> None:
    _files(tmp_path, 7, bad_at=3)
    refs, _, _ = discover([str(tmp_path)])
    items = list(read_ahead(refs, depth=2))
    assert [Path(ref.path).name for ref, *_ in items] == [f"part-{i:02d}.parquet" for i in range(7)]
    for i, (ref, table, _, error) in enumerate(items):
        if i == 3:  # the error comes with its file (and does not name it again)
            assert table is None and error is not None and ref.path.endswith("part-03.parquet")
            assert str(error).startswith("cannot read as parquet")
        else:
            assert error is None and table is not None and table.num_rows == i + 1


def test_stopping_early_ends_the_reader_thread(tmp_path: Path) -> None:
    _files(tmp_path, 8)
    refs, _, _ = discover([str(tmp_path)])
    before = threading.active_count()
    items = read_ahead(refs, depth=1)
    next(items)
    items.close()  # the loader gave up: the reader must not stay blocked on a full queue
    assert threading.active_count() == before


def test_a_bug_while_reading_is_raised_to_the_caller(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _files(tmp_path, 3)
    refs, _, _ = discover([str(tmp_path)])

    def broken(ref: object) -> None:
        raise RuntimeError("bug in a reader")

    monkeypatch.setattr(readahead, "read_file", broken)
    with pytest.raises(RuntimeError, match="bug in a reader"):
        list(read_ahead(refs))
