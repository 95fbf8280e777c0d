"""Write a query's result to a file with DuckDB's own writers: CSV, JSON lines or Parquet.

Why a second, private DuckDB instance (measured with duckdb 2.0.1, see docs/duckdb.md):
`COPY (query) TO 'file'` on a connection with `enable_external_access=false` fails with
"Permission Error: ... file system operations are disabled by configuration".
`allowed_directories` lifts that for the folders it lists, but it cannot be given when the
database starts ("Cannot change/set allowed_directories before the database is started") nor
after external access was turned off ("Cannot change allowed_directories when
enable_external_access is disabled"). The store's instance starts with external access off
and a locked configuration (`db.connect`), so it can never write a file, and it must not.

So each export opens a private in-memory writer instance: `allowed_directories` is one new,
empty temporary folder beside the target; then external access goes off and the configuration
is locked. The store runs the query and streams its result as Arrow record batches (never a
whole table, never pandas) into the writer, which runs only our own `COPY ... TO` (never user
SQL) and can touch nothing but that folder. The finished file is renamed onto the target, so
a failed export leaves no half-written file there.

Raw bytes (BLOB columns, at any depth: Kafka key, value, header values) are written as
lowercase hex in CSV and JSON lines, and as binary in Parquet. JSON columns stay JSON in JSON
lines (nested objects, not strings) and are JSON text in CSV and Parquet. In CSV, nested
columns (the headers list) are JSON text.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from eventlab.errors import SqlTimeout, StoreError
from eventlab.store import db, sandbox
from eventlab.store.sql import quote_ident, quote_literal

FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
EXTENSIONS: dict[str, str] = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}
MIME: dict[str, str] = {"csv": "text/csv", "jsonl": "application/x-ndjson",
                        "parquet": "application/vnd.apache.parquet"}
_COPY_OPTIONS = {"csv": "FORMAT CSV, HEADER true", "jsonl": "FORMAT JSON",
                 "parquet": "FORMAT PARQUET, COMPRESSION zstd"}
BATCH_ROWS = 50_000
WRITER_MEMORY = "1GB"


class ExportError(StoreError):
    """An export could not be written (bad path, unknown format, ...); the message says what."""


@dataclass(frozen=True)
class WriteResult:
    """What an export wrote: the file, its format, rows, whether the cap cut it, its size."""

    path: str
    fmt: str
    rows: int
    truncated: bool
    max_rows: int | None
    bytes: int
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `--json` object."""
        return {"path": self.path, "format": self.fmt, "rows": self.rows,
                "truncated": self.truncated, "max_rows": self.max_rows, "bytes": self.bytes,
                "elapsed_ms": round(self.elapsed_ms, 1)}


# -- the writer's SELECT list (pure) --------------------------------------------------------

