"""Load one entity's events from the store in stream order, as replay `Event`s, fast.

`load_events` reads them in the stream order (`store.order`: seq, then tie-breakers that make
the order total; every other reader uses the same order) and hands them over as columns
(`replay.columns.EventColumns`): building 100k `Event`s up front was half of a large entity's
load, and the merge fold reads three of their fields.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import EventLabError
from eventlab.replay import (
    Event,
    jsontext,
)
from eventlab.replay.columns import ColumnLoader, EventColumns
from eventlab.replay.event import FIELDS, Unparsed
from eventlab.store import db
from eventlab.store.order import ORDER_SQL
from eventlab.store.sql import column_list

ORDER_COLUMNS = ORDER_SQL
"""The stream order of an entity's events (`store.order`: seq, then type, time and source
position). The SQL "as of", Flow, Explore, export and Quality sort by the same order."""
_COLUMNS = column_list(FIELDS)  # the replay Event's fields
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EntityNotFound(EventLabError):
    """The entity has no events in this database."""


def load_events(con: db.Connection, entity_id: str) -> Sequence[Event]:
    """Every event of one entity in stream order, as replay `Event`s (held as columns)."""
    table = db.arrow(con, f"SELECT {_COLUMNS} FROM events WHERE entity_id = ?", [entity_id])
    if not _seq_increasing(table):  # ties or disorder: let DuckDB sort by the whole order
        table = db.arrow(
            con, f"WITH e AS MATERIALIZED (SELECT {_COLUMNS}, source, topic, \"partition\" "
                 f"FROM events WHERE entity_id = ?) SELECT {_COLUMNS} FROM e "
                 f"ORDER BY {ORDER_COLUMNS}", [entity_id])
    return events_from_arrow(table)


def _seq_increasing(table: pa.Table) -> bool:
    """True when the rows came back with strictly increasing seq: then they are in stream
    order already (seq is its first key; no ties for the others to break). The store keeps
    each entity's rows sorted by seq (ingest writes them so), which makes this the usual
    case and saves DuckDB's sort (about as much CPU as the fetch itself)."""
    seq = table.column("seq")
    if len(seq) < 2:
        return True
    if seq.null_count:
        return False
    seq = seq.combine_chunks()
    return bool(pc.all(pc.less(seq.slice(0, len(seq) - 1), seq.slice(1))).as_py())


def events_from_arrow(table: pa.Table) -> Sequence[Event]:
    """The events in the columns of `load_events`' query, as `EventColumns`: each field is
    converted to Python when first read and an `Event` is built only when one is asked for
    (the merge fold reads payload, is_delete and event_type, and builds none)."""
    if table.num_rows == 0:
        return ()
    loaders: dict[str, ColumnLoader] = {name: partial(_plain, table.column(name))
                                         for name in ("event_id", "event_version", "seq",
                                                      "offset")}
    loaders.update({name: partial(_repeated, table.column(name)) for name in _FEW_VALUES})
    loaders.update(
        is_delete=partial(_flags, table.column("is_delete")),
        ts=partial(_datetimes, table.column("ts")),
        kafka_ts=partial(_datetimes, table.column("kafka_ts")),
        payload=partial(_parse_all, table.column("payload")),
        metadata=partial(_unparsed, table.column("metadata")),
    )
    return EventColumns(table.num_rows, loaders)


def _plain(column: pa.ChunkedArray) -> list[Any]:
    return column.to_pylist()


def _flags(column: pa.ChunkedArray) -> list[bool]:
    """A boolean column with NULL as False."""
    return pc.fill_null(column, False).to_pylist()


def _parse_all(column: pa.ChunkedArray) -> list[Any]:
    """Parse a column of JSON texts in one call (one JSON array): NULL becomes None.

    Texts a strict parser refuses (NaN, Infinity, 1e400, very deep nesting) are read one by
    one by `jsontext.loads`, which never raises; so are texts with more than MAX_DEPTH
    brackets, which orjson accepts up to 1,024 levels but the fold's recursive code must not
    get (found by a C++ count, so ordinary payloads cost nothing more)."""
    texts = pc.fill_null(pc.cast(column, pa.string()), "null").combine_chunks()
    whole = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    joined = pc.binary_join(whole, ",")[0].as_buffer()  # one C++ join: no Python strings
    try:
        values = orjson.loads(b"[" + joined.to_pybytes() + b"]")
    except orjson.JSONDecodeError:
        return [jsontext.loads(t) for t in texts.to_pylist()]
    # Only a text longer than MAX_DEPTH can hold more brackets: most are counted not at all.
    long = pc.indices_nonzero(pc.greater(pc.binary_length(texts), jsontext.MAX_DEPTH))
    if len(long):
        some = texts.take(long)
        brackets = pc.add(pc.count_substring(some, "["), pc.count_substring(some, "{"))
        for i in long.filter(pc.greater(brackets, jsontext.MAX_DEPTH)).to_pylist():
            values[i] = jsontext.loads(texts[i].as_py())
    return values


def _unparsed(column: pa.ChunkedArray) -> list[Unparsed | None]:
    """A column of JSON texts as `Unparsed` values (NULL as None): `Event.metadata` parses
    one when it is read. The merge fold never reads metadata: parsing it all up front was a
    tenth of a large entity's load."""
    if column.null_count == len(column):
        return [None] * len(column)
    texts = pc.cast(column, pa.string()).to_pylist()
    if column.null_count:
        return [None if t is None else Unparsed(t) for t in texts]
    return list(map(Unparsed, texts))


_FEW_VALUES = frozenset({"entity_type", "entity_id", "event_type"})
"""Columns with a handful of distinct values in one entity's events (its id is one value)."""


def _repeated(column: pa.ChunkedArray) -> list[Any]:
    """`column.to_pylist()` for a column of few distinct values: each distinct value becomes
    one Python object, shared by every row that holds it (strings are immutable)."""
    encoded = column.combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_pylist()
    indices = encoded.indices.to_pylist()
    if encoded.null_count:
        return [None if i is None else values[i] for i in indices]
    return list(map(values.__getitem__, indices))


def _datetimes(column: pa.ChunkedArray) -> list[datetime | None]:
    """UTC datetimes (tzinfo `datetime.UTC`, what `Event` expects) from a timestamp column."""
    if column.null_count == len(column):
        return [None] * len(column)
    if column.null_count:
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64()).to_pylist()
        return [None if us is None else _EPOCH + timedelta(microseconds=us) for us in micros]
    values = pc.cast(column, pa.timestamp("us")).combine_chunks().to_numpy()
    return list(pd.DatetimeIndex(values, tz=UTC).to_pydatetime())  # C loop: tzinfo UTC


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while building many small objects (events, states).

    They hold no cycles, but creating 100k of them triggers collections that walk every
    tracked object: loading a large entity takes about half the time without them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Hand the new objects straight to the oldest generation (freeze + unfreeze moves
            # lists, it scans nothing); else the first collection after enabling walks them all.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def entity_version(con: db.Connection, entity_id: str) -> tuple[int, Any]:
    """What changes when the entity gets events: their count and the last ingest time."""
    n, last = db.rows(con, "SELECT count(*), max(ingested_at) FROM events WHERE entity_id = ?",
                      [entity_id])[0]
    return int(n), last


def event_types(con: db.Connection, entity_id: str) -> list[str]:
    """The distinct event types of one entity, sorted."""
    return [r[0] for r in db.rows(con, "SELECT DISTINCT event_type FROM events "
                                       "WHERE entity_id = ? ORDER BY 1", [entity_id])]
