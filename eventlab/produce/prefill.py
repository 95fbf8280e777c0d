"""Drafts prefilled from the store: a stored event ("edit and send a corrected copy") or an
event type's latest example. Bytes that are UTF-8 become text (JSON when they parse), others
hex; EventLab's own provenance headers are left out (the new message gets its own).

An event read from a RabbitMQ stream prefills a stream draft: its stored property headers
(`message-id`, `correlation-id`, `content-type`, `x-basic-type`) become the draft's
properties, its application properties the headers, and the broker's other properties and
annotations (`x-exchange`, `x-routing-key`, ...) are left out (the broker sets them)."""

from __future__ import annotations

import json
from typing import Any

from eventlab.errors import EventLabError
from eventlab.produce.plan import RABBIT_PROPERTY_HEADERS, Draft
from eventlab.republish.plan import KAFKA, RABBITMQ_STREAM
from eventlab.store import db

_SELECT = ('SELECT event_id, topic, "partition", "offset", key, value, headers, '
           "CAST(payload AS VARCHAR), is_delete, source FROM events")
_PROPERTY_OF = {h: p for p, h in RABBIT_PROPERTY_HEADERS.items() if p != "timestamp"}
_BROKER_SET = {"message-id", "user-id", "to", "subject", "reply-to", "correlation-id",
               "content-type", "content-encoding", "absolute-expiry-time", "creation-time",
               "group-id", "group-sequence", "reply-to-group-id", "x-exchange", "x-routing-key"}
"""Stored RabbitMQ headers that are properties or annotations, not application properties
(`rabbitmq/records.py`)."""


def _text(b: bytes | None, *, as_json: bool) -> tuple[str | None, str]:
    if b is None:
        return None, "none"
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return b.hex(), "hex"
    if as_json:
        try:
            json.loads(text)
        except ValueError:
            return text, "text"
        return text, "json"
    return text, "text"


def _rabbit(headers: list[tuple[str, bytes | None]]
            ) -> tuple[list[tuple[str, bytes | None]], tuple[tuple[str, str], ...]]:
    """(application properties, properties) of a stored RabbitMQ record."""
    props = []
    kept = []
    for k, v in headers:
        if k in _PROPERTY_OF and v is not None:
            props.append((_PROPERTY_OF[k], v.decode("utf-8", "replace")))
        elif k not in _BROKER_SET and not k.startswith("x-basic-"):
            kept.append((k, v))
    return kept, tuple(props)


def _draft(row: tuple, copy: bool) -> Draft:
    event_id, topic, partition, offset, key, value, headers, payload, is_delete, source = row
    if value is None and not is_delete and payload is not None:
        value_text, value_fmt = payload, "json"  # loaded from a file: no raw bytes
    else:
        value_text, value_fmt = _text(value, as_json=True)
    key_text, key_fmt = _text(key, as_json=False)
    kept = [(h["key"], h["value"]) for h in headers or [] if not h["key"].startswith("eventlab-")]
    rabbit = source == "rabbitmq"
    props: tuple[tuple[str, str], ...] = ()
    if rabbit:
        kept, props = _rabbit(kept)
        key_text, key_fmt = None, "none"
    hex_headers = any(_text(v, as_json=False)[1] == "hex" for _, v in kept)
    shown = tuple((k, (v or b"").hex() if hex_headers else (v or b"").decode("utf-8"))
                  for k, v in kept)
    original: dict[str, Any] | None = ({"event_id": event_id, "topic": topic,
                                        "partition": partition, "offset": offset}
                                       if copy else None)
    return Draft(topic=topic or "", value=value_text, value_format=value_fmt, key=key_text,
                 key_format=key_fmt, headers=shown, header_format="hex" if hex_headers else
                 "text", original=original,
                 reason=f"corrected copy of {event_id}" if copy else "",
                 target_kind=RABBITMQ_STREAM if rabbit else KAFKA, properties=props)


def from_event(cur: db.Connection, event_id: str) -> Draft:
    """A corrected copy of a stored event: its topic, key, value and headers."""
    rows = db.rows(cur, f"{_SELECT} WHERE event_id = ? ORDER BY ingested_at DESC LIMIT 1",
                   [event_id])
    if not rows:
        raise EventLabError(f"no stored event with id {event_id}")
    return _draft(rows[0], copy=True)


def latest_example(cur: db.Connection, event_type: str) -> Draft:
    """The newest stored event of `event_type` as a template (not a copy of it)."""
    rows = db.rows(cur, f"{_SELECT} WHERE event_type = ? ORDER BY ts DESC NULLS LAST, "
                        "ingested_at DESC LIMIT 1", [event_type])
    if not rows:
        raise EventLabError(f"no stored event of type {event_type}")
    return _draft(rows[0], copy=False)
