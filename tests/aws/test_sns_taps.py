"""Taps of SNS topics, against moto's server mode (an EMULATOR: only what AWS documents is
checked: subscriptions, delivery of the SNS envelope with raw delivery off, queue tags, depth).
The queue policy is written and read back; moto does not enforce it (AWS_NOTES), real SQS does."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from eventlab.aws.clients import sns, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.taps import create_tap, find_tap, list_taps, remove_tap, tap_name
from eventlab.errors import AwsNotFound, SourceError


def test_a_tap_is_subscribed_with_the_envelope_kept_and_a_policy_for_its_topic_only(
        aws_config: AwsConfig, sns_topic_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    tap = create_tap(aws_config, arn)
    assert tap.name == tap_name(arn) and tap.name.startswith("eventlab-tap-")
    assert not tap.fifo
    subs = sns(aws_config).list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in subs] == [tap.subscription_arn]
    attrs = sns(aws_config).get_subscription_attributes(
        SubscriptionArn=tap.subscription_arn)["Attributes"]
    assert attrs.get("RawMessageDelivery", "false") == "false"
    policy = json.loads(sqs(aws_config).get_queue_attributes(
        QueueUrl=tap.url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = policy["Statement"]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": arn}}
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    # a second tap of the same topic is the same tap
    assert create_tap(aws_config, arn).url == tap.url


def test_taps_are_listed_with_depth_and_removed_with_their_subscription(
        aws_config: AwsConfig, sns_topic_factory: Callable[..., str],
        sqs_queue_factory: Callable[..., str]) -> None:
    arn = sns_topic_factory()
    tap = create_tap(aws_config, arn)
    other = sqs_queue_factory()  # not a tap: never listed, never removed
    for i in range(3):
        sns(aws_config).publish(TopicArn=arn, Message=f"m{i}")
    [listed] = [t for t in list_taps(aws_config) if t.url == tap.url]
    assert listed.topic_arn == arn and listed.visible == 3
    assert all(t.url != other for t in list_taps(aws_config))
    with pytest.raises(SourceError, match="not an EventLab tap"):
        remove_tap(aws_config, other)
    remove_tap(aws_config, tap.name)
    assert find_tap(aws_config, tap.url) is None
    assert sns(aws_config).list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"] == []
    sqs(aws_config).get_queue_url(QueueName=other.rsplit("/", 1)[-1])


def test_a_fifo_topic_gets_a_fifo_tap(aws_config: AwsConfig,
                                      sns_topic_factory: Callable[..., str]) -> None:
    tap = create_tap(aws_config, sns_topic_factory(fifo=True))
    assert tap.fifo and tap.name.endswith(".fifo")
    attrs = sqs(aws_config).get_queue_attributes(QueueUrl=tap.url,
                                                 AttributeNames=["FifoQueue"])["Attributes"]
    assert attrs["FifoQueue"] == "true"


def test_a_missing_topic_or_a_bad_arn_is_said_as_such(aws_config: AwsConfig) -> None:
    with pytest.raises(SourceError, match="not an SNS topic ARN"):
        create_tap(aws_config, "orders")
    with pytest.raises(AwsNotFound, match="looking up SNS topic"):
        create_tap(aws_config, "arn:aws:sns:us-east-1:123456789012:no-such-topic")
