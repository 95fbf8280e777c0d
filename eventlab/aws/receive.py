"""Receive and delete SQS messages: our own frozen message type instead of boto3's dicts.

`receive` long-polls one batch (at most 10, SQS's limit) with every system and message
attribute; `delete` removes received messages by receipt handle, 10 per call, and returns the
ids SQS did not delete. Deleting is the caller's decision: ingest deletes only what the store
has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventlab.aws.clients import aws_errors

MAX_BATCH = 10
"""SQS's limit per ReceiveMessage and per DeleteMessageBatch."""


@dataclass(frozen=True)
class SqsMessage:
    """One received SQS message, as SQS gave it."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)
    """System attributes: SentTimestamp, SequenceNumber, MessageGroupId, ..."""
    message_attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Message attributes: name -> {DataType, StringValue | BinaryValue}."""


def queue_name(url: str) -> str:
    """The queue's name: the last part of its URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def receive(client: Any, url: str, *, max_messages: int = MAX_BATCH, wait_s: int = 1,
            visibility_s: int | None = None) -> list[SqsMessage]:
    """One ReceiveMessage call (long poll of `wait_s` seconds, 0-20)."""
    kwargs: dict[str, Any] = {"QueueUrl": url, "MaxNumberOfMessages": min(max_messages,
                                                                          MAX_BATCH),
                              "WaitTimeSeconds": wait_s, "AttributeNames": ["All"],
                              "MessageAttributeNames": ["All"]}
    if visibility_s is not None:
        kwargs["VisibilityTimeout"] = visibility_s
    with aws_errors(f"receiving from queue {queue_name(url)}"):
        got = client.receive_message(**kwargs).get("Messages", [])
    return [SqsMessage(m["MessageId"], m["ReceiptHandle"], m.get("Body", ""),
                       dict(m.get("Attributes", {})), dict(m.get("MessageAttributes", {})))
            for m in got]


def delete(client: Any, url: str, messages: list[SqsMessage]) -> list[str]:
    """Delete `messages`; returns the MessageIds SQS reported as not deleted."""
    failed: list[str] = []
    for i in range(0, len(messages), MAX_BATCH):
        chunk = messages[i:i + MAX_BATCH]
        entries = [{"Id": str(n), "ReceiptHandle": m.receipt_handle}
                   for n, m in enumerate(chunk)]
        with aws_errors(f"deleting from queue {queue_name(url)}"):
            answer = client.delete_message_batch(QueueUrl=url, Entries=entries)
        failed += [chunk[int(f["Id"])].message_id for f in answer.get("Failed", [])]
    return failed
