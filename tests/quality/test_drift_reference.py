"""Schema drift's field table against an independent reference in Python: payloads with
nested values, nulls, numbers of both kinds, odd keys, a repeated key and non-object
payloads (arrays, scalars, JSON null), over several types and versions. The empty key is
a field too (a path for it, `$.""`, is an error in DuckDB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from event_rows import add_events, event

from eventlab.quality import drift
from eventlab.quality.checks import _payload_fields
from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PAYLOADS: list[tuple[str, int | None, str | None]] = [
    ("Placed", 1, '{"id": "a", "total": 10, "items": [1]}'),
    ("Placed", 1, '{"id": "b", "total": 10.5, "note": null}'),
    ("Placed", 2, '{"id": 7, "total_amount": 3, "addr": {"city": "x"}}'),
    ("Placed", 2, '{"a": 1, "a": "one", "q\\"k": true, "back\\\\slash": false}'),
    ("Placed", None, '{"id": "c"}'),
    ("Paid", 1, '[1, {"id": 2}]'),
    ("Paid", 1, '"text"'),
    ("Paid", 1, "null"),
    ("Paid", 1, None),
    ("Paid", 1, "{}"),
    ("Paid", 3, '{"amount": -1, "ok": true, "": 0}'),
]


class _Object(list):
    """A JSON object as its (key, value) pairs, repeated keys kept."""


def _kind(value: object) -> str:
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array"}.get(type(value), "NULL")


def _reference() -> list[drift.FieldUse]:
    acc: dict[tuple, dict] = {}
    for i, (etype, version, text) in enumerate(PAYLOADS):
        pairs = json.loads(text, object_pairs_hook=_Object) if text else None
        if not isinstance(pairs, _Object):
            continue  # not an object: no fields
        first: dict[str, object] = {}
        for key, value in pairs:
            first.setdefault(key, value)  # a repeated key: its first value
        for key, value in first.items():
            a = acc.setdefault((etype, version, key), {"types": set(), "events": 0, "ts": []})
            if _kind(value) != "NULL":
                a["types"].add(_kind(value))
            a["events"] += 1
            a["ts"].append(T0 + timedelta(minutes=i))
    return [drift.FieldUse(t, v, f, tuple(sorted(a["types"])) or ("NULL",), a["events"],
                           min(a["ts"]), max(a["ts"]))
            for (t, v, f), a in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0,
                                                                      kv[0][2]))]


def test_field_table_matches_a_reference(store: EventStore) -> None:
    add_events(store, [
        event(event_id=f"e{i}", entity_id=f"o{i}", event_type=etype, event_version=version,
              seq=1, ts=T0 + timedelta(minutes=i), payload=text)
        for i, (etype, version, text) in enumerate(PAYLOADS)])
    with store.reading() as cur:
        got = drift.field_uses(_payload_fields(cur))
    assert got == _reference()
