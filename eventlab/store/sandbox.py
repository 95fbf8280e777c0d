"""The one runner of SQL a person typed or a link carried (docs/safety.md, items 17 and 39).

Every such path (the SQL console and `/sql?sql=` links, `eventlab sql`, `export --sql` and the
console's download, a republish selection's query) goes through `guarded` (streaming, for an
export) or `run_sql` (a capped result, built on it). Two walls, each enough alone:

1. `eventlab.store.sqlcheck.check`: DuckDB's own parse tree, CTEs and subqueries included,
   must show exactly one statement that only reads, and no function with side effects.
2. The statement runs in `BEGIN TRANSACTION READ ONLY` on its own cursor, and that
   transaction is always rolled back: DuckDB refuses any write in it ("transaction is launched
   in read-only mode"), and even a temp object it made is gone afterwards. Only the one parsed
   statement's text runs, never the rest of the input. The instance itself has external access
   off, memory, temp-space and thread limits and a locked configuration (`db.connect`).

Bounds: a watchdog interrupts the query after its time limit; a result stops at `max_rows`
rows and at `max_bytes` bytes of Arrow data (EVENTLAB_SQL_MAX_BYTES), saying which cut it;
running out of memory or temp space, and Arrow's 2 GB string limit, become messages.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from eventlab import settings
from eventlab.errors import EventLabError, SqlRefused, SqlTimeout, StoreError
from eventlab.store import db
from eventlab.store.sqlcheck import FORBIDDEN_FUNCTIONS, check, first_line

__all__ = ["DEFAULT_MAX_ROWS", "DEFAULT_TIMEOUT_S", "FORBIDDEN_FUNCTIONS", "OpenQuery",
           "SqlResult", "check", "guarded", "run_sql"]

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 10_000
BATCH_ROWS = 2_048
"""Rows per Arrow batch while a result is collected: the byte cap is checked per batch, so a
small batch keeps what is read past the cap small (DuckDB's vector size)."""


@dataclass
class SqlResult:
    """A capped query result: `truncated` says it was cut, `truncated_by` whether at the row
    cap ("rows") or the byte cap ("bytes")."""

    table: pa.Table
    truncated: bool
    elapsed_ms: float
    max_rows: int
    max_bytes: int = 0
    truncated_by: str | None = None
    limited: bool = False
    """The query ends in its own LIMIT (the hint is then to lower it, not to add one)."""

    @property
    def columns(self) -> list[str]:
        """Result column names."""
        return self.table.column_names

    @property
    def notice(self) -> str:
        """Why the result was cut, in one sentence ("" when it was not)."""
        if self.truncated_by == "bytes":
            return (f"Truncated at {self.table.num_rows:,} rows: the result reached the "
                    f"{_size(self.max_bytes)} cap (EVENTLAB_SQL_MAX_BYTES). Select fewer or "
                    f"shorter columns, aggregate, or {self._limit_hint}.")
        if self.truncated:
            return (f"Truncated: only the first {self.max_rows:,} rows are kept. "
                    f"{self._limit_hint[0].upper()}{self._limit_hint[1:]} or aggregate.")
        return ""

    @property
    def _limit_hint(self) -> str:
        return f"lower its LIMIT below {self.max_rows:,}" if self.limited else "add a LIMIT"

    def rows(self) -> list[list[Any]]:
        """Rows as lists of JSON-friendly values."""
        cols = [self.table.column(i).to_pylist() for i in range(self.table.num_columns)]
        return [[_plain(c[r]) for c in cols] for r in range(self.table.num_rows)]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `--json` object."""
        return {"columns": self.columns, "rows": self.rows(), "truncated": self.truncated,
                "truncated_by": self.truncated_by, "notice": self.notice,
                "row_count": self.table.num_rows, "elapsed_ms": round(self.elapsed_ms, 1)}


def _plain(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    return str(v)


def _size(n: int) -> str:
    return f"{n / 1e9:g} GB" if n >= 10**9 else f"{n / 1e6:g} MB"


@dataclass
class OpenQuery:
    """A checked query running in a read-only transaction (see `guarded`)."""

    relation: Any
    timed_out: threading.Event

    @property
    def columns(self) -> list[str]:
        """Result column names."""
        return list(self.relation.columns)

    @property
    def types(self) -> list[str]:
        """DuckDB type names of the result columns (e.g. 'JSON', 'VARCHAR')."""
        return [str(t) for t in self.relation.types]

    def reader(self, batch_rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
        """Stream the result as Arrow record batches."""
        return self.relation.to_arrow_reader(batch_rows)


@contextmanager
def guarded(con: db.Connection, sql: str, params: list[Any] | None = None, *,
            timeout_s: float | None = DEFAULT_TIMEOUT_S) -> Iterator[OpenQuery]:
    """Check `sql` and open it on a fresh cursor of `con`, inside a read-only transaction that
    is rolled back on leaving; read its result inside the `with` block.

    Driver errors raised inside the block (also while streaming) come out as SqlTimeout or
    SqlRefused saying what happened and what to do next. `params` are bound to `?`
    placeholders (callers that build SQL pass values this way, never inside the text)."""
    cur = con.cursor()
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        cur.interrupt()

    timer = threading.Timer(timeout_s, stop) if timeout_s else None
    try:
        db.rows(cur, "BEGIN TRANSACTION READ ONLY")
        text = check(cur, sql)
        if timer:
            timer.start()
        try:
            yield OpenQuery(cur.sql(text, params=list(params or [])), timed_out)
        except (db.DuckError, OSError) as exc:
            raise failure(exc, timed_out.is_set(), timeout_s,
                          lambda name: _setting(con, name)) from exc
        except EventLabError as exc:
            if timed_out.is_set():
                raise failure(exc, True, timeout_s) from exc
            raise
    finally:
        if timer:
            timer.cancel()
        with suppress(db.DuckError):  # none left to roll back: closing ends it anyway
            db.rows(cur, "ROLLBACK")
        cur.close()


def failure(exc: BaseException, timed_out: bool, timeout_s: float | None,
            setting: Callable[[str], str] = lambda name: "") -> EventLabError:
    """The message for a user query that failed while running; `setting(name)` reads a
    DuckDB setting's current value for the message (the limit that was hit)."""
    text = first_line(exc)
    if timed_out or isinstance(exc, db.Interrupted) or "INTERRUPT Error" in text:
        return SqlTimeout(f"The query ran longer than {timeout_s or 0:g} s and was stopped. "
                          "Narrow it (WHERE, LIMIT) and try again.")
    if db.DAMAGED.search(text):
        return StoreError(db.damaged_message(None, text))
    if "maximum total string size" in str(exc):
        return SqlRefused("The result holds more than 2 GB of text in one batch of rows, "
                          "more than it can be handed over in. Select shorter values (e.g. "
                          "left(payload::VARCHAR, 1000)), fewer rows, or aggregate.")
    if isinstance(exc, db.OutOfMemory) or text.startswith("Out of Memory Error"):
        if "max_temp_directory_size" in str(exc):
            return SqlRefused(f"The query needed more temporary disk space than the "
                              f"{setting('max_temp_directory_size')} cap "
                              "(EVENTLAB_TEMP_LIMIT) to sort or "
                              "join. Filter first, aggregate, or add a LIMIT; or start "
                              "EventLab with a higher EVENTLAB_TEMP_LIMIT.")
        return SqlRefused(f"The query ran out of memory (DuckDB's limit "
                          f"{setting('memory_limit')}, EVENTLAB_MEMORY_LIMIT). Filter first, "
                          "aggregate, or add a LIMIT; or start EventLab with a higher "
                          "EVENTLAB_MEMORY_LIMIT.")
    if "read-only mode" in text:
        return SqlRefused(f"Refused: {text} (the console only reads).")
    if "Permission Error" in text or "disabled by configuration" in text:
        return SqlRefused(f"Refused: {text} (the console cannot read files or change "
                          "settings).")
    return SqlRefused(f"The query failed: {text}")


def _setting(con: db.Connection, name: str) -> str:
    """A setting's current value, read on a cursor of its own (the query's transaction is
    aborted after a failure, and `con` may have a result pending)."""
    cur = con.cursor()
    try:
        return str(db.scalar(cur, "SELECT current_setting(?)", [name]))
    except db.DuckError:
        return "?"
    finally:
        cur.close()


def _fit(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The longest head of `batch` within `budget` bytes, copied (so the rest is freed)."""
    lo, hi = 0, batch.num_rows
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if batch.slice(0, mid).nbytes <= budget:
            lo = mid
        else:
            hi = mid - 1
    return batch.take(pa.array(range(lo), pa.int64()))


def run_sql(con: db.Connection, sql: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
            max_rows: int = DEFAULT_MAX_ROWS, max_bytes: int | None = None,
            params: list[Any] | None = None) -> SqlResult:
    """Check and run one read-only query (`guarded`) and collect its result, cut at
    `max_rows` rows and `max_bytes` bytes (default EVENTLAB_SQL_MAX_BYTES)."""
    max_bytes = settings.sql_max_bytes() if max_bytes is None else max_bytes
    batches: list[pa.RecordBatch] = []
    count = size = 0
    cut: str | None = None
    started = time.perf_counter()
    with guarded(con, sql, params, timeout_s=timeout_s) as query:
        reader = query.reader(min(max_rows + 1, BATCH_ROWS))
        for batch in reader:
            if size + batch.nbytes > max_bytes:
                batches.append(_fit(batch, max_bytes - size))
                cut = "bytes"
                break
            batches.append(batch)
            count += batch.num_rows
            size += batch.nbytes
            if count > max_rows:
                cut = "rows"
                break
        schema = reader.schema
    elapsed = (time.perf_counter() - started) * 1000
    table = pa.Table.from_batches(batches, schema=schema)
    if table.num_rows > max_rows:
        table, cut = table.slice(0, max_rows), "rows"
    return SqlResult(table, cut is not None, elapsed, max_rows, max_bytes, cut,
                     limited=_ENDS_IN_LIMIT.search(sql) is not None)


_ENDS_IN_LIMIT = re.compile(r"\blimit\s+\d+(\s+offset\s+\d+)?\s*;?\s*$", re.IGNORECASE)
"""A query whose last clause is a LIMIT."""
