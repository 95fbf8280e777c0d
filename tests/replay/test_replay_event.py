"""`Event`: attribute and mapping access, replace, and building from store rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from replay_support import T0, make_event

from eventlab.errors import ReducerError
from eventlab.replay.event import FIELDS, Event
from eventlab.replay.jsontext import Unreadable


def row(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "e-1", "entity_type": "order", "entity_id": "o-1",
        "event_type": "OrderPlaced", "event_version": 1, "seq": 3, "ts": T0,
        "payload": '{"total": 12.5, "items": [1, 2]}', "metadata": '{"actor": "ann"}',
        "is_delete": False, "kafka_ts": None, "offset": 41, "topic": "orders",
    }
    base.update(changes)
    return base


def test_fields_read_as_attributes_and_as_mapping_keys() -> None:
    ev = make_event(1, "OrderPlaced", {"total": 3}, metadata={"actor": "ann"})
    assert ev.payload == ev["payload"] == {"total": 3}
    assert ev.get("metadata") == {"actor": "ann"}
    assert ev.get("nope", "default") == "default"
    assert "payload" in ev and "nope" not in ev
    assert list(ev.keys()) == list(FIELDS) and len(ev) == len(FIELDS)
    assert dict(ev) == ev.as_dict()
    with pytest.raises(KeyError):
        ev["nope"]


def test_event_is_frozen_and_replace_makes_a_copy() -> None:
    ev = make_event(1, "OrderPlaced", {"amount": 3}, event_version=1)
    upgraded = ev.replace(payload={"total": 3}, event_version=2)
    assert (ev.payload, ev.event_version) == ({"amount": 3}, 1)
    assert (upgraded.payload, upgraded.event_version, upgraded.seq) == ({"total": 3}, 2, 1)
    with pytest.raises(AttributeError):
        ev.seq = 5  # type: ignore[misc]
    assert hash(ev) == hash(make_event(1, "OrderPlaced", {"other": 1}, event_version=1))
    assert ev == make_event(1, "OrderPlaced", {"amount": 3}, event_version=1)
    assert ev != upgraded


def test_from_row_parses_json_text_and_keeps_parsed_values() -> None:
    ev = Event.from_row(row())
    assert ev.payload == {"total": 12.5, "items": [1, 2]}
    assert ev.metadata == {"actor": "ann"}
    assert (ev.event_version, ev.seq, ev.offset, ev.is_delete) == (1, 3, 41, False)
    parsed = Event.from_row(row(payload={"a": 1}, metadata=None))
    assert parsed.payload == {"a": 1} and parsed.metadata is None
    as_bytes = Event.from_row(row(payload=orjson.dumps([1, "x"])))
    assert as_bytes.payload == [1, "x"]


def test_from_row_normalises_times_and_missing_values() -> None:
    plus2 = timezone(timedelta(hours=2))
    ev = Event.from_row(row(
        ts="2024-03-01T14:00:00+02:00", kafka_ts=datetime(2024, 3, 1, 12, 0, 5),
        event_version=float("nan"), payload=None, is_delete=True,
    ))
    assert ev.ts == T0 and ev.ts.tzinfo == UTC
    assert ev.kafka_ts == datetime(2024, 3, 1, 12, 0, 5, tzinfo=UTC)
    assert ev.event_version is None and ev.payload is None and ev.is_delete is True
    assert Event.from_row(row(ts=datetime(2024, 3, 1, 14, tzinfo=plus2))).ts == T0
    assert Event.from_row(row(is_delete=None, offset=None)).is_delete is False


def test_from_row_errors_name_the_problem() -> None:
    with pytest.raises(ReducerError, match="missing event_type, seq"):
        Event.from_row(row(event_type=None, seq=None))
    unreadable = Event.from_row(row(payload="{not json"))  # kept; the fold names it
    assert isinstance(unreadable.payload, Unreadable) and "not JSON" in unreadable.payload.reason
    with pytest.raises(ReducerError, match="event e-1"):
        Event.from_row(row(ts=12345))
