"""Avro records produced by confluent-kafka's own AvroSerializer (its mock:// registry), read
from the real broker by EventLab with the schemas from a stand-in registry over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from registry_support import Registry, serve

from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.ingest.requeue import requeue_quarantine
from eventlab.schemas.catalog import SchemaCatalog
from eventlab.schemas.folder import FolderSource
from eventlab.schemas.registry import RegistryClient, RegistryConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

V1 = {
    "type": "record", "name": "OrderEvent", "namespace": "shop",
    "fields": [
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "type", "type": {"type": "enum", "name": "EventType",
                                  "symbols": ["OrderPlaced", "OrderShipped"]}},
        {"name": "aggregateId", "type": "string"},
        {"name": "timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "version", "type": "long"},
        {"name": "data", "type": {"type": "record", "name": "OrderData", "fields": [
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal",
                                        "precision": 10, "scale": 2}},
            {"name": "items", "type": {"type": "array", "items": {
                "type": "record", "name": "Item", "fields": [
                    {"name": "sku", "type": "string"}, {"name": "qty", "type": "int"}]}}},
            {"name": "note", "type": ["null", "string"], "default": None},
            {"name": "address", "type": ["null", {"type": "record", "name": "Address",
                                                  "fields": [{"name": "city",
                                                              "type": "string"}]}]},
        ]}},
    ],
}
V2 = json.loads(json.dumps(V1))
V2["fields"].append({"name": "channel", "type": "string", "default": "web"})
T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
ID1, ID2, ID3 = (uuid.UUID(int=n) for n in (1, 2, 3))


def event(eid: uuid.UUID, etype: str, version: int, minute: int, **extra: object) -> dict:
    return {"id": eid, "type": etype, "aggregateId": "order-1",
            "timestamp": T0.replace(minute=minute), "version": version,
            "data": {"amount": Decimal("12.50"), "items": [{"sku": "SKU-1", "qty": 2}],
                     "note": None if version == 1 else "fragile",
                     "address": {"city": "Bonn"} if version == 1 else None}, **extra}


@pytest.fixture
def registry() -> Registry:
    return Registry(SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"}))


def produce(registry: Registry, topic: str, producer, records: list[tuple[dict, dict]]
            ) -> list[tuple[bytes, bytes]]:
    """Serialize (schema, value) pairs with Confluent's serializer (key: an Avro string) and
    send them one by one; returns the (key, value) bytes sent."""
    keys = AvroSerializer(registry.client, '"string"')
    p = producer()
    sent = []
    for schema, value in records:
        ser = AvroSerializer(registry.client, json.dumps(schema))
        k = keys(value["aggregateId"], SerializationContext(topic, MessageField.KEY))
        v = ser(value, SerializationContext(topic, MessageField.VALUE))
        p.send(topic, key=k, value=v).get(timeout=10)
        sent.append((k, v))
    return sent


def test_avro_topic_mixing_schema_versions_is_decoded_and_kept_byte_exact(
        registry, topic_factory, producer, kafka_config, tmp_path: Path) -> None:
    topic = topic_factory(1)
    sent = produce(registry, topic, producer, [
        (V1, event(ID1, "OrderPlaced", 1, 0)),
        (V2, event(ID2, "OrderShipped", 2, 5, channel="app")),
    ])
    with serve(registry) as url, EventStore(tmp_path / "s.duckdb") as store:
        catalog = SchemaCatalog(store, registry=RegistryClient(RegistryConfig(url)))
        report = ingest_kafka(store, kafka_config, [topic], schemas=catalog)
        assert (report.rows_stored, report.rows_quarantined) == (2, 0), report.summary()
        with store.reading() as cur:
            rows = db.rows(cur, "SELECT event_id, entity_id, event_type, seq, ts, payload, "
                                "metadata, key, value FROM events ORDER BY \"offset\"")
            saved = db.rows(cur, "SELECT id, schema_type, subject, version FROM schemas "
                                 "ORDER BY id")
    # the key schema is id 1 (registered first), then the two value versions
    assert saved == [(1, "AVRO", f"{topic}-key", 1), (2, "AVRO", f"{topic}-value", 1),
                     (3, "AVRO", f"{topic}-value", 2)]
    assert report.schema_records == {1: 2, 2: 1, 3: 1}
    first, second = rows
    assert first[:5] == (str(ID1), "order-1", "OrderPlaced", 1, T0)
    assert json.loads(first[5]) == {"amount": "12.50", "items": [{"sku": "SKU-1", "qty": 2}],
                                    "note": None, "address": {"city": "Bonn"}}
    assert json.loads(first[6]) == {"schema_id": 2, "schema_type": "AVRO", "key_schema_id": 1}
    assert second[:5] == (str(ID2), "order-1", "OrderShipped", 2, T0.replace(minute=5))
    assert json.loads(second[5])["note"] == "fragile"
    assert json.loads(second[6])["schema_id"] == 3
    # what republish sends is what is stored: the original framed bytes
    assert [(bytes(r[7]), bytes(r[8])) for r in rows] == sent


def test_unknown_schema_id_is_quarantined_then_requeued_from_a_folder(
        registry, topic_factory, producer, kafka_config, tmp_path: Path) -> None:
    topic = topic_factory(1)
    sent = produce(registry, topic, producer, [(V1, event(ID3, "OrderPlaced", 1, 7))])
    key_id = int.from_bytes(sent[0][0][1:5], "big")
    value_id = int.from_bytes(sent[0][1][1:5], "big")
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / f"{key_id}.avsc").write_text('"string"')
    with EventStore(tmp_path / "s.duckdb") as store:
        catalog = SchemaCatalog(store, folder=FolderSource(folder))
        report = ingest_kafka(store, kafka_config, [topic], schemas=catalog)
        assert (report.rows_stored, report.rows_quarantined) == (0, 1)
        with store.reading() as cur:
            q = db.rows(cur, "SELECT reason, schema_id, raw, key, detail FROM quarantine")
        assert q[0][:4] == ("unknown schema id", value_id, sent[0][1], sent[0][0])
        assert f"schema id {value_id}" in q[0][4]
        # the schema arrives: requeue moves the record, once
        (folder / f"{value_id}.avsc").write_text(json.dumps(V1))
        again = requeue_quarantine(store, SchemaCatalog(store, folder=FolderSource(folder)))
        assert (again.considered, again.moved, again.still_quarantined) == (1, 1, 0)
        twice = requeue_quarantine(store, SchemaCatalog(store, folder=FolderSource(folder)))
        assert (twice.considered, twice.moved) == (0, 0)
        with store.reading() as cur:
            ev = db.rows(cur, "SELECT event_id, entity_id, ts, value FROM events")
            left = db.scalar(cur, "SELECT count(*) FROM quarantine")
    assert ev == [(str(ID3), "order-1", T0.replace(minute=7), sent[0][1])]
    assert left == 0


def test_registry_down_quarantines_with_a_clear_error_and_loses_nothing(
        registry, topic_factory, producer, kafka_config, tmp_path: Path) -> None:
    topic = topic_factory(1)
    sent = produce(registry, topic, producer, [(V1, event(ID1, "OrderPlaced", 1, 0))])
    with serve(registry) as url:
        pass  # the registry is gone: its port refuses connections
    with EventStore(tmp_path / "s.duckdb") as store:
        catalog = SchemaCatalog(store, registry=RegistryClient(RegistryConfig(url,
                                                                              timeout_s=1)))
        report = ingest_kafka(store, kafka_config, [topic], schemas=catalog)
        assert (report.rows_stored, report.rows_quarantined) == (0, 1)
        assert report.schema_error and url in report.schema_error
        assert "did not answer" in report.schema_error
        with store.reading() as cur:
            q = db.rows(cur, "SELECT reason, raw, key FROM quarantine")
        assert q == [("schema registry unavailable", sent[0][1], sent[0][0])]
        with serve(registry) as url2:
            again = requeue_quarantine(store, SchemaCatalog(
                store, registry=RegistryClient(RegistryConfig(url2))))
        assert again.moved == 1
        with store.reading() as cur:
            assert db.rows(cur, "SELECT entity_id, value FROM events") == [
                ("order-1", sent[0][1])]


def test_avro_references_are_resolved_through_the_registry(registry) -> None:
    import pyarrow as pa
    from confluent_kafka.schema_registry import Schema, SchemaReference

    from eventlab.ingest import framed

    address = {"type": "record", "name": "Address", "namespace": "shop",
               "fields": [{"name": "city", "type": "string"}]}
    registry.client.register_schema("shop.Address", Schema(json.dumps(address), "AVRO"))
    customer = {"type": "record", "name": "Customer", "namespace": "shop", "fields": [
        {"name": "name", "type": "string"}, {"name": "home", "type": "shop.Address"}]}
    schema = Schema(json.dumps(customer), "AVRO",
                    [SchemaReference("shop.Address", "shop.Address", 1)])
    ser = AvroSerializer(registry.client, schema, conf={"auto.register.schemas": True})
    value = ser({"name": "Ada", "home": {"city": "Bonn"}},
                SerializationContext("customers", MessageField.VALUE))
    with serve(registry) as url:
        catalog = SchemaCatalog(registry=RegistryClient(RegistryConfig(url)))
        out = framed.decode_table(pa.table({"value": pa.array([value], pa.binary()),
                                            "key": pa.array([None], pa.binary())}), catalog)
    assert json.loads(out["decoded"][0].as_py()) == {"name": "Ada", "home": {"city": "Bonn"}}
    used = catalog.decoder(int.from_bytes(value[1:5], "big")).schema
    assert list(used.dependencies) == ["shop.Address"]
