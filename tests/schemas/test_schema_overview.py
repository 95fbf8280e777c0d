"""The store's view of schema-registry records (Sources panel, Explore's schema line), and the
registry panel in AppTest."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow as pa
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from markdown_text import shown
from registry_support import Registry, serve
from streamlit.testing.v1 import AppTest

from eventlab.ingest import framed
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.schemas import overview
from eventlab.schemas.catalog import SchemaCatalog
from eventlab.schemas.registry import RegistryClient, RegistryConfig
from eventlab.store.eventstore import EventStore

SCHEMA = json.dumps({"type": "record", "name": "E", "fields": [
    {"name": "type", "type": "string"}, {"name": "aggregateId", "type": "string"},
    {"name": "timestamp", "type": "string"}]})


def raw_batch(topic: str, values: list[bytes]) -> pa.Table:
    n = len(values)
    return pa.Table.from_pydict({
        "topic": [topic] * n, "partition": [0] * n, "offset": list(range(n)),
        "key": [None] * n, "value": values, "headers": [[]] * n,
        "timestamp_ms": [1_700_000_000_000] * n, "timestamp_type": [0] * n,
        "serialized_value_size": [len(v) for v in values]}, schema=RAW_SCHEMA)


def test_topic_schemas_count_events_and_quarantined_records_per_id(tmp_path: Path) -> None:
    registry = Registry(SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"}))
    ser = AvroSerializer(registry.client, SCHEMA)
    ctx = SerializationContext("orders", MessageField.VALUE)
    good = [ser({"type": "Placed", "aggregateId": f"order-{i}",
                 "timestamp": "2025-03-03T10:00:00Z"}, ctx) for i in range(3)]
    unknown = b"\x00\x00\x00\x00\x63" + good[0][5:]  # schema id 99: never registered
    with serve(registry) as url, EventStore(tmp_path / "s.duckdb") as store:
        catalog = SchemaCatalog(store, registry=RegistryClient(RegistryConfig(url)))
        table = framed.decode_table(raw_batch("orders", [*good, unknown]), catalog)
        with store.transaction() as cur:
            counts, _ = store_batch(cur, table, MappingSpec(), catalog)
        assert counts == (3, 1, 0)
        with store.reading() as cur:
            used = overview.topic_schemas(cur)
            kept = overview.kept_schemas(cur)
            meta = cur.execute("SELECT metadata FROM events LIMIT 1").fetchall()[0][0]
            label = overview.event_schema(meta, cur).label()
    assert used == [
        {"topic": "orders", "schema_id": 1, "schema_type": "AVRO", "subject": "orders-value",
         "version": 1, "events": 3, "quarantined": 0},
        {"topic": "orders", "schema_id": 99, "schema_type": None, "subject": None,
         "version": None, "events": 0, "quarantined": 1}]
    assert [(k["id"], k["source"]) for k in kept] == [(1, url)]
    assert label == "Avro · schema id 1 (orders-value v1)"
    assert overview.event_schema('{"correlation_id": "x"}') is None


def _panel_app(db_path: str) -> None:
    from eventlab.store.eventstore import EventStore
    from eventlab.ui import schema_widgets

    with EventStore(db_path) as s, s.reading() as cur:
        schema_widgets.registry_panel(cur)


def test_registry_panel_checks_the_connection_without_showing_the_secret(
        tmp_path: Path, monkeypatch) -> None:
    registry = Registry(SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"}))
    AvroSerializer(registry.client, SCHEMA)({"type": "a", "aggregateId": "b", "timestamp": "c"},
                                            SerializationContext("t", MessageField.VALUE))
    db_path = str(tmp_path / "p.duckdb")
    EventStore(db_path).close()
    with serve(registry) as url:
        monkeypatch.setenv("EVENTLAB_SCHEMA_REGISTRY_URL", url)
        monkeypatch.setenv("EVENTLAB_SCHEMA_REGISTRY_TOKEN", "tok-secret-9")
        at = AppTest.from_function(_panel_app, args=(db_path,)).run()
        assert not at.exception
        text = " ".join(shown(m.value) for m in at.markdown)
        assert url in text and "bearer token" in text and "tok-secret-9" not in text
        at.button(key="sr_check").click().run()
        assert [s.value for s in at.success] == ["Connected: 1 subjects."]
        assert registry.requests[-1] == ("/subjects", "Bearer tok-secret-9")
    monkeypatch.setenv("EVENTLAB_SCHEMA_REGISTRY_URL", url)  # now gone
    at = AppTest.from_function(_panel_app, args=(db_path,)).run()
    at.button(key="sr_check").click().run()
    assert "did not answer" in shown(at.error[0].value) and url in shown(at.error[0].value)
