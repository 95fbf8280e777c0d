"""Write a demo export as hive-partitioned Parquet: out_dir/day=YYYY-MM-DD/part-00000.parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eventlab.demo.domain import generate_with_arrival

_ROW_GROUP = 100_000
_US_PER_DAY = 86_400_000_000


def write_export(
    out_dir: str | Path, events: int, seed: int = 42, rows_per_file: int = 500_000
) -> list[Path]:
    """Generate `events` rows and write them by day, zstd-compressed; return the file paths.

    A row's day is that of its place in the log (its original time), so the rows with a null
    or skewed `timestamp` sit in the file where the producer wrote them. A day with more than
    `rows_per_file` rows is split into part-00000, part-00001, ... Leftover part files of an
    earlier export in the same day folders are removed, so the folder holds exactly this export.
    """
    if rows_per_file < 1:
        raise ValueError(f"rows_per_file must be >= 1, got {rows_per_file}")
    table, arrival = generate_with_arrival(events, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("day=*/part-*.parquet"):
        stale.unlink()
    day = arrival.to_numpy().astype("datetime64[us]").astype(np.int64) // _US_PER_DAY
    paths: list[Path] = []
    for d in np.unique(day):
        rows = np.flatnonzero(day == d)
        label = np.datetime64(int(d), "D").astype(str)
        folder = out / f"day={label}"
        folder.mkdir(exist_ok=True)
        for part, begin in enumerate(range(0, len(rows), rows_per_file)):
            chunk = table.take(pa.array(rows[begin: begin + rows_per_file]))
            path = folder / f"part-{part:05d}.parquet"
            pq.write_table(chunk, path, compression="zstd", row_group_size=_ROW_GROUP)
            paths.append(path)
    return paths
