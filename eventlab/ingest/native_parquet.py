"""Parquet files read by DuckDB itself inside the mapped insert (the native read path).

When the store's instance may read a file's folder (`EventStore.readable`: `eventlab ingest`
opens it so), a Parquet file need not pass through pyarrow and Arrow: its footer is read in
Python (schema, row count: cheap), and the insert reads the rows with DuckDB's own parallel
reader, `read_parquet(getvariable(...), filename = true, file_row_number = true, ...)`, the
paths bound as a variable (never SQL text). The relation has the same columns, in the same
order and of the same types, as the Arrow tables `exports.read_file` would give: `__source`
the path, `__row` the 0-based row, hive columns as text. A chunk whose types would differ
is not read natively; the caller then reads it with pyarrow, as it does after any DuckDB
error (a corrupt page is found only while reading).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from eventlab.ingest.exports import FileRef, hive_values, with_position
from eventlab.ingest.roots import under_roots
from eventlab.store import db
from eventlab.store.sql import quote_ident

VARIABLE = "__eventlab_files"
"""The session variable holding the files DuckDB reads (bound with `SET VARIABLE ... = ?`):
each one's resolved path, which `read_file` reads too."""
SOURCES = "__eventlab_sources"
"""The same files' paths as found (their identity in the store, `__source`), same order."""

_PLAIN = re.compile(r"[A-Za-z0-9_.-]+")
"""Hive keys and values read natively: DuckDB and `exports.hive_values` read these alike."""

GLOB = frozenset("*?[]{}\\")
"""Characters `read_parquet` takes as a pattern in a path (or an escape): a file whose path
holds one goes the pyarrow way, else `ev[1].parquet` would read `ev1.parquet` instead."""


class Footer(NamedTuple):
    """What the footer of a file says: an empty table with the exact schema `read_file` would
    give (hive columns, `__source`, `__row` added) and the number of rows."""

    schema: pa.Table
    rows: int


def readable_folders(paths: Sequence[str]) -> tuple[str, ...]:
    """The folders of the paths given to `eventlab ingest` (a file's folder, a glob's fixed
    part), resolved: what its store may read natively."""
    out = []
    for raw in paths:
        p = os.path.expanduser(raw)
        if any(ch in p for ch in "*?["):
            cut = min(p.index(ch) for ch in "*?[" if ch in p)
            folder = os.path.dirname(p[:cut]) or "."
        else:
            folder = p if os.path.isdir(p) else os.path.dirname(p) or "."
        out.append(os.path.realpath(folder))
    return tuple(dict.fromkeys(out))


def footer(ref: FileRef, readable: Sequence[str]) -> Footer | None:
    """The file's footer when DuckDB can read the file natively with the same result; None
    sends it to the pyarrow path (a folder not readable, a path DuckDB would take as a
    pattern, an empty file, reserved or
    hive-clashing column names, unusual hive names or other ones on its resolved path, a
    footer pyarrow cannot read: that path says so exactly as before)."""
    if ref.fmt != "parquet" or not readable or not under_roots(ref.path, readable) \
            or not GLOB.isdisjoint(ref.path + _where(ref)):
        return None
    hive = hive_values(ref.path)
    if hive != hive_values(_where(ref)) \
            or any(not _PLAIN.fullmatch(k) or not _PLAIN.fullmatch(v) for k, v in hive.items()):
        return None
    try:
        meta = pq.read_metadata(_where(ref))
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError):
        return None
    names = schema.names
    if meta.num_rows == 0 or any(n.startswith("__") or n in hive for n in names) \
            or len(set(names)) != len(names):
        return None
    return Footer(with_position(schema.empty_table(), ref), meta.num_rows)


def _where(ref: FileRef) -> str:
    """Where the file is read from: its resolved path, as `exports.read_file` reads it."""
    return ref.real or ref.path


def relation(refs: Sequence[FileRef]) -> str:
    """The chunk's rows as `read_file` would give them (one hive key set per chunk)."""
    keys = list(hive_values(refs[0].path))
    hive = "".join(f", {quote_ident(k)}" for k in keys)
    source = "filename" if all(_where(r) == r.path for r in refs) else (
        f"getvariable('{SOURCES}')[list_position(getvariable('{VARIABLE}'), filename)]")
    return (f"SELECT * EXCLUDE (filename, file_row_number{hive}){hive}, {source} AS __source, "
            f"file_row_number AS __row FROM read_parquet(getvariable('{VARIABLE}'), "
            f"filename = true, file_row_number = true, hive_partitioning = {bool(keys)}, "
            f"hive_types_autocast = false, union_by_name = true)")


def prepare(cur: db.Connection, refs: Sequence[FileRef], schemas: Sequence[pa.Table]) -> str:
    """Bind the chunk's paths on `cur` and return its relation; raises a DuckDB error when a
    file changed since it was found (no longer a regular file) or when the relation's columns
    would not be those of the Arrow tables (the caller reads the chunk with pyarrow)."""
    for ref in refs:
        if not stat.S_ISREG(os.lstat(_where(ref)).st_mode):
            raise db.DuckError(f"{ref.path} is no longer a regular file")
    cur.execute(f"SET VARIABLE {VARIABLE} = ?", [[_where(r) for r in refs]])
    cur.execute(f"SET VARIABLE {SOURCES} = ?", [[r.path for r in refs]])
    text = relation(refs)
    names = [f"__schema_{i}" for i in range(len(schemas))]
    for name, table in zip(names, schemas, strict=True):
        db.register(cur, name, table)
    arrow_union = " UNION ALL BY NAME ".join(f"SELECT * FROM {n}" for n in names)
    want = db.rows(cur, f"SELECT column_name, column_type FROM (DESCRIBE {arrow_union})")
    got = db.rows(cur, f"SELECT column_name, column_type FROM (DESCRIBE {text})")
    for name in names:
        db.unregister(cur, name)
    if want != got:
        raise db.DuckError(f"native read would give other columns: {got} for {want}")
    return text
