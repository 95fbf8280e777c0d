"""Export: the browser's capped download (1,000,000 of the 5M demo events, Explore's order) in
each format, against DuckDB's own `COPY (query) TO` of the same rows and columns from a
connection with external access on (the raw baseline, measured in the same run).

Prints `<fmt>_s` (EventLab: the store streams Arrow batches into a private writer instance)
and `raw_<fmt>_s` (DuckDB alone) per format, medians of REPEAT runs, then `ratio=X`
(raw / EventLab over all formats; 1.0 means no overhead). Opens the cached database read-only.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
from _common import CACHE, EVENTS

from eventlab.explore import export
from eventlab.explore.filters import Filters
from eventlab.store import filewriter
from eventlab.store.eventstore import EventStore
from eventlab.store.sql import quote_literal

REPEAT = 3
CAP = 1_000_000


def raw_copy(path: Path, fmt: str, out: Path) -> float:
    """DuckDB alone: the same bounded, sorted query and SELECT list, written by COPY."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        q = export.filtered_events(Filters())
        cut, bounded = q.capped or ("", "")
        t = time.perf_counter()
        bound = con.execute(cut, [CAP]).fetchall()[0][0]
        rel = con.sql(bounded, params=[bound])
        json_cols = [n for n, ty in zip(rel.columns, rel.types, strict=True)
                     if str(ty) == "JSON"]
        schema = con.sql(bounded + " LIMIT 0", params=[bound]).to_arrow_table().schema
        cols = filewriter.select_list(schema, fmt, json_cols)
        con.execute(f"COPY (SELECT {cols} FROM ({bounded}) LIMIT {CAP}) TO "
                    f"{quote_literal(str(out))} ({filewriter._COPY_OPTIONS[fmt]})", [bound])
        return time.perf_counter() - t
    finally:
        con.close()


def ours(path: Path, fmt: str, out: Path) -> tuple[float, int]:
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        t = time.perf_counter()
        result = export.export(cur, export.filtered_events(Filters()), out, fmt, max_rows=CAP)
        return time.perf_counter() - t, result.rows


def main() -> None:
    path = CACHE / f"demo-{EVENTS}.duckdb"
    if not path.exists():
        sys.exit(f"{path} is missing: run bench/explore_query.py once to build it")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in export.FORMATS:
            raw_t, our_t = [], []
            for i in range(REPEAT):
                raw_out, our_out = Path(tmp) / f"raw{i}.{fmt}", Path(tmp) / f"ours{i}.{fmt}"
                raw_t.append(raw_copy(path, fmt, raw_out))
                secs, rows = ours(path, fmt, our_out)
                our_t.append(secs)
                assert rows == CAP, rows
                size = our_out.stat().st_size
                raw_out.unlink()
                our_out.unlink()
            raw_s, our_s = statistics.median(raw_t), statistics.median(our_t)
            ratios.append(raw_s / our_s)
            print(f"# {fmt}: {CAP:,} rows, {size / 1e6:.0f} MB", flush=True)
            print(f"raw_{fmt}_s={raw_s:.2f}")
            print(f"{fmt}_s={our_s:.2f}", flush=True)
    print(f"ratio={statistics.mean(ratios):.2f}")


if __name__ == "__main__":
    main()
