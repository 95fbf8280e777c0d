"""A look at other people's SQS queues, only after saying what it costs, and never a delete.

SQS cannot be browsed: a receive hides each message from the queue's consumers for the
visibility timeout and raises its receive count; a message received more than the redrive
policy's `maxReceiveCount` times is moved to the dead-letter queue by SQS itself, on the receive
that exceeds it. So a peek here:
- says the cost first (`peek_cost`), and needs `i_understand=True`;
- refuses a queue with a redrive policy unless `allow_dead_letter=True`: any receive may move a
  message that is at its limit, and uses up one of every other message's deliveries;
- receives at most `limit` messages (10 per call) with the visibility timeout the caller chose,
  then resets their visibility to 0 at once (ChangeMessageVisibilityBatch), so consumers see
  them again immediately; on a FIFO queue that also unlocks their message groups;
- never deletes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eventlab.aws.clients import aws_errors, sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import QueueInfo, queue_info
from eventlab.errors import SourceError

MAX_PEEK = 100
MAX_VISIBILITY_S = 300
BODY_SHOWN = 64 * 1024


class PeekRefused(SourceError):
    """The peek was not done: its cost was not accepted, or it could dead-letter messages."""


@dataclass(frozen=True)
class PeekedSqsMessage:
    """One received message, as SQS gave it (body cut at 64 KB for the page)."""

    message_id: str
    body: bytes
    size: int
    sent_at: datetime | None
    receive_count: int
    group_id: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    message_attributes: list[tuple[str, str, str]] = field(default_factory=list)
    """(name, DataType, value as text; binary values as hex)."""


def peek_cost(info: QueueInfo, visibility_s: int) -> list[str]:
    """What a peek of this queue costs, line by line, for the page and the CLI."""
    lines = [
        f"Each message received is invisible to {info.name}'s consumers for up to "
        f"{visibility_s} s (EventLab resets it to 0 right after reading; if EventLab dies "
        "between the two, the timeout runs out on its own).",
        "Each message's receive count goes up by one (ApproximateReceiveCount): consumers "
        "that count deliveries see one more.",
        "SQS returns a sample of the queue, not its order or its whole content; messages in "
        "flight to consumers are not seen.",
    ]
    if info.fifo:
        lines.append("FIFO queue: while a message is held, its message group is blocked for "
                     "every consumer (reset right after reading).")
    if info.redrive is not None:
        lines.append(
            f"Redrive policy: after {info.redrive.max_receive_count} receives SQS moves a "
            f"message to the dead-letter queue. A message already received "
            f"{info.redrive.max_receive_count} times is moved by this peek's receive (and is "
            "then not shown); every other message loses one of its remaining deliveries.")
    lines.append("Nothing is deleted.")
    return lines


def _message(m: dict[str, Any]) -> PeekedSqsMessage:
    attrs = {k: str(v) for k, v in m.get("Attributes", {}).items()}
    body = str(m.get("Body", "")).encode("utf-8")
    sent = attrs.get("SentTimestamp")
    sent_at = datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and sent.isdigit() else None
    mattrs = []
    for name, value in m.get("MessageAttributes", {}).items():
        kind = str(value.get("DataType", ""))
        text = value.get("StringValue")
        if text is None and value.get("BinaryValue") is not None:
            text = bytes(value["BinaryValue"]).hex()
        mattrs.append((str(name), kind, "" if text is None else str(text)))
    count = attrs.get("ApproximateReceiveCount", "0")
    return PeekedSqsMessage(
        message_id=str(m.get("MessageId", "")), body=body[:BODY_SHOWN], size=len(body),
        sent_at=sent_at, receive_count=int(count) if count.isdigit() else 0,
        group_id=attrs.get("MessageGroupId"), attributes=attrs, message_attributes=mattrs)


def peek_queue(config: AwsConfig, url_or_name: str, *, limit: int = 10,
               visibility_s: int = 30, i_understand: bool = False,
               allow_dead_letter: bool = False) -> tuple[QueueInfo, list[PeekedSqsMessage]]:
    """Receive up to `limit` messages, reset their visibility at once, delete nothing.

    Refused (`PeekRefused`) without `i_understand`, and on a queue with a redrive policy without
    `allow_dead_letter`. Returns the queue as it stood before and the messages seen.
    """
    if not 1 <= limit <= MAX_PEEK:
        raise SourceError(f"a peek reads 1 to {MAX_PEEK} messages, not {limit}")
    if not 1 <= visibility_s <= MAX_VISIBILITY_S:
        raise SourceError(f"the peek's visibility timeout must be 1-{MAX_VISIBILITY_S} s, "
                          f"not {visibility_s}")
    info = queue_info(config, url_or_name, with_age=False)
    if not i_understand:
        raise PeekRefused("not peeked: a receive is not free. " + " ".join(
            peek_cost(info, visibility_s)) + " Accept the cost to peek.")
    if info.redrive is not None and not allow_dead_letter:
        raise PeekRefused(
            f"not peeked: {info.name} has a redrive policy (maxReceiveCount "
            f"{info.redrive.max_receive_count}); a receive can move messages to its dead-letter "
            "queue and uses up a delivery of every other message. Allow that explicitly to "
            "peek anyway.")
    queues = sqs(config)
    seen: dict[str, PeekedSqsMessage] = {}
    handles: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 10.0
        while len(seen) < limit and time.monotonic() < deadline:
            with aws_errors(f"receiving from queue {info.name}"):
                got = queues.receive_message(
                    QueueUrl=info.url, MaxNumberOfMessages=min(10, limit - len(seen)),
                    VisibilityTimeout=visibility_s, WaitTimeSeconds=1,
                    AttributeNames=["All"], MessageAttributeNames=["All"])
            batch = got.get("Messages", [])
            if not batch:
                break
            for m in batch:
                handles[str(m["MessageId"])] = str(m["ReceiptHandle"])
                seen.setdefault(str(m["MessageId"]), _message(m))
    finally:
        _reset_visibility(queues, info, handles)
    return info, list(seen.values())[:limit]


def _reset_visibility(queues: Any, info: QueueInfo, handles: dict[str, str]) -> None:
    """Make every received message visible again now (batches of 10)."""
    items = list(handles.items())
    failed: list[str] = []
    for start in range(0, len(items), 10):
        entries = [{"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                   for i, (_, handle) in enumerate(items[start:start + 10])]
        try:
            with aws_errors(f"making peeked messages of {info.name} visible again"):
                got = queues.change_message_visibility_batch(QueueUrl=info.url, Entries=entries)
        except SourceError:
            failed += [mid for mid, _ in items[start:start + 10]]
            continue
        failed += [items[start + int(f["Id"])][0] for f in got.get("Failed", [])]
    if failed:
        raise SourceError(f"{len(failed)} peeked message(s) of {info.name} could not be made "
                          f"visible again; they return when their visibility timeout ends: "
                          f"{', '.join(failed[:5])}")
