"""Explore's filters as bound SQL, pure: `build_where` returns `(clauses, params)` and never
puts a value into the SQL text; tests assert its exact SQL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventlab.errors import EventLabError
from eventlab.explore.duplicates import DUPLICATED_IDS_SQL
from eventlab.explore.search import text_clause
from eventlab.store.order import END, START, follows_clause
from eventlab.store.schema import CAUSATION_KEYS, CORRELATION_KEYS, metadata_text
from eventlab.store.sql import prefix_upper_bound
from eventlab.timeutil import parse_utc

JSON_OPS = ("=", "!=", "<", "<=", ">", ">=", "contains", "exists", "missing")
UNARY_OPS = ("exists", "missing")
"""JSON-path operators that need no value; the others apply only once a value is typed."""
_PATH_RE = re.compile(r"^\$(\.[A-Za-z_][\w-]*|\.\"[^\"]+\"|\[\d+\])+$")


class FilterError(EventLabError):
    """A filter value cannot be used (bad JSON path, unknown operator)."""


PARAMS: dict[str, str] = {
    "start": "from", "end": "to", "event_types": "types", "entity_type": "etype",
    "entity_prefix": "entity", "text": "text", "json_path": "jpath", "json_op": "jop",
    "json_value": "jval", "event_id": "event_id", "key": "key", "duplicates_only": "dup",
    "correlation_id": "correlation", "causation_id": "causation", "follows": "follows"}
"""Explore's URL query parameter of each Filters field: the widgets' keys, `from_params`
and `Filters.to_params` all read this one table."""
ALL_TYPES = "(all)"
"""The entity type box's 'no filter' choice (also accepted in a link)."""
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def link_problems(params: Mapping[str, Any], event_types: list[str] | tuple[str, ...],
                  entity_types: list[str] | tuple[str, ...]) -> list[str]:
    """What in Explore's link parameters the page cannot use, each naming its parameter
    (`types=NoSuchType: no such event type`); the page says so instead of dropping it."""
    def every(field: str) -> list[str]:
        value = params.get(PARAMS[field])
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]

    out = [f"{PARAMS['event_types']}={t}: no such event type"
           for t in every("event_types") if t and t not in event_types]
    out += [f"{PARAMS['entity_type']}={t}: no such entity type"
            for t in every("entity_type")[-1:] if t and t not in (ALL_TYPES, *entity_types)]
    out += [f"{PARAMS['json_op']}={op}: not an operator (one of {', '.join(JSON_OPS)})"
            for op in every("json_op")[-1:] if op and op not in JSON_OPS]
    return out


def parse_bool(name: str, raw: str) -> bool:
    """A yes/no link value: 1/0, true/false (yes/no, on/off); FilterError naming the
    parameter otherwise."""
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE or value == "":
        return False
    raise FilterError(f"{name}={raw}: not a yes/no value (use 1, 0, true or false)")


@dataclass(frozen=True)
class Filters:
    """What the user filters the events by. Empty values mean 'no filter'."""

    start: datetime | None = None
    end: datetime | None = None
    event_types: tuple[str, ...] = ()
    entity_type: str | None = None
    entity_prefix: str | None = None
    text: str | None = None
    json_path: str | None = None
    json_op: str = "="
    json_value: str | None = None
    event_id: str | None = None
    key: str | None = None
    duplicates_only: bool = False
    correlation_id: str | None = None
    causation_id: str | None = None
    follows: tuple[str, str] | None = None

    def to_params(self) -> dict[str, str | list[str]]:
        """Explore's URL query parameters for these filters: the inverse of `from_params`
        (empty filters are left out; event types repeat as a list)."""
        out: dict[str, str | list[str]] = {}
        for name, param in PARAMS.items():
            value = getattr(self, name)
            if name == "json_op":
                if value != "=":
                    out[param] = value
            elif name == "duplicates_only":
                if value:
                    out[param] = "true"
            elif name == "event_types":
                if value:
                    out[param] = list(value)
            elif name == "follows":
                if value:
                    out[param] = f"{value[0]}>{value[1]}"
            elif isinstance(value, datetime):
                out[param] = value.isoformat()
            elif value not in (None, ""):
                out[param] = value
        return out

    def json_complete(self) -> bool:
        """True when the JSON-path predicate is whole (a path, and a value unless unary)."""
        return bool(self.json_path) and (self.json_op in UNARY_OPS
                                         or self.json_value not in (None, ""))


def parse_follows(text: str | None) -> tuple[str, str] | None:
    """`A>B` (A directly followed by B), `^>A` (first events) or `A>$` (last events)."""
    if not text:
        return None
    a, sep, b = text.partition(">")
    if not sep or not a.strip() or not b.strip() or (a.strip() == START and b.strip() == END):
        raise FilterError(f"transition {text!r} is not understood: use A>B, ^>A or A>$")
    return a.strip(), b.strip()


