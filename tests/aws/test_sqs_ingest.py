"""Tap queues into the store, against moto's server mode (an EMULATOR: only what AWS documents
is relied on: SNS fan-out to a subscribed queue with the envelope, receive/delete, visibility
timeout, FIFO order per message group). Exactly once is EventLab's own doing (dedup keys stored
with the events), never the emulator's deduplication (which differs from SQS: AWS_NOTES)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eventlab.aws.clients import sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.taps import Tap, create_tap
from eventlab.errors import SourceError
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def _event(i: int, entity: str = "order-1") -> str:
    return json.dumps({"event_id": f"e{i}", "entity_id": entity, "event_type": "OrderPlaced",
                       "ts": "2025-03-05T14:03:00Z", "data": {"i": i}})


def _publish(config: AwsConfig, arn: str, bodies: list[str], **kwargs: object) -> None:
    client = sns(config)
    for body in bodies:
        client.publish(TopicArn=arn, Message=body, **kwargs)


def _rows(store: EventStore, sql: str) -> list[tuple]:
    with store.reading() as cur:
        return db.rows(cur, sql)


def test_a_tap_captures_only_what_is_published_after_it_as_canonical_events(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    _publish(aws_config, arn, [_event(i) for i in range(3)])  # before the tap: not captured
    tap = create_tap(aws_config, arn)
    _publish(aws_config, arn, [_event(i) for i in range(3, 8)], Subject="orders",
             MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"},
                                "amount": {"DataType": "Number", "StringValue": "1.50"},
                                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})
    with EventStore(tmp_path / "s.duckdb") as store:
        report = ingest_sqs(store, aws_config, tap.url)
        assert (report.records_read, report.rows_stored, report.deleted) == (5, 5, 5)
        assert report.stopped_because == "queue empty"
        rows = _rows(store, 'SELECT event_id, source, topic, "partition", "offset", '
                            "value FROM events ORDER BY \"offset\"")
        topic = arn.rsplit(":", 1)[-1]
        assert [r[0] for r in rows] == [f"e{i}" for i in range(3, 8)]
        assert {(r[1], r[2], r[3]) for r in rows} == {("sns", topic, 0)}
        assert [r[4] for r in rows] == list(range(5))
        assert rows[0][5] == _event(3).encode()  # the published bytes, not the envelope
        [(headers, kafka_ts)] = _rows(store, "SELECT headers, kafka_ts FROM events "
                                             "WHERE event_id = 'e3'")
        got = {h["key"]: h["value"] for h in headers}
        assert got["kind"] == b"order" and got["amount"] == b"1.50"
        assert got["blob"] == b"\x00\xff"
        assert json.loads(got["x-attribute-types"]) == {"kind": "String", "amount": "Number",
                                                        "blob": "Binary"}
        assert got["x-sns-topic-arn"] == arn.encode() and got["x-sns-subject"] == b"orders"
        assert kafka_ts is not None  # the SNS Timestamp
    assert sqs(aws_config).receive_message(QueueUrl=tap.url, WaitTimeSeconds=0).get(
        "Messages", []) == []


def test_undecodable_messages_go_to_the_quarantine_with_their_message_id(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    tap = create_tap(aws_config, sns_topic_factory())
    _publish(aws_config, tap.topic_arn, ["{not json", _event(1)])
    with EventStore(tmp_path / "s.duckdb") as store:
        report = ingest_sqs(store, aws_config, tap.url, spec=None)
        assert (report.rows_stored, report.rows_quarantined) == (1, 1)
        [(raw, headers)] = _rows(store, "SELECT raw, headers FROM quarantine")
        assert raw == b"{not json"
        ids = {h["key"]: h["value"] for h in headers}
        assert ids["x-sqs-message-id"] and ids["x-sns-message-id"]


def test_a_queue_that_is_no_tap_is_refused(tmp_path: Path, aws_config: AwsConfig,
                                            sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    sqs(aws_config).send_message(QueueUrl=url, MessageBody=_event(1))
    with EventStore(tmp_path / "s.duckdb") as store, \
            pytest.raises(SourceError, match="not an EventLab tap queue.*consent"):
        ingest_sqs(store, aws_config, url)
    assert sqs(aws_config).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
        "ApproximateNumberOfMessages"] == "1"


def test_a_fifo_tap_keeps_the_order_of_each_group(tmp_path: Path, aws_config: AwsConfig,
                                                  sns_topic_factory: Callable[..., str]) -> None:
    tap = create_tap(aws_config, sns_topic_factory(fifo=True))
    client = sns(aws_config)
    for i in range(12):
        group = "order-a" if i % 2 else "order-b"
        client.publish(TopicArn=tap.topic_arn, Message=_event(i, group), MessageGroupId=group,
                       MessageDeduplicationId=f"d{i}")
    with EventStore(tmp_path / "s.duckdb") as store:
        report = ingest_sqs(store, aws_config, tap.url, until=12)
        assert report.rows_stored == 12 and report.stopped_because == "12 messages"
        for group, parity in (("order-a", 1), ("order-b", 0)):
            got = [r[0] for r in _rows(store, f"SELECT event_id FROM events WHERE "
                                              f"entity_id = '{group}' ORDER BY \"offset\"")]
            assert got == [f"e{i}" for i in range(12) if i % 2 == parity]
            keys = {r[0] for r in _rows(store, f"SELECT key FROM events WHERE "
                                               f"entity_id = '{group}'")}
            assert keys == {group.encode()}  # the MessageGroupId as the record key


def test_a_redelivered_message_is_stored_once(tmp_path: Path, aws_config: AwsConfig,
                                              sns_topic_factory: Callable[..., str]) -> None:
    tap = create_tap(aws_config, sns_topic_factory())
    _publish(aws_config, tap.topic_arn, [_event(i) for i in range(4)])
    with EventStore(tmp_path / "s.duckdb") as store:
        stored: list[int] = []

        def before_delete(r: object) -> None:  # the crash window: stored, not deleted
            stored.append(1)
            raise KeyboardInterrupt

        first = ingest_sqs(store, aws_config, tap.url, progress=before_delete, visibility_s=1)
        assert first.rows_stored == 4 and first.deleted == 0 and first.partial
        time.sleep(1.5)  # the visibility timeout: SQS delivers them again
        again = ingest_sqs(store, aws_config, tap.url)
        assert (again.records_read, again.rows_stored, again.rows_skipped_duplicate,
                again.deleted) == (4, 0, 4, 4)
        assert _rows(store, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(4, 4)]


_KILLER = """
import os, signal, sys
from eventlab.aws.config import AwsConfig
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.store.eventstore import EventStore

