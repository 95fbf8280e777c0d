"""A consumer's read model, read into Arrow by our own readers (DuckDB's external access is
off): a CSV, JSON lines or Parquet file, one row per entity, with the entity id column and
optionally the position (seq) or time the row reflects, plus how its columns map to state
paths.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from eventlab.errors import EventLabError, SourceError
from eventlab.ingest.formats import FORMATS, guess_format


class DivergeError(EventLabError):
    """A comparison cannot run as asked (a column the read model lacks, an unusable one)."""


@dataclass(frozen=True)
class ReadModelSpec:
    """How to read a read model: its id column, the optional position/time column, a mapping
    of columns to dotted state paths (default: every other column to the same-named field),
    the columns to leave out, and the tolerance for numbers."""

    id_column: str = "id"
    at_column: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    tolerance: float = 1e-9

    def fields(self, columns: list[str]) -> list[tuple[str, str]]:
        """(column, state path) pairs to compare, in the file's column order."""
        missing = [c for c in (self.id_column, self.at_column, *self.mapping) if c
                   and c not in columns]
        if missing:
            raise DivergeError(f"the read model has no column {', '.join(map(repr, missing))}"
                              f" (its columns: {', '.join(columns)})")
        if self.mapping:
            return list(self.mapping.items())
        skip = {self.id_column, self.at_column, *self.ignore}
        return [(c, c) for c in columns if c not in skip]


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`column=state.path` items (the CLI's --map) as a mapping."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, path = item.partition("=")
        if not sep or not column or not path:
            raise DivergeError(f"--map wants COLUMN=STATE.PATH, not {item!r}")
        out[column] = path
    return out


def read_model(path: str | Path, fmt: str | None = None) -> pa.Table:
    """The read model file as an Arrow table (a regular file; CSV, JSON lines or Parquet)."""
    where = str(path)
    fmt = fmt or guess_format(where)
    if fmt not in FORMATS:
        raise SourceError(f"cannot tell the format of {where}: name it .csv, .jsonl or "
                          f".parquet, or pass the format ({', '.join(FORMATS)})")
    try:
        if not stat.S_ISREG(os.stat(where).st_mode):
            raise SourceError(f"{where} is not a regular file; not read")
        if fmt == "parquet":
            return pq.read_table(where)
        if fmt == "csv":
            return pacsv.read_csv(
                where, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        return pajson.read_json(where)
    except SourceError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SourceError(f"cannot read the read model {where} as {fmt}: {exc}") from exc


def read_model_bytes(data: bytes, name: str, fmt: str | None = None) -> pa.Table:
    """An uploaded read model (its bytes and file name) as an Arrow table."""
    fmt = fmt or guess_format(name)
    if fmt not in FORMATS:
        raise SourceError(f"cannot tell the format of {name}: name it .csv, .jsonl or "
                          f".parquet")
    try:
        if fmt == "parquet":
            return pq.read_table(io.BytesIO(data))
        if fmt == "csv":
            return pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True))
        return pajson.read_json(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SourceError(f"cannot read the read model {name} as {fmt}: {exc}") from exc
