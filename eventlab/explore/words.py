"""Explore's filters in words, for people (Republish's selection line, captions): what a set
of events is, without the SQL and its `?` placeholders."""

from __future__ import annotations

from eventlab.explore.filters import END, START, UNARY_OPS, Filters
from eventlab.timeutil import format_utc


def filters_words(f: Filters) -> str:
    """The filters as one line ("event types OrderPlaced, OrderPaid · entity id starting
    with order-1 · from 2026-05-01 09:00:00 UTC"); "every event" when none is set."""
    parts: list[str] = []
    if f.event_types:
        parts.append(("event type " if len(f.event_types) == 1 else "event types ")
                     + ", ".join(f.event_types))
    if f.entity_type:
        parts.append(f"entity type {f.entity_type}")
    if f.entity_prefix:
        parts.append(f"entity id starting with {f.entity_prefix}")
    if f.start is not None:
        parts.append(f"from {format_utc(f.start)}")
    if f.end is not None:
        parts.append(f"to {format_utc(f.end)}")
    if f.text:
        parts.append(f"payload containing {f.text!r}")
    if f.json_complete():
        value = "" if f.json_op in UNARY_OPS else f" {f.json_value}"
        parts.append(f"payload {f.json_path} {f.json_op}{value}")
    if f.event_id:
        parts.append(f"event id {f.event_id}")
    if f.key:
        parts.append(f"Kafka key {f.key}")
    if f.duplicates_only:
        parts.append("only duplicated event ids")
    if f.correlation_id:
        parts.append(f"correlation id {f.correlation_id}")
    if f.causation_id:
        parts.append(f"caused by {f.causation_id}")
    if f.follows:
        ends = {START: "start", END: "end"}
        a, b = (ends.get(t, t) for t in f.follows)
        parts.append(f"transition {a} → {b}")
    return " · ".join(parts) or "every event"
