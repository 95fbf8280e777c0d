"""An SQS message as a raw record (Kafka's raw-record shape): pure, no I/O.

A message whose body is an SNS notification envelope (a tap's, raw message delivery off) becomes
a record of source `sns`: topic = the SNS topic's name, value = the published `Message` (its
bytes, as the publisher sent it), broker time = the envelope's `Timestamp`, headers = its
`MessageAttributes`. Any other message is a record of source `sqs`: topic = the queue's name,
value = the body, broker time = `SentTimestamp`, headers = the SQS message attributes.

Header values are the attribute's value bytes (String and Number as UTF-8 text, Binary decoded
from base64). Types are kept in one more header, `x-attribute-types`: a JSON object of attribute
name -> AWS data type (`String`, `Number`, `Binary`, `String.Array`, custom `Number.float`...),
so "1.50" stays text with its declared type. The envelope's own ids follow as `x-sns-message-id`,
`x-sns-topic-arn`, `x-sns-subject` (when set) and `x-sqs-message-id`.

`dedup_key` names a message across re-deliveries: for a FIFO queue its SQS `SequenceNumber`;
else the SNS MessageId of an envelope (SNS may deliver one message twice), else the SQS MessageId.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.aws.receive import SqsMessage, queue_name

TYPES_HEADER = "x-attribute-types"
ID_HEADERS = ("x-sns-message-id", "x-sns-topic-arn", "x-sns-subject", "x-sqs-message-id")
"""The envelope's own ids, kept as headers after the message's attributes."""
INGEST_HEADERS = (TYPES_HEADER, *ID_HEADERS)
"""Headers EventLab's ingest adds (not the message's attributes: a republish drops them)."""


@dataclass(frozen=True)
class RawSqsRecord:
    """One message ready for the shared decoding and mapping."""

    source: str
    topic: str
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp_ms: int
    dedup_key: str
    message_id: str


def _ms(text: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", "surrogatepass")


def _sns_attributes(attrs: Any) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    headers, types = [], {}
    if isinstance(attrs, dict):
        for name, spec in attrs.items():
            spec = spec if isinstance(spec, dict) else {"Type": "String", "Value": spec}
            kind, value = str(spec.get("Type", "String")), spec.get("Value", "")
            value = value if isinstance(value, str) else json.dumps(value)
            headers.append((str(name), _b64(value) if kind.startswith("Binary")
                            else value.encode("utf-8", "surrogatepass")))
            types[str(name)] = kind
    return headers, types


def _sqs_attributes(attrs: dict[str, dict[str, Any]]) -> tuple[list[tuple[str, bytes]],
                                                                  dict[str, str]]:
    headers, types = [], {}
    for name, spec in attrs.items():
        kind = str(spec.get("DataType", "String"))
        if "BinaryValue" in spec:
            raw = spec["BinaryValue"]
            value = raw if isinstance(raw, bytes) else _b64(str(raw))
        else:
            value = str(spec.get("StringValue", "")).encode("utf-8", "surrogatepass")
        headers.append((name, value))
        types[name] = kind
    return headers, types


def sns_envelope(body: str) -> dict[str, Any] | None:
    """The SNS notification envelope in `body`, or None when it is none."""
    if not body.startswith("{"):
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and \
            isinstance(doc.get("TopicArn"), str) and isinstance(doc.get("Message"), str) and \
            isinstance(doc.get("MessageId"), str):
        return doc
    return None


def to_record(message: SqsMessage, queue_url: str, *, now_ms: int) -> RawSqsRecord:
    """The raw record of one received message (see the module)."""
    attrs = message.attributes
    group = attrs.get("MessageGroupId")
    key = group.encode() if group else None
    sequence = attrs.get("SequenceNumber")
    envelope = sns_envelope(message.body)
    if envelope is not None:
        headers, types = _sns_attributes(envelope.get("MessageAttributes"))
        ids = [("x-sns-message-id", envelope["MessageId"]), ("x-sns-topic-arn",
                                                              envelope["TopicArn"])]
        if isinstance(envelope.get("Subject"), str):
            ids.append(("x-sns-subject", envelope["Subject"]))
        ids.append(("x-sqs-message-id", message.message_id))
        headers += [(TYPES_HEADER, json.dumps(types).encode())] if types else []
        headers += [(k, v.encode("utf-8", "surrogatepass")) for k, v in ids]
        ts = _ms(envelope.get("Timestamp"))
        return RawSqsRecord(
            "sns", envelope["TopicArn"].rsplit(":", 1)[-1], key,
            envelope["Message"].encode("utf-8", "surrogatepass"), headers,
            ts if ts is not None else now_ms,
            f"seq:{sequence}" if sequence else f"sns:{envelope['MessageId']}",
            message.message_id)
    headers, types = _sqs_attributes(message.message_attributes)
    headers += [(TYPES_HEADER, json.dumps(types).encode())] if types else []
    headers.append(("x-sqs-message-id", message.message_id.encode()))
    sent = attrs.get("SentTimestamp")
    return RawSqsRecord(
        "sqs", queue_name(queue_url), key, message.body.encode("utf-8", "surrogatepass"),
        headers, int(sent) if sent and sent.isdigit() else now_ms,
        f"seq:{sequence}" if sequence else f"sqs:{message.message_id}", message.message_id)
