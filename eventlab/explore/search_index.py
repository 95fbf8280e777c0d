"""Explore's search skip index: a trigram Bloom filter per block of the store's rows, kept per
data version (`store.watermark`), so a search for a rare term reads only the blocks that may
hold it.

A search for a term that matches nothing read every payload once (about 8 CPU-s at 50M
events). As ClickHouse's `ngrambf_v1` data-skipping index does, `search_trigrams` holds for
each block of `BLOCK_ROWS` rowids (DuckDB's row group size) a Bloom filter of the lower-cased
ASCII trigrams of the texts the search reads (`TEXT`, as `search.text_clause` reads them;
`explore.trigrams`). A search for an indexable term (three or more ASCII characters) adds a
rowid clause to its WHERE: the blocks whose filter may hold every trigram of the term, the
blocks the filter cannot vouch for (U+0130 or U+212A in them), and every rowid after the last
indexed one. DuckDB skips the other row groups by their rowid range. The match itself is still
the search's own clause, so the index can only narrow a scan, never change an answer; a stale
or missing index (one count and one max, `fresh`) means the plain scan.

`refresh` reads, when the rows add up, only the blocks holding rows ingested since (each such
block again whole, so a block's filter is sized for all of its rows), else every block, a
slice of blocks per commit. The NumPy work on blocks overlaps DuckDB's read of the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from eventlab.explore import trigrams
from eventlab.store import db
from eventlab.store import watermark as wm

BLOCK_ROWS = db.ROW_GROUP_ROWS
"""Rowids per block: DuckDB's row group size, the unit its rowid pruning skips."""

TEXT = "CAST(payload AS VARCHAR)"
"""The text a payload search reads (`search.text_clause`), indexed as such."""

TABLE, STATE = "search_trigrams", "search_trigrams_state"
DDL: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (block BIGINT, lo BIGINT, hi BIGINT, m INTEGER, "
    "hashes INTEGER, trigrams INTEGER, vouched BOOLEAN, bits BLOB)",
)

WORKERS = 2
"""Threads filtering blocks (NumPy releases the GIL) while DuckDB reads the next one."""

SLICE_BLOCKS = 64
"""Blocks written per commit while rebuilding (`watermark.commit_slice`)."""

MAX_SHARE = 0.5
"""Above this share of blocks to read, the search scans without the rowid clause."""

_COLUMNS = ("block", "lo", "hi", "m", "hashes", "trigrams", "vouched", "bits")


def fresh(con: db.Connection) -> bool:
    """True when `search_trigrams` describes exactly the stored events."""
    return wm.fresh(con, STATE)


def refresh(cur: db.Connection) -> str:
    """Bring `search_trigrams` up to date inside the caller's write transaction
    (`store.watermark`): "fresh", "incremental" (the blocks of the rows ingested since) or
    "rebuilt"."""
    return wm.refresh(cur, STATE, DDL, _add, _rebuild)


def narrowing(con: db.Connection, text: str) -> tuple[str, list[int]] | None:
    """A WHERE clause on rowid (and its parameters) that keeps every row a payload search for
    `text` can match, or None when the index cannot narrow it (a term it cannot check, a
    stale or missing index, or most blocks may hold the term)."""
    term = text.lower()
    if not trigrams.indexable(term) or not fresh(con):
        return None
    codes = trigrams.term_codes(term)
    table = db.arrow(con, f"SELECT lo, hi, m, hashes, vouched, bits FROM {TABLE} ORDER BY lo")
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    ranges: list[list[int]] = []
    end = 0
    for lo, hi, m, k, vouched, bits in zip(*columns, strict=True):
        end = max(end, hi)
        if vouched and not trigrams.may_hold(bits, m, k, codes):
            continue
        if ranges and ranges[-1][1] == lo:
            ranges[-1][1] = hi
        else:
            ranges.append([lo, hi])
    read = sum((hi - lo) for lo, hi in ranges)
    if end and read > MAX_SHARE * end:
        return None
    clause = " OR ".join(["(rowid >= ? AND rowid < ?)"] * len(ranges) + ["rowid >= ?"])
    return f"({clause})", [v for r in ranges for v in r] + [end]


