"""JSON Schema records (confluent-kafka's JSONSerializer), and the registry client: login in
the Authorization header only, a URL with credentials refused, clear errors naming it."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from registry_support import Registry, serve

from eventlab.errors import SchemaNotFound, SchemaRegistryUnavailable, SourceError
from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.schemas.catalog import SchemaCatalog, build_catalog
from eventlab.schemas.registry import RegistryClient, RegistryConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore

SCHEMA = json.dumps({"type": "object", "properties": {
    "id": {"type": "string"}, "type": {"type": "string"}, "aggregateId": {"type": "string"},
    "timestamp": {"type": "string"}, "data": {"type": "object"}}})


def test_json_schema_records_are_mapped_like_json(topic_factory, producer, kafka_config,
                                                  tmp_path: Path) -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})
    topic = topic_factory(1)
    ser = JSONSerializer(SCHEMA, client)
    doc = {"id": "j-1", "type": "CartOpened", "aggregateId": "cart-3",
           "timestamp": "2025-03-03T10:00:00Z", "data": {"items": 0}}
    value = ser(doc, SerializationContext(topic, MessageField.VALUE))
    producer().send(topic, key=b"cart-3", value=value).get(timeout=10)
    with serve(Registry(client)) as url, EventStore(tmp_path / "s.duckdb") as store:
        report = ingest_kafka(store, kafka_config, [topic], schemas=SchemaCatalog(
            store, registry=RegistryClient(RegistryConfig(url))))
        assert report.rows_stored == 1, report.summary()
        with store.reading() as cur:
            row = db.rows(cur, "SELECT event_id, entity_id, event_type, payload, metadata, "
                               "value FROM events")[0]
    assert row[:3] == ("j-1", "cart-3", "CartOpened")
    assert json.loads(row[3]) == {"items": 0}
    assert json.loads(row[4]) == {"schema_id": 1, "schema_type": "JSON"}
    assert bytes(row[5]) == value


def test_basic_auth_goes_in_a_header_and_a_bad_login_is_named(tmp_path: Path) -> None:
    client = SchemaRegistryClient.new_client({"url": f"mock://{uuid.uuid4().hex}"})
    JSONSerializer(SCHEMA, client)({"id": "x"}, SerializationContext("t", MessageField.VALUE))
    good = "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    registry = Registry(client, require_auth=good)
    with serve(registry) as url:
        env = {"EVENTLAB_SCHEMA_REGISTRY_URL": url,
               "EVENTLAB_SCHEMA_REGISTRY_USERNAME": "alice",
               "EVENTLAB_SCHEMA_REGISTRY_PASSWORD": "s3cret-pw"}
        config = RegistryConfig.from_env(env)
        assert "s3cret" not in repr(config) and "s3cret" not in config.describe()
        schema = RegistryClient(config).schema(1)
        assert (schema.schema_type, json.loads(schema.text)["type"]) == ("JSON", "object")
        assert all("s3cret" not in path for path, _ in registry.requests)
        with EventStore(tmp_path / "s.duckdb") as store:  # a fetched schema is kept, no secret
            catalog = build_catalog(store, env=env)
            catalog.decoder(1)
            with store.transaction() as cur:
                catalog.save_pending(cur)
                saved = db.rows(cur, "SELECT * FROM schemas")
            assert saved and "s3cret" not in repr(saved) and saved[0][6] == url
        wrong = RegistryConfig.from_env({**env, "EVENTLAB_SCHEMA_REGISTRY_PASSWORD": "nope"})
        with pytest.raises(SchemaRegistryUnavailable, match=r"refused the login \(HTTP 401\)"):
            RegistryClient(wrong).schema(1)
        with pytest.raises(SchemaNotFound, match="no schema id 99"):
            RegistryClient(config).schema(99)


def test_bearer_token_from_streamlit_secrets_and_urls_with_credentials() -> None:
    config = RegistryConfig.from_env({}, {"url": "https://sr.example:8081", "token": "tok-1"})
    assert config.headers()["Authorization"] == "Bearer tok-1"
    assert "tok-1" not in repr(config) and "bearer token" in config.describe()
    assert RegistryConfig.from_env({}) is None
    with pytest.raises(SourceError, match="holds credentials") as err:
        RegistryConfig("https://bob:pw123@sr.example")
    assert "pw123" not in str(err.value)
    with pytest.raises(SourceError, match="unknown key"):
        RegistryConfig.from_env({}, {"url": "http://x", "passwd": "p"})


def test_an_unreachable_registry_fails_within_its_timeout() -> None:
    import socket
    import time

    with socket.socket() as s:  # a listening socket that never answers
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(SchemaRegistryUnavailable, match=f"{url} did not answer within 1 s"):
            RegistryClient(RegistryConfig(url, timeout_s=1)).schema(1)
        assert time.monotonic() - started < 5
