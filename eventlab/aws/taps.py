"""Taps: EventLab-owned SQS queues subscribed to an SNS topic, the non-disturbing way to capture.

A tap is a queue named `eventlab-tap-<topic>-<hash of the topic ARN>` (`.fifo` for a FIFO
topic, which SNS can only deliver to a FIFO queue), tagged with the topic it taps and its
subscription. It is subscribed with raw message delivery OFF, so every message arrives as the
SNS envelope (MessageId, Timestamp, Subject, MessageAttributes), and carries a queue policy
admitting `sqs:SendMessage` only from that topic (real SQS requires it; the emulator stores it
without enforcing it). Nothing else of the topic's subscribers changes. `remove_tap` deletes the
subscription and the queue.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from eventlab.aws.clients import aws_errors, sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.errors import AwsNotFound, SourceError

PREFIX = "eventlab-tap-"
TAG_TOPIC = "eventlab:tap-of"
TAG_SUBSCRIPTION = "eventlab:subscription"
_NAME_CHARS = 50


@dataclass(frozen=True)
class Tap:
    """One tap queue: what it taps and how many messages wait in it (approximate, as SQS says)."""

    name: str
    url: str
    topic_arn: str
    subscription_arn: str
    fifo: bool
    visible: int = 0
    in_flight: int = 0

    @property
    def topic_name(self) -> str:
        return topic_name(self.topic_arn)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def topic_name(topic_arn: str) -> str:
    """The topic's name: the last part of its ARN."""
    return topic_arn.rsplit(":", 1)[-1]


def tap_name(topic_arn: str) -> str:
    """The tap queue's name for a topic (stable, at most 80 characters, `.fifo` kept)."""
    name = topic_name(topic_arn)
    fifo = name.endswith(".fifo")
    base = name.removesuffix(".fifo")[:_NAME_CHARS]
    digest = hashlib.sha256(topic_arn.encode()).hexdigest()[:8]
    return f"{PREFIX}{base}-{digest}" + (".fifo" if fifo else "")