def die(report):  # after the commit, before the delete
    os.kill(os.getpid(), signal.SIGKILL)

with EventStore(sys.argv[1]) as store:
    ingest_sqs(store, AwsConfig(endpoint_url=sys.argv[2], timeout_s=5.0), sys.argv[3],
               progress=die, visibility_s=1, txn_messages=int(sys.argv[4]))
"""


def test_exactly_once_under_sigkill_between_store_and_delete(
        tmp_path: Path, aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    tap: Tap = create_tap(aws_config, sns_topic_factory())
    n = 30
    _publish(aws_config, tap.topic_arn, [_event(i, f"order-{i % 3}") for i in range(n)])
    db_path = tmp_path / "k.duckdb"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    for size in (10, 20):  # each run stores what it received first, then dies before deleting
        proc = subprocess.run([sys.executable, "-c", _KILLER, str(db_path), aws_config.endpoint_url
                               or "", tap.url, str(size)], env=env, capture_output=True,
                              timeout=120)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
        time.sleep(1.2)  # past the visibility timeout
    with EventStore(db_path) as store:
        first = _rows(store, "SELECT count(*), count(DISTINCT event_id) FROM events")[0]
        assert 10 <= first[0] <= 30 and first[0] == first[1]
        report = ingest_sqs(store, aws_config, tap.url)
        # what the last killed run stored came back (never deleted) and was skipped
        assert report.rows_skipped_duplicate >= 10
        assert report.rows_stored == n - first[0]
        assert _rows(store, 'SELECT count(*), count(DISTINCT event_id), count(DISTINCT '
                            '"offset") FROM events') == [(n, n, n)]
        assert _rows(store, "SELECT count(*) FROM sqs_received")[0][0] == n
    assert sqs(aws_config).get_queue_attributes(
        QueueUrl=tap.url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"] == {"ApproximateNumberOfMessages": "0",
                        "ApproximateNumberOfMessagesNotVisible": "0"}


def test_binary_attributes_travel_as_bytes(aws_config: AwsConfig) -> None:
    from eventlab.aws.records import _sns_attributes

    headers, types = _sns_attributes({"b": {"Type": "Binary",
                                            "Value": base64.b64encode(b"\x01").decode()}})
    assert headers == [("b", b"\x01")] and types == {"b": "Binary"}
