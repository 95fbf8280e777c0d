"""SQS queues as they stand: depth (visible, in flight, delayed), the redrive policy and the
dead-letter queue's depth, and the age of the oldest message where CloudWatch has it.

Nothing here receives a message: every figure comes from GetQueueAttributes (approximate, as
SQS documents) and CloudWatch's `ApproximateAgeOfOldestMessage`. A queue is named by its URL or
its name (resolved with GetQueueUrl).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventlab.aws.clients import aws_errors, client, sqs
from eventlab.aws.config import AwsConfig
from eventlab.errors import SourceError


@dataclass(frozen=True)
class RedrivePolicy:
    """Where SQS moves a message after `max_receive_count` receives (its DLQ)."""

    dead_letter_arn: str
    max_receive_count: int


@dataclass(frozen=True)
class QueueInfo:
    """One queue's attributes as SQS reports them (counts are approximate by SQS's design)."""

    url: str
    name: str
    arn: str
    fifo: bool
    visible: int
    in_flight: int
    delayed: int
    visibility_timeout_s: int
    retention_s: int
    redrive: RedrivePolicy | None
    dlq_url: str | None = None
    dlq_visible: int | None = None
    oldest_age_s: float | None = None
    oldest_age_source: str = "unknown"

    def as_row(self) -> dict[str, Any]:
        """A flat dict for tables and JSON."""
        row = asdict(self)
        redrive = row.pop("redrive")
        row["max_receive_count"] = redrive["max_receive_count"] if redrive else None
        row["dead_letter_arn"] = redrive["dead_letter_arn"] if redrive else None
        return row


def queue_name(url_or_name: str) -> str:
    """The queue's name (the last path part of a URL)."""
    return url_or_name.rstrip("/").rsplit("/", 1)[-1]


def resolve_url(config: AwsConfig, url_or_name: str, queues: Any = None) -> str:
    """The queue URL for a URL or a name (GetQueueUrl; a missing queue is `AwsNotFound`)."""
    text = url_or_name.strip()
    if not text:
        raise SourceError("no queue named: give its URL or its name")
    if text.startswith(("http://", "https://")):
        return text
    queues = queues or sqs(config)
    with aws_errors(f"looking up queue {text}"):
        return str(queues.get_queue_url(QueueName=text)["QueueUrl"])


def _int(attrs: dict[str, str], name: str) -> int:
    try:
        return int(attrs.get(name, "0"))
    except ValueError:
        return 0


def _redrive(attrs: dict[str, str]) -> RedrivePolicy | None:
    raw = attrs.get("RedrivePolicy")
    if not raw:
        return None
    try:
        doc = json.loads(raw)
        return RedrivePolicy(str(doc["deadLetterTargetArn"]), int(doc["maxReceiveCount"]))
    except (ValueError, KeyError, TypeError):
        return None


def _url_of_arn(queues: Any, arn: str) -> str:
    """A queue ARN's URL (arn:aws:sqs:REGION:ACCOUNT:NAME)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise SourceError(f"not an SQS queue ARN: {arn!r}")
    with aws_errors(f"looking up the dead-letter queue {parts[5]}"):
        return str(queues.get_queue_url(QueueName=parts[5],
                                        QueueOwnerAWSAccountId=parts[4])["QueueUrl"])


def oldest_age(config: AwsConfig, name: str) -> float | None:
    """CloudWatch's latest `ApproximateAgeOfOldestMessage` for the queue (seconds), or None
    when CloudWatch has no datapoint in the last 15 minutes (or cannot be asked)."""
    end = datetime.now(UTC)
    try:
        watch = client(config, "cloudwatch")
        with aws_errors(f"asking CloudWatch for the age of {name}'s oldest message"):
            got = watch.get_metric_statistics(
                Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": name}],
                StartTime=end - timedelta(minutes=15), EndTime=end, Period=60,
                Statistics=["Maximum"])
    except SourceError:
        return None
    points = sorted(got.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Maximum"]) if points else None


def queue_info(config: AwsConfig, url_or_name: str, *, with_dlq: bool = True,
               with_age: bool = True) -> QueueInfo:
    """The queue's depth and policy; its DLQ's depth; the oldest message's age if known."""
    queues = sqs(config)
    url = resolve_url(config, url_or_name, queues)
    name = queue_name(url)
    with aws_errors(f"reading the attributes of queue {name}"):
        attrs = queues.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = _redrive(attrs)
    dlq_url = dlq_visible = None
    if with_dlq and redrive is not None:
        try:
            dlq_url = _url_of_arn(queues, redrive.dead_letter_arn)
            with aws_errors(f"reading the depth of dead-letter queue {queue_name(dlq_url)}"):
                dlq_attrs = queues.get_queue_attributes(
                    QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
            dlq_visible = _int(dlq_attrs["Attributes"], "ApproximateNumberOfMessages")
        except SourceError:
            dlq_url = dlq_visible = None
    age = oldest_age(config, name) if with_age else None
    return QueueInfo(
        url=url, name=name, arn=attrs.get("QueueArn", ""), fifo=name.endswith(".fifo"),
        visible=_int(attrs, "ApproximateNumberOfMessages"),
        in_flight=_int(attrs, "ApproximateNumberOfMessagesNotVisible"),
        delayed=_int(attrs, "ApproximateNumberOfMessagesDelayed"),
        visibility_timeout_s=_int(attrs, "VisibilityTimeout"),
        retention_s=_int(attrs, "MessageRetentionPeriod"), redrive=redrive, dlq_url=dlq_url,
        dlq_visible=dlq_visible, oldest_age_s=age,
        oldest_age_source="CloudWatch" if age is not None else "unknown (no CloudWatch datapoint)")


def dead_letter_sources(config: AwsConfig, url_or_name: str) -> list[str]:
    """The queues whose redrive policy names this queue as their dead-letter queue
    (ListDeadLetterSourceQueues): empty when it is no queue's DLQ."""
    queues = sqs(config)
    url = resolve_url(config, url_or_name, queues)
    found: list[str] = []
    kwargs: dict[str, Any] = {"QueueUrl": url, "MaxResults": 1000}
    with aws_errors(f"asking which queues dead-letter into {queue_name(url)}"):
        while True:
            page = queues.list_dead_letter_source_queues(**kwargs)
            found += page.get("queueUrls", [])
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]


def list_queue_urls(config: AwsConfig, prefix: str = "", limit: int = 1000) -> list[str]:
    """Queue URLs (ListQueues, paginated), at most `limit`."""
    queues = sqs(config)
    urls: list[str] = []
    kwargs: dict[str, Any] = {"MaxResults": 1000, **({"QueueNamePrefix": prefix} if prefix
                                                      else {})}
    with aws_errors("listing queues"):
        while len(urls) < limit:
            page = queues.list_queues(**kwargs)
            urls += page.get("QueueUrls", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return urls[:limit]


def sample_row(info: QueueInfo, broker: str, at: float | None = None) -> dict[str, Any]:
    """The queue as a `queue_samples` row."""
    return {"sampled_at": time.time() if at is None else at, "broker": broker,
            "queue": info.name, "visible": info.visible, "in_flight": info.in_flight,
            "delayed": info.delayed, "oldest_age_s": info.oldest_age_s,
            "dlq_visible": info.dlq_visible}
