"""SQS tap ingest: EventLab's exactly-once drain of a tap queue vs a bare boto3 receive/delete
loop, on the same local endpoint and the SAME queue depth, in one run.

The endpoint is moto's server mode (an emulator: every call scans the whole queue, so it slows
with depth, AWS_NOTES). Each round publishes an equal small backlog (BACKLOG messages, SNS
PublishBatch) through the topic into the tap, then drains it: alternately the bare loop
(ReceiveMessage of 10, DeleteMessageBatch, until BACKLOG deleted) and EventLab's `ingest_sqs`
(receive, store events + dedup keys + positions in one DuckDB transaction, then delete) into a
fresh database. Both stop at BACKLOG messages (no final empty long poll timed). Prints the rates
and `ratio=X` (EventLab / bare) as the last line.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT  # noqa: F401 - puts the repo on sys.path

from eventlab.aws.clients import sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.local import EMULATOR_ENV, start_local
from eventlab.aws.taps import create_tap
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.rabbitmq.server import free_port
from eventlab.store.eventstore import EventStore

BACKLOG = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5


def _body(i: int) -> str:
    return json.dumps({"event_id": f"e-{i}", "entity_id": f"order-{i % 500}",
                       "event_type": ("OrderPlaced", "OrderPaid", "OrderShipped")[i % 3],
                       "ts": "2025-03-05T14:03:00Z", "data": {"i": i, "sku": "A-1"}})


def fill(config: AwsConfig, arn: str, url: str, first: int) -> None:
    """Publish BACKLOG messages through the topic and wait until the tap holds them all."""
    client = sns(config)
    for start in range(first, first + BACKLOG, 10):
        client.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            {"Id": str(i - start), "Message": _body(i),
             "MessageAttributes": {"tenant": {"DataType": "String", "StringValue": "acme"}}}
            for i in range(start, min(first + BACKLOG, start + 10))])
    q = sqs(config)
    deadline = time.monotonic() + 30
    while int(q.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]) \
            < BACKLOG:
        assert time.monotonic() < deadline, "the backlog did not arrive"
        time.sleep(0.05)


def bare(config: AwsConfig, url: str) -> float:
    """receive 10 / delete 10 until BACKLOG messages are deleted (its client built inside the
    timing, as `ingest_sqs` builds its own)."""
    t = time.perf_counter()
    client = sqs(config)
    done = 0
    while done < BACKLOG:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", [])
        if got:
            client.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)])
            done += len(got)
    return time.perf_counter() - t


def eventlab(config: AwsConfig, url: str) -> float:
    with tempfile.TemporaryDirectory() as tmp, EventStore(Path(tmp) / "b.duckdb") as store:
        t = time.perf_counter()
        report = ingest_sqs(store, config, url, until=BACKLOG, wait_s=1)
        seconds = time.perf_counter() - t
        assert report.rows_stored == BACKLOG and report.deleted == BACKLOG, report.summary()
    return seconds


def main() -> None:
    os.environ.update(EMULATOR_ENV)
    with tempfile.TemporaryDirectory() as tmp, \
            start_local(free_port(), log_path=Path(tmp) / "moto.log") as endpoint:
        config = AwsConfig(endpoint_url=endpoint.url, timeout_s=10.0)
        arn = sns(config).create_topic(Name="bench-orders")["TopicArn"]
        tap = create_tap(config, arn)
        bare_s, ours_s = [], []
        n = 0
        for _ in range(ROUNDS):
            fill(config, arn, tap.url, n)
            n += BACKLOG
            bare_s.append(bare(config, tap.url))
            fill(config, arn, tap.url, n)
            n += BACKLOG
            ours_s.append(eventlab(config, tap.url))
        b, o = statistics.median(bare_s), statistics.median(ours_s)
        print(f"# moto's emulator on {endpoint.url}; backlog {BACKLOG} per drain, {ROUNDS} rounds")
        print(f"bare boto3 receive/delete: {BACKLOG / b:,.0f} messages/s (median {b:.2f} s)")
        print(f"EventLab ingest-sqs:       {BACKLOG / o:,.0f} messages/s (median {o:.2f} s; "
              "decoded, mapped, stored once with dedup keys, then deleted)")
        print(f"ratio={b / o:.2f}")


if __name__ == "__main__":
    main()
