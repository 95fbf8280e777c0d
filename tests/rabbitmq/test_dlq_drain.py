"""A DLQ is drained into the store only with consent; x-death lands in the metadata."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pika
import pytest

from eventlab.errors import SourceError
from eventlab.ingest.rabbitmq_dlq import drain_dlq
from eventlab.rabbitmq.amqp import channel
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.store.eventstore import EventStore


def test_drain_needs_consent_then_stores_x_death_and_empties_the_queue(
        rabbit_config: RabbitConfig, tmp_path: Path) -> None:
    dlq, work = f"dlq-{time.monotonic_ns()}", f"work-{time.monotonic_ns()}"
    with channel(rabbit_config, "test setup") as ch:
        ch.confirm_delivery()
        ch.queue_declare(dlq, durable=True)
        ch.queue_declare(work, durable=True, arguments={
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq})
        for i in range(3):
            body = json.dumps({"id": f"e{i}", "type": "OrderPlaced", "entity_id": f"o{i}",
                               "data": {"n": i}}).encode()
            ch.basic_publish("", work, body, pika.BasicProperties(message_id=f"d{i}"))
        for _ in range(3):
            method, _p, _b = ch.basic_get(work)
            ch.basic_reject(method.delivery_tag, requeue=False)
    time.sleep(0.3)
    with EventStore(tmp_path / "dlq.duckdb") as store:
        with pytest.raises(SourceError, match="acknowledged"):
            drain_dlq(store, rabbit_config, dlq)
        report = drain_dlq(store, rabbit_config, dlq, consent=True)
        assert (report.drained, report.stored + report.quarantined) == (3, 3)
        with store.reading() as cur:
            rows = cur.execute(
                "SELECT \"offset\", metadata->'x_death'->0->>'queue', "
                "metadata->'x_death'->0->>'reason', "
                "CAST(metadata->'x_death'->0->>'count' AS INT), metadata->'x_death'->0->>'time' "
                "FROM events WHERE source = 'rabbitmq-dlq' ORDER BY \"offset\"").fetchall()
        assert [r[:4] for r in rows] == [(i, work, "rejected", 1) for i in range(3)]
        assert all(r[4] for r in rows)
        again = drain_dlq(store, rabbit_config, dlq, consent=True)
        assert again.drained == 0
    with channel(rabbit_config, "test check") as ch:
        assert ch.queue_declare(dlq, passive=True).method.message_count == 0
