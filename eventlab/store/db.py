"""The one DuckDB adapter: connection settings and the version-sensitive calls live here.

Every EventLab database instance runs with TimeZone=UTC, external access off (no file, URL or
extension access from SQL: inputs reach DuckDB as Arrow from our own readers) and a locked
configuration, so a statement from the SQL console can neither read the disk nor loosen limits.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from eventlab import settings
from eventlab.errors import StoreError

DEFAULT_MEMORY_LIMIT = settings.DEFAULT_MEMORY_LIMIT
OutOfMemory = duckdb.OutOfMemoryException  # memory limit or temp-space cap reached

Connection = duckdb.DuckDBPyConnection
DuckError = duckdb.Error
Interrupted = duckdb.InterruptException  # raised by `Connection.interrupt()`

ROW_GROUP_ROWS = 122_880
"""Rows in one DuckDB row group (its default `ROW_GROUP_SIZE`, which the store keeps)."""


def lock_holder(message: str) -> str:
    """Which process holds a DuckDB file lock, from DuckDB's message: its PID and command line
    (read from /proc where there is one), else what the message says."""
    found = re.search(r"PID (\d+)", message)
    if not found:
        return "another `eventlab` command or the app"
    pid = found.group(1)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"PID {pid}"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    command = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words))
    return f"PID {pid} (`{command[:200]}`)"


def connect(path: str | Path, *, read_only: bool = False,
            memory_limit: str | None = None, threads: int | None = None,
            readable: Sequence[str] = ()) -> Connection:
    """Open (or create) a database file with EventLab's locked-down settings (memory limit:
    the argument, else EVENTLAB_MEMORY_LIMIT; temp space: EVENTLAB_TEMP_LIMIT).

    `readable`: folders SQL on this instance may read files from (`allowed_directories`,
    set while the instance starts, before external access is turned off and the
    configuration locked: DuckDB accepts it only then). Only a process that runs no user SQL
    passes it (`eventlab ingest`, whose Parquet files DuckDB then reads itself)."""
    target = str(path)
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "enable_external_access": bool(readable),  # turned off below once set
        "memory_limit": memory_limit or settings.memory_limit(),
        "max_temp_directory_size": settings.temp_limit(),
        "threads": threads or max(1, os.cpu_count() or 1),
    }
    try:
        con = duckdb.connect(target, read_only=read_only, config=config)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreError(
                f"The database {target} is open in another process: {lock_holder(str(exc))}. "
                "DuckDB lets one process write a file: stop that one (Ctrl-C in its terminal, "
                "or `kill` its PID), or give this one another file with --db / EVENTLAB_DB "
                "(`make demo-kafka` uses .eventlab/kafka.duckdb).") from exc
        raise StoreError(f"Cannot open the database {target}: {exc}") from exc
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open the database {target}: {exc}") from exc
    # DuckDB hands back the same instance for the same file and configuration: it may be
    # configured and locked already.
    if not con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
        if readable:
            con.execute("SET allowed_directories = ?",
                        [[os.path.join(os.path.realpath(d), "") for d in readable]])
            con.execute("SET enable_external_access = false")
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        con.execute("SET lock_configuration = true")
    return con


DAMAGED = re.compile(r"not a valid DuckDB database file|Could not read enough bytes|"
                     r"Corrupt database file|checksum", re.I)
"""DuckDB's words for a file that is cut short or damaged (at open, or when a query reads a
block that is not there: a truncated file can open and fail only then)."""


def damaged_message(path: str | Path | None, detail: str) -> str:
    """The one message for a damaged database file: what, and what to do."""
    name = "" if path is None else f" {path}"
    return (f"the database file{name} is damaged: {detail.strip().splitlines()[0][:300]}. "
            "Restore it from a backup (or load the data again into a new file), or point "
            "EVENTLAB_DB (--db) at another file")


class StoreLimit(StoreError):
    """A query of a page or command hit DuckDB's memory limit or temp-space cap."""


@contextmanager
def guarded() -> Iterator[None]:
    """Out of memory (or of temp space) as a message naming the setting, and a damaged file
    as the damaged-file message, not a traceback."""
    try:
        yield
    except (duckdb.IOException, duckdb.InternalException, duckdb.SerializationException) as exc:
        if DAMAGED.search(str(exc)):
            raise StoreError(damaged_message(None, str(exc))) from exc
        raise
    except OutOfMemory as exc:
        if "max_temp_directory_size" in str(exc):
            raise StoreLimit(
                "DuckDB needed more temporary disk space than EventLab allows "
                "(EVENTLAB_TEMP_LIMIT) for this view. Narrow it (a time range, an entity type), "
                "or start EventLab with a higher EVENTLAB_TEMP_LIMIT.") from exc
        raise StoreLimit(
            "DuckDB ran out of memory for this view (its limit is EVENTLAB_MEMORY_LIMIT). "
            "Narrow it (a time range, an entity type), or start EventLab with a higher "
            "EVENTLAB_MEMORY_LIMIT.") from exc


def rows(con: Connection, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    """Run a statement and fetch every row (finishing the result: docs/duckdb.md)."""
    with guarded():
        return con.execute(sql, list(params or [])).fetchall()


def scalar(con: Connection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """Run a query that returns one value."""
    result = rows(con, sql, params)
    return result[0][0] if result else None


def arrow(con: Connection, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
    """Run a query and return its result as an Arrow table."""
    with guarded():
        return con.sql(sql, params=list(params or [])).to_arrow_table()


def arrow_reader(con: Connection, sql: str, params: Sequence[Any] | None = None,
                 batch_rows: int = 10_000) -> pa.RecordBatchReader:
    """Run a query and stream its result as Arrow record batches."""
    return con.sql(sql, params=list(params or [])).to_arrow_reader(batch_rows)


def register(con: Connection, name: str, table: pa.Table) -> None:
    """Expose an Arrow table to SQL under `name` (unregister it when done)."""
    con.register(name, table)


def unregister(con: Connection, name: str) -> None:
    """Drop a name registered with `register`."""
    con.unregister(name)


def statements(con: Connection, sql: str) -> list[tuple[str, str]]:
    """Parse `sql` without running it; return each statement's type name (e.g. 'SELECT') and
    its own text (so exactly one parsed statement can be run, never the rest of `sql`)."""
    return [(s.type.name, s.query) for s in con.extract_statements(sql)]
