"""Bounds of a user query (safety items 17 and 39, issue 17 findings 9 and 10): a result cut in
bytes as well as rows, and the limits DuckDB hits (time while streaming, Arrow's 2 GB of text,
temp space, memory) as messages, never a raw OSError or driver error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eventlab.errors import SqlRefused, SqlTimeout
from eventlab.store import db
from eventlab.store.sandbox import run_sql


@pytest.fixture()
def con(tmp_path: Path) -> Iterator[db.Connection]:
    c = db.connect(tmp_path / "x.duckdb")
    yield c
    c.close()


def test_a_big_result_is_cut_in_bytes_with_a_notice(con: db.Connection,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_SQL_MAX_BYTES", "1MB")
    res = run_sql(con, "SELECT range AS i, repeat('x', 1000) AS s FROM range(5000)")
    assert res.truncated and res.truncated_by == "bytes"
    assert 900 <= res.table.num_rows < 1000  # ~1,012 bytes a row
    assert res.table.nbytes <= 1_000_000
    assert res.rows()[-1][0] == res.table.num_rows - 1  # the head, in order
    assert "1 MB cap (EVENTLAB_SQL_MAX_BYTES)" in res.notice
    assert res.to_dict()["truncated_by"] == "bytes"


def test_the_row_cap_still_says_rows(con: db.Connection) -> None:
    res = run_sql(con, "SELECT range AS i FROM range(50)", max_rows=10)
    assert (res.truncated, res.truncated_by, res.table.num_rows) == (True, "rows", 10)
    assert "first 10 rows" in res.notice and "Add a LIMIT" in res.notice
    limited = run_sql(con, "SELECT range AS i FROM range(50) LIMIT 40", max_rows=10)
    assert limited.truncated and "Add a LIMIT" not in limited.notice
    assert "Lower its LIMIT below 10" in limited.notice


def test_a_result_under_both_caps_is_whole(con: db.Connection,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_SQL_MAX_BYTES", "1MB")
    res = run_sql(con, "SELECT range AS i FROM range(5000)")
    assert (res.truncated, res.truncated_by, res.notice, res.table.num_rows) == \
        (False, None, "", 5000)


def test_the_time_limit_while_rows_stream_is_a_timeout(con: db.Connection,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Interrupted after batches started to arrive, DuckDB's error comes through Arrow's
    stream as an OSError; it must still be the time-limit message."""
    monkeypatch.setenv("EVENTLAB_SQL_MAX_BYTES", "1TB")
    with pytest.raises(SqlTimeout, match="ran longer than 0.5 s"):
        run_sql(con, "SELECT range AS i, md5(CAST(range AS VARCHAR)) AS h "
                     "FROM range(1000000000000)", timeout_s=0.5, max_rows=10**12)
    assert run_sql(con, "SELECT 1 AS one").rows() == [[1]]


def test_more_than_2_gb_of_text_in_one_batch_is_a_message(con: db.Connection) -> None:
    """2,048 rows of 1 MiB: Arrow's 32-bit string offsets overflow in the first batch (about
    3 s and 2 GB of memory)."""
    with pytest.raises(SqlRefused, match="more than 2 GB of text"):
        run_sql(con, "SELECT repeat('x', 1 << 20) AS s FROM range(2100)", timeout_s=60)
    assert run_sql(con, "SELECT 1 AS one").rows() == [[1]]


def test_a_sort_past_the_temp_cap_is_a_message(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_TEMP_LIMIT", "50MB")
    con = db.connect(tmp_path / "t.duckdb", memory_limit="100MB", threads=1)
    try:
        assert db.scalar(con, "SELECT current_setting('max_temp_directory_size')") == \
            "47.6 MiB"
        with pytest.raises(SqlRefused, match=r"temporary disk space than the 47.6 MiB cap "
                                             r"\(EVENTLAB_TEMP_LIMIT\)"):
            run_sql(con, "SELECT md5(CAST(range AS VARCHAR)) || md5(CAST(range + 1 AS "
                         "VARCHAR)) AS s FROM range(10000000) ORDER BY s", timeout_s=60)
        assert run_sql(con, "SELECT 1 AS one").rows() == [[1]]
    finally:
        con.close()


def test_out_of_memory_is_a_message_naming_the_limit(tmp_path: Path) -> None:
    con = db.connect(tmp_path / "m.duckdb", memory_limit="100MB", threads=1)
    try:
        with pytest.raises(SqlRefused, match=r"out of memory \(DuckDB's limit 95.3 MiB, "
                                             r"EVENTLAB_MEMORY_LIMIT\)"):
            run_sql(con, "SELECT string_agg(repeat('x', 1000), ',') AS s FROM range(1000000)",
                    timeout_s=60)
        assert run_sql(con, "SELECT 1 AS one").rows() == [[1]]
    finally:
        con.close()