def normalize_path(path: str) -> str:
    """Accept `a.b`, `$.a.b` or `$.a[0]`; return the `$` form or raise FilterError."""
    p = path.strip()
    if not p.startswith("$"):
        p = "$." + p
    if not _PATH_RE.match(p):
        raise FilterError(f"JSON path {path!r} is not understood: use a.b, $.a.b or $.items[0]")
    return p


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def scope_where(f: Filters) -> tuple[list[str], list[Any]]:
    """The clauses of the time range and entity type: the events whose streams Flow pairs
    (`flow.scope`), and so the stream a `follows` filter pairs within."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.start is not None:
        clauses.append("ts >= ?")
        params.append(f.start)
    if f.end is not None:
        clauses.append("ts <= ?")
        params.append(f.end)
    if f.entity_type:
        clauses.append("entity_type = ?")
        params.append(f.entity_type)
    return clauses, params


def build_where(f: Filters) -> tuple[list[str], list[Any]]:
    """Filters to WHERE clauses with bound parameters (no value is ever put in the SQL)."""
    clauses, params = scope_where(f)
    if f.follows:  # Flow's pairing (store.order), within the same range and entity type
        follows, types = follows_clause(f.follows, where_sql(clauses))
        clauses, params = [*clauses, follows], [*params, *params, *types]
    if f.event_types:
        clauses.append("list_contains(?, event_type)")
        params.append(list(f.event_types))
    if f.entity_prefix:
        clauses.append("entity_id >= ? AND entity_id < ?")
        params += [f.entity_prefix, prefix_upper_bound(f.entity_prefix)]
    if f.text:
        clause, param = text_clause(f.text)
        clauses.append(clause)
        params.append(param)
    if f.event_id:
        clauses.append("event_id = ?")
        params.append(f.event_id)
    if f.key:
        clauses.append("key = encode(?)")
        params.append(f.key)
    if f.duplicates_only:
        clauses.append(f"event_id IN ({DUPLICATED_IDS_SQL})")
    if f.correlation_id:
        clauses.append(f"{metadata_text(CORRELATION_KEYS)} = ?")
        params.append(f.correlation_id)
    if f.causation_id:
        clauses.append(f"{metadata_text(CAUSATION_KEYS)} = ?")
        params.append(f.causation_id)
    if f.json_path:
        normalize_path(f.json_path)  # a bad path is said at once, before a value is typed
    if f.json_path and f.json_complete():
        path = normalize_path(f.json_path)
        op = f.json_op
        if op not in JSON_OPS:
            raise FilterError(f"operator {op!r} is not one of {', '.join(JSON_OPS)}")
        if op == "exists":
            clauses.append("json_exists(payload, ?)")
            params.append(path)
        elif op == "missing":
            clauses.append("NOT coalesce(json_exists(payload, ?), false)")
            params.append(path)
        elif op == "contains":
            clauses.append("contains(lower(json_extract_string(payload, ?)), ?)")
            params += [path, (f.json_value or "").lower()]
        else:
            value = f.json_value or ""
            num = _number(value)
            if num is not None and op != "=" and op != "!=":
                clauses.append(f"TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) {op} ?")
                params += [path, num]
            elif num is not None:
                # Equal as text or as a number ("120" matches 120 and 120.0); != is its
                # negation, and a missing field matches neither.
                equal = ("(json_extract_string(payload, ?) = ? OR "
                         "TRY_CAST(json_extract_string(payload, ?) AS DOUBLE) = ?)")
                if op == "!=":
                    equal = ("NOT (json_extract_string(payload, ?) = ? OR coalesce(TRY_CAST("
                             "json_extract_string(payload, ?) AS DOUBLE) = ?, false))")
                clauses.append(equal)
                params += [path, value, path, num]
            else:
                clauses.append(f"json_extract_string(payload, ?) {op} ?")
                params += [path, value]
    return clauses, params


def where_sql(clauses: list[str]) -> str:
    """` WHERE a AND b` for the clauses of `build_where`; empty when there are none."""
    return (" WHERE " + " AND ".join(clauses)) if clauses else ""


def from_params(params: Mapping[str, Any]) -> Filters:
    """Explore's URL query parameters as Filters: what a saved link means, without the page.

    Values are strings or lists of strings (a query string parsed with `parse_qs`; the event
    types repeat: `types=A&types=B`). Unknown parameters are ignored; a value that cannot be
    used raises FilterError naming its parameter."""
    def every(field: str) -> list[str]:
        value = params.get(PARAMS[field])
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]

    def text(field: str) -> str | None:
        values = every(field)
        return (values[-1].strip() or None) if values else None

    def when(field: str) -> datetime | None:
        raw = text(field)
        if raw is None:
            return None
        try:
            return parse_utc(raw)
        except ValueError:
            raise FilterError(f"{PARAMS[field]}={raw!r} is not a time (ISO 8601, UTC)") from None

    etype = text("entity_type")
    dup = text("duplicates_only")
    return Filters(start=when("start"), end=when("end"), event_types=tuple(every("event_types")),
                   entity_type=None if etype in (None, ALL_TYPES) else etype,
                   entity_prefix=text("entity_prefix"), text=text("text"),
                   json_path=text("json_path"), json_op=text("json_op") or "=",
                   json_value=text("json_value"), event_id=text("event_id"), key=text("key"),
                   duplicates_only=parse_bool(PARAMS["duplicates_only"], dup or ""),
                   correlation_id=text("correlation_id"), causation_id=text("causation_id"),
                   follows=parse_follows(text("follows")))
