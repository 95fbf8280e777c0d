"""EventStore: one DuckDB file, one writer connection, a cursor per reader thread or session."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventlab.errors import StoreError
from eventlab.store import db, follows, summaries
from eventlab.store.schema import DDL, ENTITY_INDEX, migrate

DEFAULT_DB = Path(".eventlab") / "eventlab.duckdb"


def resolve_db_path(path: str | Path | None = None) -> Path:
    """The database to use: the argument, else $EVENTLAB_DB, else .eventlab/eventlab.duckdb."""
    chosen = path or os.environ.get("EVENTLAB_DB") or DEFAULT_DB
    return Path(chosen).expanduser()


# What DuckDB says when it cannot read a file as a database (duckdb 2.0.1).



@dataclass(frozen=True)
class StoreStats:
    """Header numbers of a store."""

    events: int
    entities: int
    event_types: int
    first_ts: object
    last_ts: object
    quarantined: int


class EventStore:
    """The DuckDB event store. Thread-safe: writes go through one lock, reads use cursors."""

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False,
                 memory_limit: str | None = None, readable: tuple[str, ...] = ()) -> None:
        self.path = resolve_db_path(path) if path != ":memory:" else Path(":memory:")
        self.read_only = read_only
        self.readable = tuple(os.path.realpath(d) for d in readable)
        """Folders DuckDB may read files from on this store (`db.connect`): `eventlab ingest`
        gives its paths' folders so DuckDB reads their Parquet files itself."""
        try:
            self._con = db.connect(self.path, read_only=read_only, memory_limit=memory_limit,
                                   readable=self.readable)
        except StoreError as exc:
            if db.DAMAGED.search(str(exc.__cause__ or "")):
                raise StoreError(db.damaged_message(self.path, str(exc.__cause__))) from exc
            raise
        self._write_lock = threading.Lock()
        if not read_only:
            for ddl in DDL:
                self._con.execute(ddl)
            migrate(self._con)

    def cursor(self) -> db.Connection:
        """A new cursor for one thread or session (DuckDB connections are not thread-safe)."""
        return self._con.cursor()

    @contextmanager
    def transaction(self) -> Iterator[db.Connection]:
        """One write transaction on a dedicated cursor; rolled back on any error."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only; writes are not possible.")
        with self._write_lock:
            cur = self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    @contextmanager
    def reading(self) -> Iterator[db.Connection]:
        """A cursor for a few reads, closed afterwards."""
        cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    @property
    def busy(self) -> bool:
        """True while a write transaction of this process holds the store."""
        return self._write_lock.locked()

    def has_entity_index(self) -> bool:
        """True once the ART index on `events.entity_id` exists (`schema.ENTITY_INDEX`)."""
        with self.reading() as cur:
            return bool(db.scalar(cur, "SELECT count(*) FROM duckdb_indexes() WHERE "
                                       "index_name = 'events_entity_id'"))

    def ensure_entity_index(self) -> None:
        """Create the ART index on `events.entity_id` if it is not there (about 3 s per
        million events, once); a read-only check when it is."""
        if self.has_entity_index():
            return
        with self.transaction() as cur:
            cur.execute(ENTITY_INDEX)

    def refresh_lazily(self, fresh: Callable[[db.Connection], bool],
                       refresh: Callable[[db.Connection], str]) -> str:
        """Bring one set of per-data-version facts up to date before a page reads them (only
        the rows ingested since are read): "read-only" when the store cannot be written,
        "busy" when a write (an ingest job) holds it (readers then scan the events rather than
        wait), "fresh", else what `refresh` did in its write transaction. A damaged file or a
        memory limit says so as a StoreError, as any page query does."""
        if self.read_only:
            return "read-only"
        if self._write_lock.locked():
            return "busy"
        with db.guarded():
            with self.reading() as cur:
                if fresh(cur):
                    return "fresh"
            with self.transaction() as cur:
                return refresh(cur)

    def refresh_summaries(self) -> str:
        """The summaries (`store.summaries`), lazily (`refresh_lazily`)."""
        return self.refresh_lazily(summaries.fresh, summaries.refresh)

    def refresh_follows(self) -> str:
        """The "follows" facts (`store.follows`), lazily (`refresh_lazily`)."""
        return self.refresh_lazily(follows.fresh, follows.refresh)

    def stats(self) -> StoreStats:
        """Counts for the header: events, entities, event types, time span, quarantined rows
        (from the summaries when they are fresh: no pass over the events)."""
        with self.reading() as cur:
            if summaries.fresh(cur):
                q = db.scalar(cur, "SELECT count(*) FROM quarantine")
                return StoreStats(*summaries.totals(cur), q)
            n, ents, types, lo, hi = db.rows(
                cur, "SELECT count(*), count(DISTINCT entity_id), count(DISTINCT event_type), "
                     "min(ts), max(ts) FROM events")[0]
            q = db.scalar(cur, "SELECT count(*) FROM quarantine")
        return StoreStats(n, ents, types, lo, hi, q)

    def close(self) -> None:
        """Close the underlying connection."""
        self._con.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def data_version(con: db.Connection) -> tuple[int, Any, int]:
    """A cheap fingerprint of the store: event rows, the last ingest time, quarantined rows.
    It changes whenever data is loaded: the key of every cache of results over the store."""
    n, last, quarantined = db.rows(
        con, "SELECT (SELECT count(*) FROM events), (SELECT max(ingested_at) FROM events), "
             "(SELECT count(*) FROM quarantine)")[0]
    return int(n), last, int(quarantined)
