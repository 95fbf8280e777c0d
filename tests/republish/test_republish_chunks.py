"""A job's records are read a range of plan positions at a time, the next range on a thread
while one is sent (`send._chunks`): every position comes once, in plan order, ranges that
hold none (a resumed job) give no batch, and no batch is longer than a range."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eventlab.republish.send import _chunks
from eventlab.store.eventstore import EventStore

SQL = ("SELECT n, n * 2 AS twice FROM range(0, 1000) t(n) WHERE (n < 130 OR n >= 610) "
       "AND n % 7 <> 3 AND n BETWEEN ? AND ? ORDER BY n")


def test_ranges_come_in_plan_order_each_position_once(tmp_path: Path) -> None:
    want = [n for n in range(1000) if (n < 130 or n >= 610) and n % 7 != 3]
    with EventStore(tmp_path / "s.duckdb") as store, \
            ThreadPoolExecutor(max_workers=1) as pool:
        cur = store.cursor()
        try:
            batches = list(_chunks(cur, SQL, [], (want[0], want[-1]), 50, pool))
            assert list(_chunks(cur, SQL, [], None, 50, pool)) == []
        finally:
            cur.close()
    got = [n for b in batches for n in b.column("n").to_pylist()]
    assert got == want
    assert all(0 < b.num_rows <= 50 for b in batches)
    assert all(b.column("twice").to_pylist() == [2 * n for n in b.column("n").to_pylist()]
               for b in batches)


def test_the_first_range_is_small_and_the_ranges_grow_to_the_full_size(tmp_path: Path) -> None:
    """The first send waits only for a small range's query; later ranges double up to `rows`,
    and every position still comes once, in plan order."""
    sql = "SELECT n FROM range(0, 1000) t(n) WHERE n BETWEEN ? AND ? ORDER BY n"
    with EventStore(tmp_path / "s.duckdb") as store, \
            ThreadPoolExecutor(max_workers=1) as pool:
        cur = store.cursor()
        try:
            batches = list(_chunks(cur, sql, [], (3, 999), 200, pool, first_rows=25))
        finally:
            cur.close()
    assert [n for b in batches for n in b.column("n").to_pylist()] == list(range(3, 1000))
    assert [b.num_rows for b in batches] == [25, 50, 100, 200, 200, 200, 200, 22]
