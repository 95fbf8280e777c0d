"""Turn a resolved Mapping plus input column types into DuckDB SQL. Pure: strings and params.

The input relation has the source's columns plus `__source` (file path or 'kafka') and `__row`
(row number or offset). `mapped_select` yields one row per input row with the canonical
columns (some still raw: `event_id_src`, `entity_type_src`, `seq_src`) and `__reason`, which
is NULL for a good row and names the problem for a row that belongs in the quarantine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from eventlab.ingest.mapping import HEADER_PREFIX, FieldRef, Mapping
from eventlab.store.schema import FILE_COLUMNS
from eventlab.store.sql import quote_ident, quote_literal

CE_PREFIXES = ("ce_", "cloudEvents_", "cloudEvents:")
"""Header prefixes of CloudEvents binary mode: Kafka's `ce_`, and the AMQP binding's
`cloudEvents_` (and `cloudEvents:`) application properties (RabbitMQ streams)."""

_TS_TZ = {"TIMESTAMP WITH TIME ZONE"}
_TS_NAIVE = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE",
             "TIMESTAMP WITHOUT TIME ZONE"}
_NUMERIC = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE"}
# A zone counts only after a time of day: the `-05` of `2024-03-05` is the day, not a zone.
_ZONE_SUFFIX = r"\d:\d\d(:\d\d(\.\d+)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$"
_EPOCH_DIGITS = r"-?\d{9,}(\.\d+)?"


@dataclass
class Sql:
    """A SQL fragment with its bound parameters, in textual order."""

    text: str
    params: list[Any] = field(default_factory=list)


def _base_type(t: str) -> str:
    return t.split("(")[0].strip().upper()


def _is_nested(t: str) -> bool:
    u = t.upper()
    return u.startswith(("STRUCT", "MAP")) or u.endswith("]")


def _json_of(col: str, ctype: str) -> str:
    """The column as a JSON value (for path lookups)."""
    q = quote_ident(col)
    base = _base_type(ctype)
    if base == "JSON":
        return q
    if base == "VARCHAR":
        return f"TRY_CAST({q} AS JSON)"
    return f"to_json({q})"


def text_expr(ref: FieldRef, types: dict[str, str]) -> Sql:
    """The field as VARCHAR (NULL when absent)."""
    if ref.column is None:
        return Sql("CAST(? AS VARCHAR)", [None if ref.literal is None else str(ref.literal)])
    ctype = types[ref.column]
    q = quote_ident(ref.column)
    if ref.path:
        return Sql(f"json_extract_string({_json_of(ref.column, ctype)}, ?)", [ref.path])
    if _base_type(ctype) == "JSON":
        return Sql(f"json_extract_string({q}, '$')")
    if _base_type(ctype) == "BLOB":
        return Sql(f"TRY(decode({q}))")
    if _is_nested(ctype):
        return Sql(f"CAST(to_json({q}) AS VARCHAR)")
    return Sql(f"CAST({q} AS VARCHAR)")


def _typed_int(ref: FieldRef, types: dict[str, str], sqltype: str) -> Sql | None:
    """An integer column read as an integer (INTEGER, BIGINT) without the round trip
    through text: the same value, NULL where it does not fit either way. None otherwise
    (text, floats, booleans keep `TRY_CAST` of the text)."""
    if sqltype not in ("INTEGER", "BIGINT") or ref.column is None or ref.path:
        return None
    return Sql(quote_ident(ref.column)) if types[ref.column].upper() in _INTEGERS else None


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
             "UINTEGER", "UBIGINT", "UHUGEINT"}


def json_expr(ref: FieldRef, types: dict[str, str]) -> Sql:
    """The field as a JSON value: JSON text in a string column stays JSON, other text is
    kept as a JSON string, nested columns render as JSON."""
    if ref.column is None:
        return Sql("to_json(?)", [ref.literal])
    ctype = types[ref.column]
    q = quote_ident(ref.column)
    base = _base_type(ctype)
    if ref.path:
        return Sql(f"json_extract({_json_of(ref.column, ctype)}, ?)", [ref.path])
    if base == "JSON":
        return Sql(q)
    if base == "VARCHAR":
        return Sql(f"coalesce(TRY_CAST({q} AS JSON), to_json({q}))")
    if base == "BLOB":
        return Sql(f"to_json(base64({q}))")
    return Sql(f"to_json({q})")


def ts_exprs(ref: FieldRef, types: dict[str, str]) -> tuple[Sql, Sql, Sql]:
    """(ts as TIMESTAMPTZ, source present?, naive?) for the time field."""
    typed = _typed_ts(ref, types)
    if typed is not None:
        return typed
    return _text_ts(text_expr(ref, types))


def _text_ts(t: Sql) -> tuple[Sql, Sql, Sql]:
    """(ts, present, naive) of a time given as text `t`: epoch digits by magnitude, else ISO
    8601 with or without zone. The one definition of how text becomes a time."""
    p = t.params
    number = f"regexp_full_match(trim({t.text}), ?)"
    ts = Sql(f"CASE WHEN {number} THEN {_epoch(f'TRY_CAST({t.text} AS DOUBLE)')} "
             f"ELSE TRY_CAST({t.text} AS TIMESTAMPTZ) END",
             [*p, _EPOCH_DIGITS, *p, *p, *p, *p, *p, *p])
    present = Sql(f"nullif(trim({t.text}), '') IS NOT NULL", list(p))
    naive = Sql(f"coalesce(NOT {number} AND NOT regexp_matches(trim({t.text}), ?), false)",
                [*p, _EPOCH_DIGITS, *p, _ZONE_SUFFIX])
    return ts, present, naive


def staged_ts(ref: FieldRef, types: dict[str, str]) -> tuple[Sql, tuple[Sql, Sql, Sql]] | None:
    """A time field read as text, staged: (its text, computed once as the column
    `__ts_text` of an inner SELECT, and (ts, present, naive) over that column). None for a
    typed column (`ts_exprs` reads it directly)."""
    if _typed_ts(ref, types) is not None:
        return None
    return text_expr(ref, types), _text_ts(Sql(quote_ident("__ts_text")))


def _typed_ts(ref: FieldRef, types: dict[str, str]) -> tuple[Sql, Sql, Sql] | None:
    """(ts, present, naive) of a time, number or date column; None for text."""
    if ref.column is None or ref.path:
        return None
    ctype = types[ref.column]
    base = _base_type(ctype)
    q = quote_ident(ref.column)
    if ctype.upper() in _TS_TZ:
        return Sql(q), Sql(f"{q} IS NOT NULL"), Sql("false")
    if base in _TS_NAIVE or ctype.upper() in _TS_NAIVE:
        return Sql(f"CAST({q} AS TIMESTAMPTZ)"), Sql(f"{q} IS NOT NULL"), \
            Sql(f"{q} IS NOT NULL")
    if base in _NUMERIC:
        return Sql(_epoch(q)), Sql(f"{q} IS NOT NULL"), Sql("false")
    return None


def _epoch(x: str) -> str:
    """Seconds, milliseconds or microseconds since 1970 (by magnitude) as TIMESTAMPTZ."""
    return (f"CASE WHEN abs({x}) >= 1e15 THEN to_timestamp({x} / 1e6) "
            f"WHEN abs({x}) >= 1e11 THEN to_timestamp({x} / 1e3) "
            f"ELSE to_timestamp({x}) END")


def _json_key(column: str) -> str:
    """The key a column gets inside a JSON object: Kafka header columns lose their prefix
    (and CloudEvents' `ce_`, `cloudEvents_`, `cloudEvents:`)."""
    if column.startswith(HEADER_PREFIX):
        name = column[len(HEADER_PREFIX):]
        for prefix in CE_PREFIXES:
            if name.startswith(prefix):
                return name[len(prefix):]
        return name
    return column


def _struct_json(columns: tuple[str, ...]) -> Sql:
    if not columns:
        return Sql("CAST('{}' AS JSON)")
    parts = ", ".join(f"{quote_ident(_json_key(c))} := {quote_ident(c)}" for c in columns)
    return Sql(f"to_json(struct_pack({parts}))")


REST = "@rest"
"""The column holding a document without the keys its mapping reads: a flat payload."""


def doc_columns(mapping: Mapping) -> list[str]:
    """The document keys a mapping reads (fields and metadata; not the `@` pseudo columns)."""
    cols = {r.column for r in mapping.fields.values() if r.column}
    cols |= set(mapping.metadata_columns)
    return sorted(c for c in cols if not c.startswith("@"))


def rest_payload(mapping: Mapping) -> Mapping:
    """A flat mapping's payload as the document minus the keys it reads (`REST`), not one
    column per key seen: a key another document has is not added as null. Files (JSONL) and
    brokers share it; other mappings are returned as they are."""
    if not mapping.payload_columns or "payload" in mapping.fields:
        return mapping
    return replace(mapping, fields={**mapping.fields, "payload": FieldRef(column=REST)},
                   payload_columns=())


def rest_sql(text: str, valid: str, without: list[str]) -> str:
    """The `REST` column: the JSON object in `text` (when `valid`) without the keys `without`."""
    nulls = "{" + ", ".join(json.dumps(k) + ": null" for k in without) + "}"
    return (f"CASE WHEN {valid} THEN json_merge_patch({text}, {quote_literal(nulls)}) END "
            f"AS {quote_ident(REST)}")


def _describe(ref: FieldRef | None) -> str:
    if ref is None:
        return "not mapped"
    if ref.column is None:
        return "literal"
    return f"column {ref.column}" + (f" path {ref.path}" if ref.path else "")


def mapped_select(mapping: Mapping, types: dict[str, str], relation: str,
                  doc_mode: bool = False, *, relation_params: list[Any] | None = None,
                  tombstones: bool = False, passthrough: tuple[str, ...] = ()) -> Sql:
    """SELECT over `relation` producing canonical columns plus `__reason` for bad rows.

    `doc_mode`: the relation comes from JSON documents and has an `__invalid` flag for
    records that are not a JSON object. `tombstones`: it is a Kafka batch with a
    `__tombstone` flag (null value); such a record becomes a delete event of the entity named
    by its key (`@key`) at its record time (`@timestamp`). `passthrough` columns are kept.
    """
    f = mapping.fields
    cols: list[tuple[str, Sql]] = []

    def text_or_null(name: str) -> Sql:
        return text_expr(f[name], types) if name in f else Sql("CAST(NULL AS VARCHAR)")

    cols.append(("event_id_src", text_or_null("event_id")))
    cols.append(("entity_type_src", text_or_null("entity_type")))
    cols.append(("entity_id", text_or_null("entity_id")))
    cols.append(("event_type", text_or_null("event_type")))
    for name, sqltype, out in (("event_version", "INTEGER", "event_version"),
                               ("seq", "BIGINT", "seq_src"),
                               ("is_delete", "BOOLEAN", "is_delete_src")):
        if name in f:
            t = _typed_int(f[name], types, sqltype) or text_expr(f[name], types)
            cols.append((out, Sql(f"TRY_CAST({t.text} AS {sqltype})", t.params)))
        else:
            cols.append((out, Sql(f"CAST(NULL AS {sqltype})")))
    staged = staged_ts(f["ts"], types) if "ts" in f else None
    if staged is not None:  # the time's text is extracted once, then parsed
        stage, (ts, present, naive) = staged
        relation = f"(SELECT *, {stage.text} AS \"__ts_text\" FROM {relation})"
        relation_params = [*stage.params, *(relation_params or [])]
    elif "ts" in f:
        ts, present, naive = ts_exprs(f["ts"], types)
    else:
        ts, present, naive = (Sql("CAST(NULL AS TIMESTAMPTZ)"), Sql("false"), Sql("false"))
    cols += [("ts", ts), ("ts_present", present), ("ts_assumed_utc", naive)]
    if tombstones:
        cols = [(n, _tombstone_case(n, s)) for n, s in cols]
    payload = (json_expr(f["payload"], types) if "payload" in f
               else _struct_json(mapping.payload_columns))
    cols.append(("payload", payload))
    meta = json_expr(f["metadata"], types) if "metadata" in f else None
    extra = _struct_json(mapping.metadata_columns) if mapping.metadata_columns else None
    if meta and extra:
        meta = Sql(f"json_merge_patch(coalesce({meta.text}, CAST('{{}}' AS JSON)), "
                   f"{extra.text})", meta.params + extra.params)
    cols.append(("metadata", meta or extra or Sql("CAST(NULL AS JSON)")))
    inner_text = ", ".join(f"{s.text} AS {quote_ident(n)}" for n, s in cols)
    inner_params = [p for _, s in cols for p in s.params]
    flag = "__invalid" if doc_mode else "false AS __invalid"
    extra = "".join(f", {quote_ident(c)}" for c in passthrough)
    inner = (f"SELECT {inner_text}, {flag}, __source, __row{extra} FROM {relation}")
    inner_params += list(relation_params or [])
    reason = Sql(
        "CASE WHEN __invalid THEN 'invalid JSON' "
        "WHEN entity_id IS NULL OR entity_id = '' THEN 'missing entity_id' "
        "WHEN event_type IS NULL OR event_type = '' THEN 'missing event_type' "
        "WHEN NOT ts_present THEN 'missing time' "
        "WHEN ts IS NULL THEN 'unparsable time' END")
    detail = Sql(
        "CASE WHEN __invalid THEN 'not a JSON object' "
        "WHEN entity_id IS NULL OR entity_id = '' THEN ? "
        "WHEN event_type IS NULL OR event_type = '' THEN ? "
        "WHEN NOT ts_present THEN ? WHEN ts IS NULL THEN ? END",
        [f"no entity id ({_describe(f.get('entity_id'))} is empty)",
         f"no event type ({_describe(f.get('event_type'))} is empty)",
         f"no event time ({_describe(f.get('ts'))} is empty)",
         f"event time not understood ({_describe(f.get('ts'))})"])
    text = f"SELECT *, {reason.text} AS __reason, {detail.text} AS __detail FROM ({inner})"
    return Sql(text, reason.params + detail.params + inner_params)


_TOMBSTONE = {
    "entity_id": 'CASE WHEN __tombstone THEN "@key" ELSE {e} END',
    "event_type": "CASE WHEN __tombstone THEN '(tombstone)' ELSE {e} END",
    "ts": 'CASE WHEN __tombstone THEN "@timestamp" ELSE {e} END',
    "ts_present": "(__tombstone OR {e})",
    "ts_assumed_utc": "(NOT __tombstone AND {e})",
    "is_delete_src": "(__tombstone OR coalesce({e}, false))",
}


def _tombstone_case(name: str, expr: Sql) -> Sql:
    template = _TOMBSTONE.get(name)
    return Sql(template.replace("{e}", expr.text), expr.params) if template else expr


@dataclass(frozen=True)
class Position:
    """How a source names a mapped row's position (in `c`): the SQL text a derived event id
    hashes, and the order that breaks ties of time when seq is derived."""

    id_text: str
    order: str
    tombstones: bool = False
    """The rows carry `__tombstone` (a Kafka record with a null value: no payload)."""


FILE_POSITION = Position("c.__source || ':' || CAST(c.__row AS VARCHAR)", "c.__source, c.__row")
"""A file row: its path and row number."""


def record_position(id_prefix: str) -> Position:
    """A broker record: topic, partition and offset, after `id_prefix` (SQL text)."""
    return Position(f"{id_prefix} || c.topic || ':' || CAST(c.\"partition\" AS VARCHAR) || "
                    "':' || CAST(c.\"offset\" AS VARCHAR)",
                    'c.topic, c."partition", c."offset"', tombstones=True)


def seq_number(position: Position) -> str:
    """A mapped row's number within its entity in this batch, by time then position: what a
    derived seq adds to the entity's highest stored seq."""
    return f"row_number() OVER (PARTITION BY c.entity_id ORDER BY c.ts, {position.order})"


def event_exprs(position: Position, derive_seq: bool, join_existing: bool,
                numbered: str | None = None) -> list[str]:
    """The SQL of the canonical columns `event_id` .. `is_delete` (the first ten of
    `EVENT_COLUMNS`) from a mapped row `c`: the one definition files and brokers share.

    `derive_seq`: seq is computed per entity by time then position (`seq_number`), continuing
    after the entity's highest stored seq (`prev.max_seq`, joined when `join_existing`).
    `numbered`: a column holding `seq_number` computed beforehand over the same rows (a
    narrow subquery: the window then sorts a few columns, not whole rows with their bytes)."""
    base = "coalesce(prev.max_seq, 0)" if join_existing else "0"
    seq = (f"coalesce(c.seq_src, {base} + {numbered or seq_number(position)})" if derive_seq
           else "c.seq_src")
    payload = ("CASE WHEN c.__tombstone THEN NULL ELSE c.payload END" if position.tombstones
               else "c.payload")
    return [
        f"coalesce(c.event_id_src, md5({position.id_text}))",
        "coalesce(c.entity_type_src, nullif(regexp_extract(c.entity_id, "
        "'^([A-Za-z][A-Za-z_]*)[-:/]', 1), ''), 'unknown')",
        "c.entity_id", "c.event_type", "c.event_version", seq, "c.ts", payload, "c.metadata",
        "coalesce(c.is_delete_src, false)",
    ]


def final_select(derive_seq: bool, join_existing: bool) -> str:
    """Column list turning a mapped file row `c` into an `events` row (`FILE_COLUMNS`, after
    the good-row filter): `event_exprs`, then the file position."""
    exprs = [*event_exprs(FILE_POSITION, derive_seq, join_existing), "c.__source", "c.__row",
             "c.ts_assumed_utc"]
    return ", ".join(f"{e} AS {quote_ident(n)}" for e, n in zip(exprs, FILE_COLUMNS,
                                                                  strict=True))
