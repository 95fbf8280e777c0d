"""A dead-letter queue is drained into EventLab only with explicit consent, against moto's
server mode (an EMULATOR: only documented SQS behaviour is relied on: a redrive policy names
the DLQ; ListDeadLetterSourceQueues lists the queues that feed it; a deleted message is gone)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import dead_letter_sources, queue_info
from eventlab.errors import SourceError
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _dlq_with_source(config: AwsConfig, make: Callable[..., str]) -> tuple[str, str]:
    dlq = make()
    arn = sqs(config).get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    source = make(RedrivePolicy=json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"}))
    return dlq, source


def _dead_letters(config: AwsConfig, dlq: str, n: int) -> None:
    client = sqs(config)
    for i in range(n):
        client.send_message(QueueUrl=dlq, MessageBody=json.dumps(
            {"id": f"dead-{i}", "type": "OrderPlaced", "entity_id": f"order-{i}", "seq": 1,
             "timestamp": "2026-11-01T10:00:00Z", "data": {"total": i}}))


def test_a_dlq_is_refused_without_consent(tmp_path: Path, aws_config: AwsConfig,
                                          sqs_queue_factory: Callable[..., str]) -> None:
    dlq, source = _dlq_with_source(aws_config, sqs_queue_factory)
    _dead_letters(aws_config, dlq, 2)
    assert dead_letter_sources(aws_config, dlq) == [source]
    with EventStore(tmp_path / "s.duckdb") as store, \
            pytest.raises(SourceError, match="--drain-dead-letters"):
        ingest_sqs(store, aws_config, dlq)
    assert queue_info(aws_config, dlq, with_age=False).visible == 2


def test_consent_drains_only_a_dead_letter_queue(tmp_path: Path, aws_config: AwsConfig,
                                                 sqs_queue_factory: Callable[..., str]) -> None:
    plain = sqs_queue_factory()
    with EventStore(tmp_path / "s.duckdb") as store, \
            pytest.raises(SourceError, match="no queue's dead-letter queue"):
        ingest_sqs(store, aws_config, plain, drain_dead_letters=True)


def test_with_consent_the_dead_letters_are_stored_then_deleted(
        tmp_path: Path, aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    dlq, source = _dlq_with_source(aws_config, sqs_queue_factory)
    _dead_letters(aws_config, dlq, 3)
    with EventStore(tmp_path / "s.duckdb") as store:
        report = ingest_sqs(store, aws_config, dlq, drain_dead_letters=True)
        with store.reading() as cur:
            rows = db.rows(cur, "SELECT event_id, source, topic FROM events ORDER BY event_id")
    assert report.rows_stored == 3 and "dead letters of" in report.summary()
    name = dlq.rsplit("/", 1)[-1]
    assert rows == [(f"dead-{i}", "sqs", name) for i in range(3)]
    assert queue_info(aws_config, dlq, with_age=False).visible == 0
    assert source.rsplit("/", 1)[-1] in report.summary()
