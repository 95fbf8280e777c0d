"""The demo shop on SNS/SQS (`eventlab demo-aws`, `make demo-aws`): for the local emulator.

`setup` makes a FIFO topic `shop-events.fifo` with two subscribed queues: `shop-projector.fifo`
(raw message delivery; its redrive policy moves a message received twice without a delete to
`shop-projector-dlq.fifo`) and the standard queue `shop-audit` (SNS envelope), plus EventLab's
tap of the topic. `produce` publishes the demo shop's events (PublishBatch, MessageGroupId = the
entity, so each entity's events stay in order) with a poison message (not JSON) every
`POISON_EVERY`; `consume` is the shop's slow projector: it deletes what it can read, leaves
poison in place (SQS then dead-letters it), and reads more slowly than the shop publishes, so the
projector's depth grows. The audit queue is read at full speed.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from eventlab.aws.clients import aws_errors, sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.receive import delete, receive
from eventlab.aws.taps import Tap, create_tap, queue_policy

TOPIC = "shop-events.fifo"
PROJECTOR = "shop-projector.fifo"
DLQ = "shop-projector-dlq.fifo"
AUDIT = "shop-audit"
POISON_EVERY = 97
MAX_BODY = 250_000
"""SNS takes at most 256 KiB per message: larger demo records are skipped (counted)."""


@dataclass(frozen=True)
class AwsShop:
    """What `setup` made."""

    topic_arn: str
    projector_url: str
    dlq_url: str
    audit_url: str
    tap: Tap


def _queue(client: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return url, arn


def setup(config: AwsConfig) -> AwsShop:
    """Topic, queues, DLQ, subscriptions and EventLab's tap (idempotent)."""
    n, q = sns(config), sqs(config)
    with aws_errors("setting up the demo shop on SNS/SQS"):
        topic = n.create_topic(Name=TOPIC, Attributes={"FifoTopic": "true"})["TopicArn"]
        dlq_url, dlq_arn = _queue(q, DLQ, {"FifoQueue": "true"})
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
        proj_url, proj_arn = _queue(q, PROJECTOR, {"FifoQueue": "true", "VisibilityTimeout": "5",
                                                    "RedrivePolicy": redrive})
        audit_url, audit_arn = _queue(q, AUDIT, {})
        subscribed = {s["Endpoint"] for s in
                      n.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
        for url, arn, raw in ((proj_url, proj_arn, "true"), (audit_url, audit_arn, "false")):
            q.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic)})
            if arn not in subscribed:
                n.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                            Attributes={"RawMessageDelivery": raw})
    return AwsShop(topic, proj_url, dlq_url, audit_url, create_tap(config, topic))


def produce(config: AwsConfig, topic_arn: str, *, events: int, rate: float, seed: int = 42,
            stop: threading.Event | None = None) -> dict[str, int]:
    """Publish the demo shop at about `rate` messages/s; returns counts."""
    from eventlab.demo.produce import demo_records

    client, stop = sns(config), stop or threading.Event()
    counts = {"published": 0, "poison": 0, "skipped": 0, "failed": 0}
    batch: list[dict[str, Any]] = []
    started = time.monotonic()

    def send() -> None:
        with aws_errors(f"publishing the demo shop to {TOPIC}"):
            answer = client.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=batch)
        counts["published"] += len(answer.get("Successful", []))
        counts["failed"] += len(answer.get("Failed", []))
        batch.clear()
        ahead = counts["published"] / rate - (time.monotonic() - started) if rate else 0
        if ahead > 0:
            stop.wait(ahead)

    for i, record in enumerate(demo_records(events, seed)):
        if stop.is_set():
            break
        key, value = record[0], record[1]
        if value is None or len(value) > MAX_BODY:
            counts["skipped"] += 1
            continue
        body = value.decode("utf-8", "replace")
        if i % POISON_EVERY == POISON_EVERY - 1:
            body, counts["poison"] = f"{{not json #{i}", counts["poison"] + 1
        batch.append({"Id": str(len(batch)), "Message": body,
                      "MessageGroupId": (key or b"none").decode("utf-8", "replace")[:128],
                      "MessageDeduplicationId": f"demo-{seed}-{i}",
                      "MessageAttributes": {"producer": {"DataType": "String",
                                                         "StringValue": "demo-shop"}}})
        if len(batch) == 10:
            send()
    if batch:
        send()
    return counts


def _readable(body: str) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


def consume(config: AwsConfig, url: str, *, rate: float,
            stop: threading.Event | None = None) -> dict[str, int]:
    """Read `url` at about `rate` messages/s, deleting what parses as JSON; poison stays
    (redrive moves it to the DLQ after its second receive). Runs until `stop`."""
    client, stop = sqs(config), stop or threading.Event()
    counts = {"processed": 0, "left": 0}
    started = time.monotonic()
    while not stop.is_set():
        got = receive(client, url, wait_s=1)
        good = [m for m in got if _readable(m.body)]
        counts["left"] += len(got) - len(good)
        if good:
            delete(client, url, good)
            counts["processed"] += len(good)
        ahead = (counts["processed"] + counts["left"]) / rate - (time.monotonic() - started) \
            if rate else 0
        if ahead > 0:
            stop.wait(ahead)
    return counts
