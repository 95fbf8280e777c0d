"""The SQL console: exactly one read-only SELECT, a time limit, a row cap (docs/safety.md, item 17).

The statement is parsed by DuckDB (not matched by prefix) and must be a single SELECT; its
syntax tree is checked for functions with side effects. It runs on its own cursor of an
instance that has external access off, memory and thread limits and a locked configuration
(see `eventlab.store.db.connect`), so file reads, ATTACH, INSTALL, LOAD and SET fail there too. A
watchdog interrupts it after the time limit.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from eventlab.errors import SqlRefused, SqlTimeout
from eventlab.store import db

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_ROWS = 10_000
# Table or scalar functions that change state or run other SQL, refused even inside a SELECT.
FORBIDDEN_FUNCTIONS = frozenset({
    "checkpoint", "force_checkpoint", "query", "query_table", "setseed", "nextval",
    "pragma_database_size", "set_config", "read_blob", "read_text", "glob",
})


@dataclass
class SqlResult:
    """A capped query result: `truncated` says rows were cut at the cap."""

    table: pa.Table
    truncated: bool
    elapsed_ms: float
    max_rows: int

    @property
    def columns(self) -> list[str]:
        """Result column names."""
        return self.table.column_names

    def rows(self) -> list[list[Any]]:
        """Rows as lists of JSON-friendly values."""
        cols = [self.table.column(i).to_pylist() for i in range(self.table.num_columns)]
        return [[_plain(c[r]) for c in cols] for r in range(self.table.num_rows)]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's `--json` object."""
        return {"columns": self.columns, "rows": self.rows(), "truncated": self.truncated,
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


def _function_names(tree: Any) -> set[str]:
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = node.get("function_name")
            if isinstance(name, str):
                found.add(name.lower())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def check(con: db.Connection, sql: str) -> str:
    """Return the single SELECT statement in `sql`, or raise SqlRefused saying why."""
    if not sql or not sql.strip():
        raise SqlRefused("Empty query: write one SELECT statement.")
    try:
        kinds = db.statement_types(con, sql)
    except db.DuckError as exc:
        raise SqlRefused(f"The query does not parse: {_first_line(exc)}") from exc
    if len(kinds) != 1:
        raise SqlRefused(f"Exactly one statement is allowed; this has {len(kinds)}.")
    if kinds[0] != "SELECT":
        raise SqlRefused(f"Only SELECT queries run here (this is {kinds[0]}); the console "
                         "is read-only.")
    tree = json.loads(db.scalar(con, "SELECT json_serialize_sql(?)", [sql]))
    if tree.get("error"):
        raise SqlRefused(f"The query is not a plain SELECT: {tree.get('error_message')}")
    bad = sorted(_function_names(tree) & FORBIDDEN_FUNCTIONS)
    if bad:
        raise SqlRefused(f"Function(s) not allowed in the console: {', '.join(bad)}.")
    return sql


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def run_sql(con: db.Connection, sql: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
            max_rows: int = DEFAULT_MAX_ROWS, params: list[Any] | None = None) -> SqlResult:
    """Check and run one read-only query on a fresh cursor of `con`, within the limits.

    `params` are bound to the query's `?` placeholders (callers that build SQL, such as a
    republish selection, pass values this way, never inside the text)."""
    cur = con.cursor()
    try:
        check(cur, sql)
        timer = threading.Timer(timeout_s, cur.interrupt)
        started = time.perf_counter()
        timer.start()
        try:
            reader = cur.sql(sql, params=list(params or [])).to_arrow_reader(
                min(max_rows + 1, 10_000))
            batches, count = [], 0
            for batch in reader:
                batches.append(batch)
                count += batch.num_rows
                if count > max_rows:
                    break
        except db.DuckError as exc:
            if isinstance(exc, db.Interrupted) or time.perf_counter() - started >= timeout_s:
                raise SqlTimeout(f"The query ran longer than {timeout_s:g} s and was "
                                 "stopped. Narrow it (WHERE, LIMIT) and try again.") from exc
            if "Permission Error" in str(exc) or "disabled by configuration" in str(exc):
                raise SqlRefused(f"Refused: {_first_line(exc)} (the console cannot read "
                                 "files or change settings).") from exc
            raise SqlRefused(f"The query failed: {_first_line(exc)}") from exc
        finally:
            timer.cancel()
        elapsed = (time.perf_counter() - started) * 1000
        table = pa.Table.from_batches(batches, schema=reader.schema)
        truncated = table.num_rows > max_rows
        return SqlResult(table.slice(0, max_rows), truncated, elapsed, max_rows)
    finally:
        cur.close()
