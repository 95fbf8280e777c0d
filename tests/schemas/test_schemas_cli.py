"""The demo as Avro through the CLI: `eventlab demo --format avro`, `ingest-kafka --schemas`,
and `requeue-quarantine` after a load without the schema; the same events as the JSON demo."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from eventlab.cli import main
from eventlab.kafka.broker import BrokerHandle
from eventlab.store import db
from eventlab.store.eventstore import EventStore

EVENTS = "300"


def events_of(path: Path) -> list[tuple]:
    with EventStore(path, read_only=True) as store, store.reading() as cur:
        return db.rows(cur, "SELECT event_id, entity_id, event_type, seq, ts, payload "
                            "FROM events WHERE NOT is_delete ORDER BY event_id, \"offset\"")


def test_the_avro_demo_loads_like_the_json_demo_and_requeues(
        kafka_broker: BrokerHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = kafka_broker.bootstrap
    avro, plain = f"avro-{uuid.uuid4().hex[:8]}", f"json-{uuid.uuid4().hex[:8]}"
    schemas = tmp_path / "schemas"
    assert main(["demo", "--kafka", boot, "--topic", avro, "--events", EVENTS, "--format",
                 "avro", "--schemas", str(schemas), "--partitions", "1"]) == 0
    assert "Avro schema id 1 written to" in capsys.readouterr().out
    assert json.loads((schemas / "1.avsc").read_text())["name"] == "ShopEvent"
    assert main(["demo", "--kafka", boot, "--topic", plain, "--events", EVENTS,
                 "--partitions", "1"]) == 0
    # without the schema: the Avro records wait in the quarantine
    first = tmp_path / "avro.duckdb"
    capsys.readouterr()
    assert main(["ingest-kafka", "--bootstrap", boot, "--topic", avro, "--db", str(first),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows_quarantined"] > 290 and report["schema_records"] == {"1": 300}
    assert main(["requeue-quarantine", "--db", str(first), "--reason", "unknown schema id",
                 "--schemas", str(schemas), "--json"]) == 0
    moved = json.loads(capsys.readouterr().out)
    # the demo's planted faults (no entity id, no type...) stay, as they do from JSON
    assert moved["considered"] == 300 and moved["moved"] + moved["still_quarantined"] == 300
    # with it, straight away
    second = tmp_path / "avro2.duckdb"
    assert main(["ingest-kafka", "--bootstrap", boot, "--topic", avro, "--db", str(second),
                 "--schemas", str(schemas)]) == 0
    third = tmp_path / "json.duckdb"
    assert main(["ingest-kafka", "--bootstrap", boot, "--topic", plain, "--db",
                 str(third)]) == 0
    reference = events_of(third)
    assert len(reference) > 280
    for path in (first, second):
        got = events_of(path)
        assert [r[:5] for r in got] == [r[:5] for r in reference]
        assert [json.loads(r[5] or "null") for r in got] == \
            [json.loads(r[5] or "null") for r in reference]
