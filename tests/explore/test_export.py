"""The export sources as exact SQL (no database), the writer's SELECT list, and the mapping that
reads an EventLab export back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from eventlab.explore import export
from eventlab.explore.filters import Filters
from eventlab.ingest.mapping import FieldRef, MappingSpec, resolve
from eventlab.store.filewriter import select_list
from eventlab.store.schema import EVENT_COLUMNS
from eventlab.timetravel import ORDER_COLUMNS

COLS = ", ".join(f'"{c}"' for c in EVENT_COLUMNS)


def test_filtered_events_is_explores_where_in_page_order() -> None:
    t = datetime(2026, 11, 1, tzinfo=UTC)
    q = export.filtered_events(Filters(start=t, event_types=("A", "B")))
    assert q.sql == (f"SELECT {COLS} FROM events WHERE ts >= ? AND list_contains(?, "
                     f'event_type) ORDER BY ts, entity_id, seq, "offset"')
    assert q.params == (t, ["A", "B"]) and not q.user_sql and q.name == "events"
    assert q.capped == (
        "SELECT ts FROM events WHERE ts >= ? AND list_contains(?, event_type) ORDER BY ts "
        "LIMIT 1 OFFSET ?",
        f"SELECT {COLS} FROM events WHERE ts >= ? AND list_contains(?, event_type) AND "
        f'ts <= ? ORDER BY ts, entity_id, seq, "offset"')
    assert export.filtered_events(Filters()).sql == (
        f'SELECT {COLS} FROM events ORDER BY ts, entity_id, seq, "offset"')


def test_entity_events_reads_the_entity_first_in_stream_order() -> None:
    q = export.entity_events("order-1")
    assert q.sql == (f"WITH e AS MATERIALIZED (SELECT {COLS} FROM events WHERE entity_id = ?) "
                     f"SELECT {COLS} FROM e ORDER BY {ORDER_COLUMNS}")
    assert q.params == ("order-1",) and q.name == f"entity-{export.unique_stem('order-1')}"


def test_quarantine_and_sql_result() -> None:
    q = export.quarantine("invalid JSON")
    assert q.sql == ('SELECT "source", "topic", "partition", "offset", "reason", "detail", '
                     '"raw", "key", "headers", "quarantined_at" FROM quarantine WHERE reason = ? '
                     'ORDER BY quarantined_at DESC, source, "offset"')
    assert q.params == ("invalid JSON",)
    assert "WHERE" not in export.quarantine().sql
    s = export.sql_result("  SELECT 1;  ")
    assert (s.sql, s.user_sql, s.name) == ("SELECT 1", True, "query")


def test_signatures_tell_sets_apart() -> None:
    a = export.filtered_events(Filters(event_types=("A",)))
    b = export.filtered_events(Filters(event_types=("B",)))
    assert a.signature != b.signature
    assert a.signature == export.filtered_events(Filters(event_types=("A",))).signature


def test_file_names_are_safe() -> None:
    name = export.file_name(export.entity_events("order/42 x"), "csv")
    assert re.fullmatch(r"entity-order_42_x-[0-9a-f]{12}\.csv", name), name
    # Unique per entity: ids that differ only in unsafe characters get different names.
    assert export.file_name(export.entity_events("order?42 x"), "csv") != name
    assert export.file_name(export.entity_events("order/42 x"), "csv") == name
    assert export.file_name(export.quarantine(), "parquet") == "quarantine.parquet"
    assert export.file_name(export.sql_result("SELECT 1"), "jsonl") == "query.jsonl"


SCHEMA = pa.schema([("id", pa.string()), ("key", pa.binary()), ("payload", pa.string()),
                    ("headers", pa.list_(pa.struct([("key", pa.string()),
                                                    ("value", pa.binary())]))),
                    ("tags", pa.list_(pa.string()))])


def test_select_list_per_format() -> None:
    hexed = ('list_transform("headers", lambda x0: CASE WHEN x0 IS NULL THEN NULL ELSE '
             'struct_pack("key" := struct_extract(x0, \'key\'), "value" := '
             'lower(hex(struct_extract(x0, \'value\')))) END)')
    assert select_list(SCHEMA, "parquet", ["payload"]) == (
        '"id", "key", "payload", "headers", "tags"')
    assert select_list(SCHEMA, "jsonl", ["payload"]) == (
        f'"id", lower(hex("key")) AS "key", CAST("payload" AS JSON) AS "payload", '
        f'{hexed} AS "headers", "tags"')
    assert select_list(SCHEMA, "csv", ["payload"]) == (
        f'"id", lower(hex("key")) AS "key", "payload", CAST(to_json({hexed}) AS VARCHAR) '
        f'AS "headers", CAST(to_json("tags") AS VARCHAR) AS "tags"')
    with pytest.raises(export.ExportError, match="unknown export format"):
        select_list(SCHEMA, "xml")


def test_an_eventlab_export_maps_as_an_envelope() -> None:
    m = resolve(MappingSpec(), list(EVENT_COLUMNS))
    assert m.preset == "envelope"
    assert {k: v.column for k, v in m.fields.items()} == {
        "event_id": "event_id", "event_type": "event_type", "entity_id": "entity_id",
        "entity_type": "entity_type", "ts": "ts", "seq": "seq",
        "event_version": "event_version", "payload": "payload", "metadata": "metadata",
        "is_delete": "is_delete"}
    # envelopes of other producers keep their own time field first
    other = resolve(MappingSpec(), ["id", "type", "aggregateId", "timestamp", "ts", "data"])
    assert other.fields["ts"] == FieldRef(column="timestamp")