def _has_binary(t: pa.DataType) -> bool:
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_binary(t.value_type)
    if pa.types.is_struct(t):
        return any(_has_binary(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_map(t):
        return _has_binary(t.key_type) or _has_binary(t.item_type)
    return False


def _hexed(expr: str, t: pa.DataType, depth: int = 0) -> str:
    """`expr` with every binary value inside it replaced by its lowercase hex text."""
    if not _has_binary(t):
        return expr
    if pa.types.is_map(t):
        var = f"x{depth}"
        key = _hexed(f"struct_extract({var}, 'key')", t.key_type, depth + 1)
        value = _hexed(f"struct_extract({var}, 'value')", t.item_type, depth + 1)
        return (f"map_from_entries(list_transform(map_entries({expr}), lambda {var}: "
                f"struct_pack(\"key\" := {key}, \"value\" := {value})))")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        var = f"x{depth}"
        return f"list_transform({expr}, lambda {var}: {_hexed(var, t.value_type, depth + 1)})"
    if pa.types.is_struct(t):
        parts = ", ".join(
            f"{quote_ident(f.name)} := "
            f"{_hexed(f'struct_extract({expr}, {quote_literal(f.name)})', f.type, depth)}"
            for f in (t.field(i) for i in range(t.num_fields)))
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({parts}) END"
    return f"lower(hex({expr}))"


def _nested(t: pa.DataType) -> bool:
    return (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t)
            or pa.types.is_map(t))


def select_list(schema: pa.Schema, fmt: str, json_columns: Sequence[str] = ()) -> str:
    """The writer's SELECT list for `fmt` over a source with `schema`.

    CSV and JSON lines: binary as hex; JSON lines: `json_columns` as JSON values; CSV: nested
    columns as JSON text. Parquet: every column as it is (binary stays binary).
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = []
    for f in schema:
        q = quote_ident(f.name)
        expr = q
        if fmt != "parquet":
            expr = _hexed(q, f.type)
            if fmt == "jsonl" and f.name in json_columns:
                expr = f"CAST({q} AS JSON)"
            elif fmt == "csv" and _nested(f.type):
                expr = f"CAST(to_json({expr}) AS VARCHAR)"
        out.append(expr if expr == q else f"{expr} AS {q}")
    return ", ".join(out) or "*"


def unique_names(names: Sequence[str]) -> list[str]:
    """Column names made unique (`a`, `a_2`, ...): a query may return two columns `a`."""
    seen: set[str] = set()
    out = []
    for name in names:
        new, n = name, 1
        while new in seen:
            n += 1
            new = f"{name}_{n}"
        seen.add(new)
        out.append(new)
    return out


# -- streaming ------------------------------------------------------------------------------

class _Capped:
    """Batches of a reader up to `max_rows` rows; `truncated` is set when more followed."""

    def __init__(self, reader: pa.RecordBatchReader, max_rows: int | None) -> None:
        self.reader = reader
        self.names = unique_names(reader.schema.names)
        self.schema = pa.schema([f.with_name(n) for f, n in zip(reader.schema, self.names,
                                                                strict=True)])
        self.max_rows = max_rows
        self.rows = 0
        self.truncated = False

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The batches, the last one cut at the cap; one batch past the cap is read to know
        whether more followed."""
        for batch in self.reader:
            batch = batch.rename_columns(self.names)
            if self.max_rows is not None and batch.num_rows > self.max_rows - self.rows:
                room = self.max_rows - self.rows
                if room:
                    self.rows += room
                    yield batch.slice(0, room)
                self.truncated = True
                return
            self.rows += batch.num_rows
            yield batch


def _writer_instance(folder: str) -> duckdb.DuckDBPyConnection:
    """An in-memory instance that may write into `folder` only, and nothing else."""
    con = duckdb.connect(":memory:", config={"memory_limit": WRITER_MEMORY, "threads": 2})
    con.execute("SET allowed_directories = [?]", [folder.rstrip("/") + "/"])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _target(path: str | Path) -> Path:
    target = Path(path).expanduser()
    if target.is_dir():
        raise ExportError(f"{target} is a folder: give a file name, e.g. {target}/events.csv")
    parent = target.parent.resolve()
    if not parent.is_dir():
        raise ExportError(f"cannot write {target}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"cannot write {target}: no permission to write in {parent}")
    return parent / target.name


def _write(reader: pa.RecordBatchReader, path: str | Path, fmt: str,
           json_columns: Sequence[str], max_rows: int | None) -> WriteResult:
    started = time.perf_counter()
    capped = _Capped(reader, max_rows)
    columns = select_list(capped.schema, fmt, json_columns)
    target = _target(path)
    try:
        folder = tempfile.mkdtemp(prefix=".eventlab-export-", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    stream = pa.RecordBatchReader.from_batches(capped.schema, capped.batches())
    tmp = os.path.join(folder, "out" + EXTENSIONS[fmt])
    try:
        writer = _writer_instance(folder)
        try:
            writer.register("__export_source", stream)
            writer.execute(f"COPY (SELECT {columns} FROM __export_source) TO "
                           f"{quote_literal(tmp)} ({_COPY_OPTIONS[fmt]})")
        finally:
            writer.close()
        os.replace(tmp, target)
    except duckdb.Error as exc:
        raise ExportError(f"writing {target} failed: {str(exc).strip().splitlines()[0]}") \
            from exc
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return WriteResult(str(target), fmt, capped.rows, capped.truncated, max_rows,
                       target.stat().st_size, (time.perf_counter() - started) * 1000)


def write_query(con: db.Connection, sql: str, path: str | Path, fmt: str,
                params: Sequence[Any] = (), *, max_rows: int | None = None,
                user_sql: bool = False, timeout_s: float | None = None) -> WriteResult:
    """Run one query on a fresh cursor of `con` and write its result to `path` as `fmt`.

    `user_sql`: the text comes from a person (the SQL console, `eventlab export --sql`): it
    runs through the sandbox's one runner (`sandbox.guarded`: the parse-tree check, then a
    read-only transaction that is rolled back). `max_rows` caps the file (the result says
    whether it cut); `timeout_s` interrupts the query after that long.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if user_sql:
        with sandbox.guarded(con, sql, list(params), timeout_s=timeout_s) as query:
            return _write(query.reader(BATCH_ROWS), path, fmt, _json_columns(query.columns,
                                                                              query.types),
                          max_rows)
    cur = con.cursor()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        cur.interrupt()

    timer = threading.Timer(timeout_s, stop) if timeout_s else None
    try:
        try:
            rel = cur.sql(sql, params=list(params))
            json_columns = _json_columns(rel.columns, [str(t) for t in rel.types])
            if timer:
                timer.start()
            return _write(rel.to_arrow_reader(BATCH_ROWS), path, fmt, json_columns, max_rows)
        except (db.DuckError, ExportError) as exc:
            if timed_out.is_set():
                raise SqlTimeout(f"The export query ran longer than {timeout_s:g} s and was "
                                 "stopped. Narrow it (WHERE, LIMIT) and try again.") from exc
            if isinstance(exc, ExportError):
                raise
            text = str(exc).strip().splitlines()[0]
            raise ExportError(f"the export query failed: {text}") from exc
    finally:
        if timer:
            timer.cancel()
        cur.close()


def _json_columns(names: Sequence[str], types: Sequence[str]) -> list[str]:
    """The (made unique) names of the JSON-typed columns."""
    return [name for name, t in zip(unique_names(names), types, strict=True)
            if t.upper() == "JSON"]


def write_table(table: pa.Table, path: str | Path, fmt: str, *,
                json_columns: Sequence[str] = (), max_rows: int | None = None) -> WriteResult:
    """Write an Arrow table built in Python (e.g. a state history) the same way."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(BATCH_ROWS))
    return _write(reader, path, fmt, json_columns, max_rows)
