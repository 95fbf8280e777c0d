"""Export what you found: the source of each page's export, and writing it as CSV, JSON lines or
Parquet.

A source is either an `ExportQuery` (SQL with bound parameters, built here for Explore's
filtered set, one entity's events and the quarantine; or a person's SQL, checked by the
console's sandbox) or a `TableSource` (an Arrow table built on demand in Python: Time travel's
state history). DuckDB writes every file (`eventlab.store.filewriter`: the query's result
streams as Arrow batches into a private writer instance; never pandas). Raw Kafka bytes come
out as hex in CSV and JSON lines and as binary in Parquet.

An export of events (`EVENT_EXPORT_COLUMNS`) loads back through `eventlab ingest` as the same
events: its columns are those of the `events` table, which the `auto` mapping reads as an
envelope (`eventlab.ingest.mapping`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from eventlab.explore.filters import Filters, build_where, where_sql
from eventlab.store import db, filewriter
from eventlab.store.filewriter import EXTENSIONS, FORMATS, MIME, ExportError, WriteResult
from eventlab.store.order import ORDER_SQL
from eventlab.store.schema import EVENT_COLUMNS
from eventlab.store.sql import column_list

if TYPE_CHECKING:
    from eventlab.replay import Fold

__all__ = [
    "BROWSER_MAX_ROWS", "EVENT_EXPORT_COLUMNS", "EXTENSIONS", "FORMATS", "MIME", "ExportError",
    "ExportQuery", "TableSource", "WriteResult", "discard", "entity_events", "export",
    "export_to_temp", "file_name", "filtered_events", "quarantine", "sql_result",
    "state_history", "sweep_downloads", "unique_stem",
]

BROWSER_MAX_ROWS = 1_000_000
"""A download from the browser holds at most this many rows (with a notice when cut)."""
DOWNLOAD_MAX_AGE_S = 6 * 3600
"""Prepared downloads older than this are deleted by the next export (their session ended)."""
_DOWNLOAD_PREFIX = "eventlab-download-"
EVENT_EXPORT_COLUMNS: tuple[str, ...] = EVENT_COLUMNS
"""Every column of the canonical event, raw Kafka bytes included."""
QUARANTINE_COLUMNS: tuple[str, ...] = ("source", "topic", "partition", "offset", "reason",
                                       "detail", "raw", "key", "headers", "quarantined_at")
_EVENT_ORDER = 'ts, entity_id, seq, "offset"'  # Explore's page order


@dataclass(frozen=True)
class ExportQuery:
    """SQL whose result is exported; `user_sql` marks a person's query (sandbox-checked)."""

    sql: str
    params: tuple[Any, ...] = ()
    name: str = "events"
    user_sql: bool = False
    capped: tuple[str, str] | None = None
    """For a large set sorted by `ts` first: (SQL giving the `ts` at row `OFFSET ?` of the set,
    the same query as `sql` with one more bound `ts <= ?` whose value follows `params`). A
    capped export first looks up the cap's `ts`, then sorts only the rows up to it: on 5M
    events, 5 s instead of 38 s for the first 1,000,000 (docs/duckdb.md)."""

    @property
    def signature(self) -> tuple[Any, ...]:
        """What identifies the exported set (a prepared file is stale when it changes)."""
        return ("query", self.sql, repr(self.params))


@dataclass(frozen=True)
class TableSource:
    """An Arrow table built only when the export is written; `key` identifies its content."""

    build: Callable[[], pa.Table] = field(compare=False)
    name: str
    key: tuple[Any, ...]
    json_columns: tuple[str, ...] = ()

    @property
    def signature(self) -> tuple[Any, ...]:
        """What identifies the exported set."""
        return ("table", self.name, *self.key)


Source = ExportQuery | TableSource


# -- the sources of the four pages (pure) ---------------------------------------------------

def filtered_events(f: Filters) -> ExportQuery:
    """Explore's filtered set (`build_where`), every event column, in the page's order."""
    clauses, params = build_where(f)
    cols = column_list(EVENT_EXPORT_COLUMNS)
    cut = f"SELECT ts FROM events{where_sql(clauses)} ORDER BY ts LIMIT 1 OFFSET ?"
    bounded = f"SELECT {cols} FROM events{where_sql([*clauses, 'ts <= ?'])} ORDER BY {_EVENT_ORDER}"
    return ExportQuery(f"SELECT {cols} FROM events{where_sql(clauses)} ORDER BY {_EVENT_ORDER}",
                       tuple(params), "events", capped=(cut, bounded))


def sql_result(sql: str) -> ExportQuery:
    """A SQL console query: checked by the sandbox and run like the console runs it."""
    return ExportQuery(sql.strip().rstrip(";").strip(), (), "query", user_sql=True)


def entity_events(entity_id: str) -> ExportQuery:
    """One entity's events in stream order (Time travel's order; a bare `entity_id = ?`
    first, so the ART index or the clustering is used: docs/duckdb.md)."""
    cols = column_list(EVENT_EXPORT_COLUMNS)
    return ExportQuery(f"WITH e AS MATERIALIZED (SELECT {cols} FROM events WHERE entity_id = ?) "
                       f"SELECT {cols} FROM e ORDER BY {ORDER_SQL}", (entity_id,),
                       f"entity-{unique_stem(entity_id)}")