def stats(con: db.Connection) -> dict[str, Any]:
    """Blocks, bytes of filters, distinct trigrams per block (min, median, max) and the mean
    estimated false-positive rate per trigram: what `bench/` prints."""
    rows = db.rows(con, f"SELECT count(*), sum(octet_length(bits)), min(trigrams), "
                        f"median(trigrams), max(trigrams), sum(hi - lo), "
                        f"count(*) FILTER (WHERE NOT vouched) FROM {TABLE}")[0]
    rates = [trigrams.false_positive_rate(n, m, k) for n, m, k in db.rows(
        con, f"SELECT trigrams, m, hashes FROM {TABLE}")]
    keys = ("blocks", "bytes", "trigrams_min", "trigrams_median", "trigrams_max", "rows",
            "not_vouched")
    out = dict(zip(keys, rows, strict=True))
    out["false_positive_rate"] = sum(rates) / len(rates) if rates else 0.0
    return out


def _add(cur: db.Connection, watermark: Any) -> None:
    blocks = [r[0] for r in db.rows(
        cur, f"SELECT DISTINCT rowid // {BLOCK_ROWS} FROM events WHERE ingested_at > ? "
             f"ORDER BY 1", [watermark])]
    _write(cur, blocks, commit=False)


def _rebuild(cur: db.Connection, _state: wm.State) -> None:
    cur.execute(f"DELETE FROM {TABLE}")
    top = db.scalar(cur, "SELECT max(rowid) FROM events")
    _write(cur, range(0, top // BLOCK_ROWS + 1) if top is not None else [], commit=True)


def _write(cur: db.Connection, blocks: Iterable[int], commit: bool) -> None:
    """Filter each block from all of its rows (NumPy in a worker thread while DuckDB reads the
    next block) and replace its row, a slice of blocks at a time."""
    done: list[tuple[int, int, int, Future[trigrams.BlockFilter]]] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for block in blocks:
            if len(done) > WORKERS:  # at most WORKERS + 1 blocks' texts held at once
                done[-WORKERS - 1][3].result()
            lo = block * BLOCK_ROWS
            table = db.arrow(cur, f"SELECT rowid AS r, {TEXT} AS t FROM events "
                                  f"WHERE rowid >= ? AND rowid < ?", [lo, lo + BLOCK_ROWS])
            if table.num_rows:
                hi = pc.max(table.column("r")).as_py() + 1
                done.append((block, lo, hi, pool.submit(trigrams.block_filter,
                                                       table.column("t"))))
            if len(done) >= SLICE_BLOCKS:
                _store(cur, done)
                done = []
                if commit:
                    wm.commit_slice(cur)
        _store(cur, done)


def _store(cur: db.Connection, done: list[tuple[int, int, int,
                                                Future[trigrams.BlockFilter]]]) -> None:
    if not done:
        return
    filters = [(block, lo, hi, f.result()) for block, lo, hi, f in done]
    rows = pa.table({
        "block": [b for b, _, _, _ in filters], "lo": [lo for _, lo, _, _ in filters],
        "hi": [hi for _, _, hi, _ in filters], "m": [f.m for *_, f in filters],
        "hashes": [f.hashes for *_, f in filters], "trigrams": [f.trigrams for *_, f in filters],
        "vouched": [f.vouched for *_, f in filters],
        "bits": pa.array([f.bits for *_, f in filters], type=pa.binary())})
    db.register(cur, "_search_trigrams_new", rows)
    try:
        cur.execute(f"DELETE FROM {TABLE} WHERE block IN "
                    f"(SELECT block FROM _search_trigrams_new)")
        cur.execute(f"INSERT INTO {TABLE} ({', '.join(_COLUMNS)}) "
                    f"SELECT {', '.join(_COLUMNS)} FROM _search_trigrams_new")
    finally:
        db.unregister(cur, "_search_trigrams_new")
