"""Peek at other people's SQS queues without surprises, and their depth, against moto's server
mode (an EMULATOR: only behaviour SQS documents is checked: receive hides a message for the
visibility timeout and raises ApproximateReceiveCount; ChangeMessageVisibility 0 makes it
visible again; a receive beyond maxReceiveCount moves it to the dead-letter queue)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.peek import PeekRefused, peek_cost, peek_queue
from eventlab.aws.queues import queue_info
from eventlab.errors import AwsNotFound


def _send(config: AwsConfig, url: str, bodies: list[str], **extra: object) -> None:
    client = sqs(config)
    for i, body in enumerate(bodies):
        client.send_message(QueueUrl=url, MessageBody=body, **extra,
                            MessageAttributes={"n": {"DataType": "Number",
                                                     "StringValue": str(i)}})


def _visible(config: AwsConfig, url: str) -> int:
    return queue_info(config, url, with_age=False).visible


def _with_dlq(config: AwsConfig, make: Callable[..., str], max_receives: int) -> tuple[str, str]:
    dlq = make()
    arn = sqs(config).get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    url = make(RedrivePolicy=json.dumps({"deadLetterTargetArn": arn,
                                         "maxReceiveCount": str(max_receives)}))
    return url, dlq


def test_depth_counts_visible_in_flight_and_the_dlq(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url, dlq = _with_dlq(aws_config, sqs_queue_factory, 5)
    _send(aws_config, url, ["a", "b", "c"])
    _send(aws_config, dlq, ["dead"])
    sqs(aws_config).receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    info = queue_info(aws_config, url)
    assert (info.visible, info.in_flight, info.delayed) == (2, 1, 0)
    assert info.redrive is not None and info.redrive.max_receive_count == 5
    assert info.dlq_url == dlq and info.dlq_visible == 1
    assert info.oldest_age_s is None and "unknown" in info.oldest_age_source
    by_name = queue_info(aws_config, info.name, with_dlq=False, with_age=False)
    assert by_name.url == url and by_name.dlq_visible is None


def test_a_missing_queue_is_said_as_such(aws_config: AwsConfig) -> None:
    with pytest.raises(AwsNotFound, match="no-such-queue"):
        queue_info(aws_config, "no-such-queue")


def test_a_peek_needs_its_cost_accepted(aws_config: AwsConfig,
                                        sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    _send(aws_config, url, ["a"])
    with pytest.raises(PeekRefused, match="invisible to .* for up to 30 s"):
        peek_queue(aws_config, url)
    assert queue_info(aws_config, url, with_age=False).in_flight == 0  # nothing was received


def test_a_peek_leaves_the_queue_as_it_was_and_deletes_nothing(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url = sqs_queue_factory()
    _send(aws_config, url, [json.dumps({"i": i}) for i in range(5)])
    info, seen = peek_queue(aws_config, url, limit=5, visibility_s=120, i_understand=True)
    assert info.visible == 5
    assert sorted(json.loads(m.body)["i"] for m in seen) == list(range(5))
    assert all(m.receive_count == 1 and m.sent_at is not None for m in seen)
    assert [a[:2] for a in seen[0].message_attributes] == [("n", "Number")]
    after = queue_info(aws_config, url, with_age=False)
    assert (after.visible, after.in_flight) == (5, 0)
    # A consumer gets every message at once, not after the peek's 120 s.
    got = sqs(aws_config).receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                          WaitTimeSeconds=1)["Messages"]
    assert len(got) == 5


def test_a_queue_with_a_redrive_policy_is_refused_unless_allowed(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url, dlq = _with_dlq(aws_config, sqs_queue_factory, 1)
    _send(aws_config, url, ["poison"])
    # A consumer already received it once: one more receive exceeds maxReceiveCount 1.
    client = sqs(aws_config)
    first = client.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert len(first) == 1
    with pytest.raises(PeekRefused, match="redrive policy .*maxReceiveCount 1"):
        peek_queue(aws_config, url, i_understand=True)
    assert _visible(aws_config, url) == 1 and _visible(aws_config, dlq) == 0
    # Allowed, the receive does what SQS documents: the message goes to the DLQ, unseen.
    _, seen = peek_queue(aws_config, url, i_understand=True, allow_dead_letter=True)
    assert seen == []
    assert _visible(aws_config, dlq) == 1


def test_the_cost_names_the_fifo_block_and_the_redrive_limit(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str]) -> None:
    url, _ = _with_dlq(aws_config, sqs_queue_factory, 3)
    text = " ".join(peek_cost(queue_info(aws_config, url, with_age=False), 45))
    assert "45 s" in text and "after 3 receives" in text and "Nothing is deleted" in text
    fifo = sqs_queue_factory(fifo=True)
    text = " ".join(peek_cost(queue_info(aws_config, fifo, with_age=False), 30))
    assert "message group is blocked" in text


@pytest.mark.parametrize(("limit", "visibility"), [(0, 30), (101, 30), (5, 0), (5, 301)])
def test_out_of_range_peeks_are_refused_before_any_receive(
        aws_config: AwsConfig, sqs_queue_factory: Callable[..., str], limit: int,
        visibility: int) -> None:
    url = sqs_queue_factory()
    with pytest.raises(Exception, match="peek"):
        peek_queue(aws_config, url, limit=limit, visibility_s=visibility, i_understand=True)