def quarantine(reason: str | None = None) -> ExportQuery:
    """Quarantined rows (all, or one reason's), raw bytes included, newest first."""
    where, params = (" WHERE reason = ?", (reason,)) if reason else ("", ())
    return ExportQuery(f"SELECT {column_list(QUARANTINE_COLUMNS)} FROM quarantine{where} "
                       f"ORDER BY quarantined_at DESC, source, \"offset\"", params, "quarantine")


STATE_HISTORY_SCHEMA = pa.schema([
    ("position", pa.int64()), ("seq", pa.int64()), ("event_id", pa.string()),
    ("event_type", pa.string()), ("ts", pa.timestamp("us", tz="UTC")),
    ("is_delete", pa.bool_()), ("state", pa.string()),
])
"""One row per event: the entity's state right after it, as JSON (`state`)."""


def state_history_table(fold: Fold) -> pa.Table:
    """The state after each event of a fold, as Arrow (states serialised with orjson, one
    pass over the fold; no pandas). Stops before the event a reducer failed on."""
    from eventlab.timetravel.positions import jsonable

    stop = fold.failed_at if fold.error is not None else None
    cols: dict[str, list[Any]] = {name: [] for name in STATE_HISTORY_SCHEMA.names}
    for index, event, state in fold.iter_states(0, stop, copy=False):
        cols["position"].append(index)
        cols["seq"].append(event.seq)
        cols["event_id"].append(event.event_id)
        cols["event_type"].append(event.event_type)
        cols["ts"].append(event.ts)
        cols["is_delete"].append(bool(event.is_delete))
        cols["state"].append(orjson.dumps(jsonable(state), default=str).decode())
    return pa.table(cols, schema=STATE_HISTORY_SCHEMA)


def state_history(fold: Fold, entity_id: str) -> TableSource:
    """Time travel's state history of one entity (built when the export is written)."""
    return TableSource(lambda: state_history_table(fold),
                       f"entity-{unique_stem(entity_id)}-states",
                       (entity_id, id(fold), len(fold)), ("state",))


# -- writing --------------------------------------------------------------------------------

def unique_stem(text: str, readable: int = 60) -> str:
    """A file-name stem for any text (an entity id), unique per text and stable: its safe
    characters (up to `readable`) plus 12 hex digits of its SHA-256, so `order/1` and
    `order?1` never share a file (docs/safety.md, item 35)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:readable] or "x"
    return f"{slug}-{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def file_name(source: Source, fmt: str) -> str:
    """A safe file name for a source: `events.csv`, `entity-order-42-states.parquet`."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", source.name).strip("._") or "export"
    return stem[:120] + EXTENSIONS[fmt]


def export(con: db.Connection, source: Source, path: str | Path, fmt: str, *,
           max_rows: int | None = None, timeout_s: float | None = None) -> WriteResult:
    """Write `source` to `path` as `fmt` (csv, jsonl, parquet), at most `max_rows` rows."""
    if isinstance(source, TableSource):
        return filewriter.write_table(source.build(), path, fmt,
                                      json_columns=source.json_columns, max_rows=max_rows)
    sql, params = source.sql, source.params
    if source.capped is not None and max_rows is not None:
        cut, bounded = source.capped
        bound = db.scalar(con, cut, [*params, max_rows])  # the ts of row cap + 1, if any
        if bound is not None:
            sql, params = bounded, (*params, bound)
    return filewriter.write_query(con, sql, path, fmt, params, max_rows=max_rows,
                                  user_sql=source.user_sql, timeout_s=timeout_s)


def export_to_temp(con: db.Connection, source: Source, fmt: str, *,
                   max_rows: int | None = None, timeout_s: float | None = None) -> WriteResult:
    """Write `source` into a new private temporary folder (for a browser download), at most
    `max_rows` rows (default `BROWSER_MAX_ROWS`); remove it with `discard` when it is no
    longer offered."""
    max_rows = BROWSER_MAX_ROWS if max_rows is None else max_rows
    sweep_downloads()
    folder = tempfile.mkdtemp(prefix=_DOWNLOAD_PREFIX)
    try:
        return export(con, source, Path(folder) / file_name(source, fmt), fmt,
                      max_rows=max_rows, timeout_s=timeout_s)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def discard(result: WriteResult | None) -> None:
    """Delete a file written by `export_to_temp`, with its folder."""
    if result is not None and Path(result.path).parent.name.startswith(_DOWNLOAD_PREFIX):
        shutil.rmtree(Path(result.path).parent, ignore_errors=True)


def sweep_downloads(max_age_s: float = DOWNLOAD_MAX_AGE_S) -> int:
    """Delete download folders older than `max_age_s` (left by sessions that ended); returns
    how many went."""
    gone = 0
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(_DOWNLOAD_PREFIX + "*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
                shutil.rmtree(folder, ignore_errors=True)
                gone += 1
        except OSError:
            continue
    return gone

