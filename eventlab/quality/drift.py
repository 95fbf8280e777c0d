"""Schema drift, pure: from the payload structures seen per (event type, version), which fields
appear, disappear or change JSON type between versions, with first and last seen times."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Seen:
    """One payload structure of an event type and version: `json_structure` text, its count
    and the first and last event time it was seen."""

    event_type: str
    version: int | None
    structure: str | None
    count: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class FieldUse:
    """A top-level payload field of one event type and version."""

    event_type: str
    version: int | None
    field: str
    json_types: tuple[str, ...]
    events: int
    first: datetime | None
    last: datetime | None


@dataclass(frozen=True)
class Drift:
    """A change of a field between two versions of an event type, or two JSON types in one."""

    event_type: str
    field: str
    change: str  # "appears", "disappears" or "changes type"
    from_version: int | None
    to_version: int | None
    detail: str


_JSON_TYPES = {"VARCHAR": "string", "UBIGINT": "number", "BIGINT": "number",
               "HUGEINT": "number", "UHUGEINT": "number", "DOUBLE": "number",
               "BOOLEAN": "boolean", "OBJECT": "object", "ARRAY": "array", "NULL": "NULL"}


def _type_name(value: Any) -> str:
    """A JSON type (string, number, boolean, object, array; NULL for null) from DuckDB's
    `json_type` / `json_structure` names: 10 and 10.5 are both numbers, not a type change."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return _JSON_TYPES.get(str(value).upper(), str(value).lower())


def field_uses(seen: Iterable[Seen]) -> list[FieldUse]:
    """Per (type, version, field): the JSON types, events, first and last seen."""
    acc: dict[tuple[str, int | None, str], dict[str, Any]] = {}
    for s in seen:
        try:
            doc = json.loads(s.structure) if s.structure else {}
        except ValueError:
            doc = {}
        if not isinstance(doc, dict):
            continue
        for name, kind in doc.items():
            a = acc.setdefault((s.event_type, s.version, name),
                               {"types": set(), "events": 0, "first": None, "last": None})
            if _type_name(kind) != "NULL":
                a["types"].add(_type_name(kind))
            a["events"] += s.count
            if s.first and (a["first"] is None or s.first < a["first"]):
                a["first"] = s.first
            if s.last and (a["last"] is None or s.last > a["last"]):
                a["last"] = s.last
    return [FieldUse(t, v, f, tuple(sorted(a["types"])) or ("NULL",), a["events"], a["first"],
                     a["last"])
            for (t, v, f), a in sorted(acc.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0,
                                                                      kv[0][2]))]


def drifts(uses: list[FieldUse]) -> list[Drift]:
    """Fields that appear or disappear from one version of a type to the next, and fields
    whose JSON type differs (between versions, or within one version)."""
    by_type: dict[str, dict[int | None, dict[str, FieldUse]]] = {}
    for u in uses:
        by_type.setdefault(u.event_type, {}).setdefault(u.version, {})[u.field] = u
    out: list[Drift] = []
    for etype, versions in sorted(by_type.items()):
        order = sorted(versions, key=lambda v: (v is None, v or 0))
        for v in order:
            for name, u in sorted(versions[v].items()):
                if len(u.json_types) > 1:
                    out.append(Drift(etype, name, "changes type", v, v,
                                     f"{' or '.join(u.json_types)} within version {v}"))
        for old, new in zip(order, order[1:], strict=False):
            a, b = versions[old], versions[new]
            for name in sorted(set(b) - set(a)):
                out.append(Drift(etype, name, "appears", old, new,
                                 f"in version {new} (first seen {_when(b[name].first)})"))
            for name in sorted(set(a) - set(b)):
                out.append(Drift(etype, name, "disappears", old, new,
                                 f"after version {old} (last seen {_when(a[name].last)})"))
            for name in sorted(set(a) & set(b)):
                ta, tb = set(a[name].json_types) - {"NULL"}, set(b[name].json_types) - {"NULL"}
                if ta and tb and ta != tb:
                    out.append(Drift(etype, name, "changes type", old, new,
                                     f"{'/'.join(sorted(ta))} -> {'/'.join(sorted(tb))}"))
    return out


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "never"
