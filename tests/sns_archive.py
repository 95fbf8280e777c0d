"""Builders of Firehose-style S3 archives on disk (folders YYYY/MM/DD/HH/, objects with no
extension or .gz, JSON objects back to back), as real bytes in a test's tmp_path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:orders"


def inner_event(i: int, **extra: Any) -> dict[str, Any]:
    """An envelope-preset event, as a producer publishes it to SNS."""
    return {"id": f"e-{i}", "type": "OrderPlaced", "aggregateId": f"order-{i % 3}",
            "timestamp": f"2026-11-01T09:00:{i:02d}Z", "version": i // 3 + 1,
            "data": {"n": i}, **extra}


def notification(i: int, message: dict[str, Any] | str, **extra: Any) -> dict[str, Any]:
    """An SNS notification as a subscribed queue (and Firehose) gets it."""
    return {"Type": "Notification", "MessageId": f"m-{i}", "TopicArn": TOPIC_ARN,
            "Subject": f"order {i}",
            "Message": message if isinstance(message, str) else json.dumps(message),
            "Timestamp": f"2026-11-01T10:00:{i:02d}.250Z", "SignatureVersion": "1",
            "Signature": "c2ln", "SigningCertURL": "https://sns.example/cert.pem",
            "UnsubscribeURL": "https://sns.example/unsub",
            "MessageAttributes": {"kind": {"Type": "String", "Value": "order"},
                                  "priority": {"Type": "Number", "Value": "5"},
                                  "blob": {"Type": "Binary", "Value": "AAEC"}}, **extra}


def concatenated(docs: list[dict[str, Any]]) -> bytes:
    """Objects back to back, no delimiter (Firehose without a delimiter processor)."""
    return "".join(json.dumps(d) for d in docs).encode()


def write_object(root: Path, hour: str, name: str, docs: list[dict[str, Any]],
                 zipped: bool = False) -> Path:
    """One archive object under root/YYYY/MM/DD/HH/ (`hour` like "2026/11/01/10")."""
    path = root / hour / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = concatenated(docs)
    path.write_bytes(gzip.compress(data) if zipped else data)
    return path