def queue_policy(queue_arn: str, topic_arn: str) -> str:
    """The tap queue's policy: SendMessage from the SNS service, for this topic only."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "eventlab-tap",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }],
    })


def _check_arn(topic_arn: str) -> None:
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        raise SourceError(f"{topic_arn!r} is not an SNS topic ARN "
                          "(arn:aws:sns:REGION:ACCOUNT:NAME)")


def create_tap(config: AwsConfig, topic_arn: str) -> Tap:
    """Create (or find) the tap of `topic_arn`: its queue, policy and subscription."""
    _check_arn(topic_arn)
    name = tap_name(topic_arn)
    fifo = name.endswith(".fifo")
    q, n = sqs(config), sns(config)
    with aws_errors(f"looking up SNS topic {topic_arn}"):
        n.get_topic_attributes(TopicArn=topic_arn)
    existing = find_tap(config, name)
    if existing is not None:
        return existing
    with aws_errors(f"creating tap queue {name}"):
        url = q.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {},
                             tags={TAG_TOPIC: topic_arn})["QueueUrl"]
        queue_arn = q.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        q.set_queue_attributes(QueueUrl=url,
                               Attributes={"Policy": queue_policy(queue_arn, topic_arn)})
    with aws_errors(f"subscribing tap queue {name} to {topic_arn}"):
        sub = n.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                          Attributes={"RawMessageDelivery": "false"},
                          ReturnSubscriptionArn=True)["SubscriptionArn"]
    with aws_errors(f"tagging tap queue {name}"):
        q.tag_queue(QueueUrl=url, Tags={TAG_SUBSCRIPTION: sub})
    return Tap(name, url, topic_arn, sub, fifo)


def _describe(client: Any, url: str) -> Tap | None:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not name.startswith(PREFIX):
        return None
    with aws_errors(f"reading tap queue {name}"):
        tags = client.list_queue_tags(QueueUrl=url).get("Tags", {})
        attrs = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    if TAG_TOPIC not in tags:
        return None
    return Tap(name, url, tags[TAG_TOPIC], tags.get(TAG_SUBSCRIPTION, ""), name.endswith(".fifo"),
               int(attrs.get("ApproximateNumberOfMessages", 0)),
               int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)))


def find_tap(config: AwsConfig, queue: str, client: Any = None) -> Tap | None:
    """The tap named `queue` (a queue name or URL), or None when it is no EventLab tap.
    `client`: an SQS client to reuse (building one costs a few hundred ms)."""
    client = client or sqs(config)
    url = queue
    if not queue.startswith(("http://", "https://")):
        if not queue.startswith(PREFIX):
            return None
        try:
            with aws_errors(f"looking up queue {queue}"):
                url = client.get_queue_url(QueueName=queue)["QueueUrl"]
        except AwsNotFound:
            return None
    try:
        return _describe(client, url)
    except AwsNotFound:
        return None


def list_taps(config: AwsConfig) -> list[Tap]:
    """Every tap queue in this account and region, with its depth."""
    client = sqs(config)
    urls: list[str] = []
    with aws_errors("listing tap queues"):
        for page in client.get_paginator("list_queues").paginate(QueueNamePrefix=PREFIX):
            urls += page.get("QueueUrls", [])
    taps = []
    for url in sorted(urls):
        try:
            tap = _describe(client, url)
        except AwsNotFound:  # removed meanwhile
            continue
        if tap is not None:
            taps.append(tap)
    return taps


def remove_tap(config: AwsConfig, queue: str) -> Tap:
    """Unsubscribe the tap named `queue` (name or URL) and delete its queue."""
    tap = find_tap(config, queue)
    if tap is None:
        raise SourceError(f"{queue!r} is not an EventLab tap (queues named {PREFIX}..., tagged "
                          f"{TAG_TOPIC}); EventLab removes only its own queues")
    if tap.subscription_arn:
        try:
            with aws_errors(f"unsubscribing tap {tap.name}"):
                sns(config).unsubscribe(SubscriptionArn=tap.subscription_arn)
        except AwsNotFound:
            pass
    with aws_errors(f"deleting tap queue {tap.name}"):
        sqs(config).delete_queue(QueueUrl=tap.url)
    return tap


@dataclass(frozen=True)
class TapState:
    """What a republish needs to trust a tap as a read-back of its topic: which queue (URL
    and `CreatedTimestamp`, so a tap removed and made again is told apart), which
    subscription, and whether it delivers everything the topic publishes right now."""

    url: str
    created_s: int
    subscription_arn: str
    problem: str | None = None
    """Why the tap would not see every message (None: it would)."""


def tap_of_topic(config: AwsConfig, topic_arn: str) -> TapState | None:
    """The state of `topic_arn`'s tap, None when the topic has no tap. A tap with a problem
    (its subscription gone, pending, filtered or raw) is returned with `problem` said."""
    q = sqs(config)
    tap = find_tap(config, tap_name(topic_arn), q)
    if tap is None or tap.topic_arn != topic_arn:
        return None
    with aws_errors(f"reading tap queue {tap.name}"):
        created = int(float(q.get_queue_attributes(QueueUrl=tap.url, AttributeNames=[
            "CreatedTimestamp"])["Attributes"]["CreatedTimestamp"]))  # epoch s (moto: a float)
    state = TapState(tap.url, created, tap.subscription_arn)
    if not tap.subscription_arn:
        return _with(state, "it has no subscription")
    try:
        with aws_errors(f"reading the subscription of tap {tap.name}"):
            attrs = sns(config).get_subscription_attributes(
                SubscriptionArn=tap.subscription_arn)["Attributes"]
    except AwsNotFound:
        return _with(state, "its subscription was removed")
    if attrs.get("TopicArn") != topic_arn:
        return _with(state, "its subscription is to another topic")
    if attrs.get("PendingConfirmation", "false") != "false":
        return _with(state, "its subscription is not confirmed")
    if attrs.get("RawMessageDelivery", "false") != "false":
        return _with(state, "its subscription delivers raw messages (no SNS envelope)")
    if attrs.get("FilterPolicy"):
        return _with(state, "its subscription has a filter policy")
    return state


def _with(state: TapState, problem: str) -> TapState:
    return TapState(state.url, state.created_s, state.subscription_arn, problem)


def held(config: AwsConfig, url: str) -> tuple[int, int]:
    """(in flight, delayed) messages of a queue, as SQS approximates them."""
    with aws_errors(f"reading queue {url.rsplit('/', 1)[-1]}"):
        attrs = sqs(config).get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return (int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
            int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)))
