"""The demo shop on SNS/SQS against moto's server mode (an EMULATOR: FIFO topic fan-out to a FIFO
and a standard queue, redrive to a DLQ after maxReceiveCount receives, as AWS documents them):
the projector keeps poison in place until SQS dead-letters it, EventLab's tap gets everything."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.demo import aws_shop
from eventlab.ingest.sqs_ingest import ingest_sqs
from eventlab.store.eventstore import EventStore


def _depth(config: AwsConfig, url: str) -> int:
    attrs = sqs(config).get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return sum(int(v) for v in attrs.values())


def test_the_demo_shop_dead_letters_poison_and_the_tap_gets_everything(
        tmp_path: Path, aws_config: AwsConfig) -> None:
    shop = aws_shop.setup(aws_config)
    assert aws_shop.setup(aws_config).tap.url == shop.tap.url  # idempotent
    counts = aws_shop.produce(aws_config, shop.topic_arn, events=200, rate=0)
    assert counts["poison"] >= 2 and counts["failed"] == 0
    published = counts["published"]
    assert _depth(aws_config, shop.projector_url) == published
    stop = threading.Event()
    thread = threading.Thread(target=aws_shop.consume, args=(aws_config, shop.projector_url),
                              kwargs={"rate": 0, "stop": stop}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while _depth(aws_config, shop.dlq_url) < counts["poison"]:
        assert time.monotonic() < deadline, _depth(aws_config, shop.dlq_url)
        time.sleep(0.5)
    stop.set()
    thread.join(30)
    # Every poison message is dead-lettered. On a loaded machine a good one can be too: SQS
    # dead-letters any message received past its visibility timeout twice (documented), and a
    # slow consumer's delete can come after the 5 s.
    assert _depth(aws_config, shop.dlq_url) >= counts["poison"]
    assert _depth(aws_config, shop.tap.url) == published
    assert _depth(aws_config, shop.audit_url) == published
    with EventStore(tmp_path / "d.duckdb") as store:
        report = ingest_sqs(store, aws_config, shop.tap.url)
        assert report.records_read == published and report.stopped_because == "queue empty"
        assert report.rows_quarantined >= counts["poison"]
