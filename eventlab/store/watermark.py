"""Facts kept next to `events` per data version (the summaries, the follows facts, the As of
current states, the payload shapes), one rule for all of them.

Each set has a one-row state table `(covered BIGINT, watermark TIMESTAMPTZ)`: how many events
its facts describe and the newest `ingested_at` among them. The facts are fresh when both equal
the store's count and newest `ingested_at` now (one count and one max), and every reader checks
that first, so stale facts make a page slower (it reads the events), never wrong. `refresh`
reads only the rows ingested after the watermark (the newest rows: zone maps skip the rest),
and rebuilds whole when the rows do not add up (covered + new != stored: a transaction that
began before the watermark committed after it, or rows were removed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventlab.store import db


def state_ddl(table: str) -> str:
    """The state table's DDL."""
    return f"CREATE TABLE IF NOT EXISTS {table} (covered BIGINT, watermark TIMESTAMPTZ)"


@dataclass(frozen=True)
class State:
    """What a set of facts covers, against what the store holds now."""

    covered: int
    watermark: Any
    events: int
    newest: Any

    @property
    def fresh(self) -> bool:
        """True when the facts describe exactly the stored events."""
        return self.covered == self.events and self.watermark == self.newest


def state(con: db.Connection, table: str) -> State | None:
    """The coverage in state table `table` and the store's size now; None without it."""
    if db.scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                      "AND NOT temporary", [table]) != 1:
        return None
    n, newest, covered, watermark = db.rows(
        con, f"SELECT (SELECT count(*) FROM events), (SELECT max(ingested_at) FROM events), "
             f"(SELECT covered FROM {table}), (SELECT watermark FROM {table})")[0]
    return State(int(covered or 0), watermark, int(n), newest)


def fresh(con: db.Connection, table: str) -> bool:
    """True when the state table exists and its facts describe exactly the stored events."""
    s = state(con, table)
    return s is not None and s.fresh


def commit_slice(cur: db.Connection) -> None:
    """Inside a rebuild in slices: commit the slice written and begin the next transaction, so
    no one transaction holds every new row (a first build of the follows facts at 50M events
    needed more than the default 4GB of temp disk in one). Safe because the state table is
    stamped only when the rebuild ends (until then readers find the facts stale and scan) and
    the caller holds the store's write lock throughout (`EventStore.transaction`)."""
    cur.execute("COMMIT")
    cur.execute("BEGIN TRANSACTION")


def refresh(cur: db.Connection, table: str, ddl: Sequence[str],
            add: Callable[[db.Connection, Any], None],
            rebuild: Callable[[db.Connection, State], None]) -> str:
    """Bring one set of facts up to date inside the caller's write transaction: `add(cur,
    watermark)` folds in the rows ingested after the watermark, `rebuild(cur, state)` makes
    the facts again from every row (its tables emptied by it). Returns "fresh", "incremental"
    or "rebuilt"; the state table is stamped here."""
    for statement in (*ddl, state_ddl(table)):
        cur.execute(statement)
    s = state(cur, table)
    assert s is not None
    if s.fresh:
        return "fresh"
    did = "rebuilt"
    if s.watermark is not None and s.covered <= s.events:
        new = db.scalar(cur, "SELECT count(*) FROM events WHERE ingested_at > ?",
                        [s.watermark])
        if s.covered + new == s.events:
            add(cur, s.watermark)
            did = "incremental"
    if did == "rebuilt":
        rebuild(cur, s)
    cur.execute(f"DELETE FROM {table}")
    cur.execute(f"INSERT INTO {table} SELECT count(*), max(ingested_at) FROM events")
    return did
