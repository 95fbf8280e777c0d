"""Decode raw Kafka batches inside DuckDB: the SQL relation and the mappings for one batch.

A raw batch (`reader.RAW_SCHEMA`) is registered as an Arrow table. Its values are parsed as
JSON by DuckDB in one pass per batch, never by a Python call per record. The mapping is
resolved per topic and, within a topic, per content mode, which each record decides for itself
(`MODES`): one run may read topics of different encodings, and one topic may mix CloudEvents
binary and structured mode with plain envelope JSON. Besides the document's
top-level keys, the mapping sees pseudo-columns: `@key` (the key as text), `@timestamp` (the
record timestamp), `@value` (the whole value as text, for CloudEvents binary mode) and
`@header:NAME` (each header's value as text).

Schema-registry framed records (`ingest.framed`) arrive with `decoded` / `decoded_key` columns:
under `framed=True` the mapping reads `coalesce(decoded, value)` and `coalesce(decoded_key,
key)` while `value` and `key` pass through as the original bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import MappingError
from eventlab.ingest.canonical_sql import (
    CE_PREFIXES,
    REST,
    Sql,
    doc_columns,
    mapped_select,
    rest_payload,
    rest_sql,
)
from eventlab.ingest.mapping import HEADER_PREFIX, FieldRef, Mapping, MappingSpec, resolve
from eventlab.store import db
from eventlab.store.sql import quote_ident, quote_literal

PSEUDO = ("@key", "@timestamp", "@value", "@rest")
_CE_BINARY = {"id": "event_id", "type": "event_type", "subject": "entity_id", "time": "ts",
              "entitytype": "entity_type", "sequence": "seq", "eventversion": "event_version"}
_HEADER_DEFAULTS = {
    "event_type": ("event_type", "eventType", "type"),
    "event_id": ("event_id", "eventId", "id"),
    "event_version": ("event_version", "schema_version", "eventVersion"),
    "entity_type": ("entity_type", "aggregate_type", "entityType"),
}
MODES = ("ce-binary", "ce-structured", "json")
"""How a record is encoded, decided per record as the CloudEvents Kafka protocol binding says:
binary when a `ce_specversion` header (or AMQP's `cloudEvents_specversion`: `CE_PREFIXES`)
is present, structured when the `content-type` header
starts with `application/cloudevents` (or, under `auto`, when the JSON value has a top-level
`specversion`: producers often leave the header out), else a JSON document whose preset is
resolved per topic."""
_CONTENT_TYPE = ("lower(TRY(decode(list_filter(headers, lambda h: lower(h.key) = "
                 "'content-type')[1].value)))")
_MODE_SQL = (
    "CASE WHEN list_has_any(list_transform(headers, lambda h: h.key), "
    + "[" + ", ".join(f"'{p}specversion'" for p in CE_PREFIXES) + "]) "
    f"THEN 'ce-binary' WHEN starts_with({_CONTENT_TYPE}, 'application/cloudevents') "
    "THEN 'ce-structured' {sniff}ELSE 'json' END")
_SNIFF = ("WHEN contains(TRY(decode({value})), '\"specversion\"') AND json_exists(TRY(decode("
          "{value})), '$.specversion') THEN 'ce-structured' ")
PASSTHROUGH = ("topic", "partition", "offset", "key", "value", "headers", "timestamp_ms",
               "timestamp_type", "__tombstone")
FRAMED_VALUE = "coalesce(decoded, value)"
FRAMED_KEY = "coalesce(decoded_key, key)"
FRAMED_PASSTHROUGH = ("schema_id", "schema_type", "key_schema_id", "__schema_reason",
                      "__schema_detail")
"""The columns `ingest.framed` adds that the mapped rows keep."""


def header_names(cur: db.Connection, table: str, sample: int = 2000) -> list[str]:
    """Header keys of the first `sample` records of a registered raw batch (enough to choose
    a mapping; every header is stored whole either way)."""
    return sorted(r[0] for r in db.rows(
        cur, f"SELECT DISTINCT unnest(list_transform(headers, lambda h: h.key)) FROM "
             f"(SELECT headers FROM {table} LIMIT ?)", [sample]))


def header_columns(mapping: Mapping) -> list[str]:
    """The header names a mapping reads (only these are pulled out of each record)."""
    cols = {r.column for r in mapping.fields.values() if r.column}
    cols |= set(mapping.metadata_columns)
    return sorted(c[len(HEADER_PREFIX):] for c in cols if c.startswith(HEADER_PREFIX))


def sample_keys(cur: db.Connection, table: str, sample: int = 2000, *,
                value: str = "value") -> list[str]:
    """Top-level keys of the first `sample` JSON-object values of a registered raw batch.

    Enough to pick a preset and the columns of a mapping; keys that appear only later are not
    lost: a flat payload is "the document minus the mapped keys" (`@rest`), not a key list.
    """
    return sorted(r[0] for r in db.rows(
        cur, f"SELECT DISTINCT unnest(json_keys(d)) FROM (SELECT CASE WHEN "
             f"json_valid(TRY(decode(value))) AND json_type(CASE WHEN json_valid("
             f"TRY(decode(value))) THEN TRY(decode(value)) END) = 'OBJECT' THEN "
             f"TRY(decode(value)) END AS d FROM (SELECT {value} AS value FROM {table} "
             f"LIMIT ?))",
        [sample]))


def relation(table: str, keys: list[str], headers: list[str], ce_binary: bool,
             rest_without: list[str] | None = None, *, framed: bool = False
             ) -> tuple[str, list[str]]:
    """SQL for the decoded batch (one row per record) and its bound parameters.

    `keys` are the document keys parsed into columns; `rest_without` (flat mappings) adds
    `@rest`: the document without those keys, which becomes the payload. Each value is
    decoded from UTF-8 once and parsed as JSON once (`json_transform`, which also validates).
    `framed`: the batch has `ingest.framed`'s columns; the decoded JSON is read instead.
    """
    params: list[str] = []
    header_cols = []
    for name in headers:
        header_cols.append(f"TRY(decode(list_filter(headers, lambda h: h.key = ?)[1].value)) "
                           f"AS {quote_ident(HEADER_PREFIX + name)}")
        params.append(name)
    structure = "{" + ", ".join(json.dumps(k) + ': "JSON"' for k in keys) + "}"
    looks_like_object = "starts_with(ltrim(__text), '{')"
    if ce_binary:
        parsed, invalid, unpack = "NULL", "(value IS NOT NULL AND __text IS NULL)", []
    elif keys:
        parsed = (f"CASE WHEN {looks_like_object} THEN TRY(json_transform(__text, "
                  f"{quote_literal(structure)})) END")
        invalid, unpack = "(value IS NOT NULL AND __doc IS NULL)", ["unnest(__doc)"]
    else:
        parsed = (f"CASE WHEN {looks_like_object} AND json_valid(__text) THEN "
                  f"{{'_': 1}} END")
        invalid, unpack = "(value IS NOT NULL AND __doc IS NULL)", []
    rest = [] if rest_without is None else [rest_sql("__text", "__doc IS NOT NULL",
                                                      rest_without)]
    outer = [
        *unpack, *rest, "__text AS \"@value\"",
        f"TRY(decode({FRAMED_KEY if framed else 'key'})) AS \"@key\"",
        "to_timestamp(timestamp_ms / 1000.0) AS \"@timestamp\"", *header_cols,
        f"{invalid} AS __invalid", "value IS NULL AS __tombstone",
        "'kafka' AS __source", "\"offset\" AS __row",
        "topic", "\"partition\"", "\"offset\"", "key", "value", "headers", "timestamp_ms",
        "timestamp_type", *(FRAMED_PASSTHROUGH if framed else ()),
    ]
    inner = (f"SELECT *, {parsed} AS __doc FROM (SELECT *, TRY(decode("
             f"{FRAMED_VALUE if framed else 'value'})) AS __text FROM {table})")
    return f"(SELECT {', '.join(outer)} FROM ({inner}))", params


def ce_prefix(headers: list[str]) -> str | None:
    """The CloudEvents binary-mode prefix (`CE_PREFIXES`) these headers use, if any."""
    return next((p for p in CE_PREFIXES if p + "specversion" in headers), None)


def is_ce_binary(spec: MappingSpec, headers: list[str]) -> bool:
    """CloudEvents binary mode: attributes in `ce_` headers, the value is the data."""
    return spec.preset in ("auto", "cloudevents") and ce_prefix(headers) is not None


def resolve_kafka(spec: MappingSpec, keys: list[str], headers: list[str]) -> Mapping:
    """The mapping for one batch: a preset over the documents, CloudEvents binary mode from
    the headers, and Kafka defaults (key = entity id, record time = event time) for fields
    the documents do not have."""
    header_cols = [HEADER_PREFIX + h for h in headers]
    ce_binary = is_ce_binary(spec, headers)
    columns = ([] if ce_binary else keys) + list(PSEUDO) + header_cols
    base = resolve(MappingSpec(preset="flat" if ce_binary else spec.preset), columns,
                   ignore=(*PSEUDO, *header_cols))
    notes = list(base.notes)
    if ce_binary:
        prefix = ce_prefix(headers) or "ce_"
        fields = {name: FieldRef(column=HEADER_PREFIX + prefix + a)
                  for a, name in _CE_BINARY.items() if prefix + a in headers}
        fields["payload"] = FieldRef(column="@value")
        used = {r.column for r in fields.values()}
        meta = tuple(c for c in header_cols if c.startswith(HEADER_PREFIX + prefix)
                     and c not in used)
        mapping = Mapping(preset="cloudevents-binary", fields=fields, metadata_columns=meta)
        notes.append(f"CloudEvents binary mode: attributes from {prefix} headers")
    else:
        fields = dict(base.fields)
        for name, candidates in _HEADER_DEFAULTS.items():
            found = next((h for h in candidates if h in headers), None)
            if name not in fields and found:
                fields[name] = FieldRef(column=HEADER_PREFIX + found)
                notes.append(f"{name} from the Kafka header {found!r}")
        mapping = replace(base, fields=fields)
        if "payload" not in spec.overrides:
            mapping = rest_payload(mapping)
        mapping = replace(mapping, payload_columns=())
    fields = dict(mapping.fields)
    if "entity_id" not in fields:
        fields["entity_id"] = FieldRef(column="@key")
        notes.append("entity_id from the Kafka key")
    if "ts" not in fields:
        fields["ts"] = FieldRef(column="@timestamp")
        notes.append("event time from the Kafka record timestamp")
    for name, ref in spec.overrides.items():
        fields[name] = ref
    mapping = replace(mapping, fields=fields, notes=tuple(notes))
    bad = [r.column for r in spec.overrides.values()
           if r.column and r.column not in columns]
    if bad:
        raise MappingError(f"mapping names {', '.join(bad)}, which these records do not have "
                           f"(keys: {', '.join(keys) or 'none'}; headers: "
                           f"{', '.join(headers) or 'none'})")
    return mapping


def mode_sql(spec: MappingSpec, *, framed: bool = False) -> str:
    """SQL naming each raw record's content mode (one of `MODES`) under this spec."""
    if spec.preset not in ("auto", "cloudevents"):
        return "'json'"  # the user chose the preset: every record is a document of it
    sniff = _SNIFF.format(value=FRAMED_VALUE if framed else "value")
    return _MODE_SQL.format(sniff=sniff if spec.preset == "auto" else "")


def plain_json(raw: pa.Table, spec: MappingSpec, *, framed: bool = False) -> bool:
    """True when no record of a raw batch can be CloudEvents, so `mode_sql` says 'json' for
    every one. An Arrow scan for what that rule looks at (a `specversion` header, a header
    value naming cloudevents, `"specversion"` in a value), much cheaper than the per-record
    query; anything it cannot rule out goes to that query."""
    if spec.preset not in ("auto", "cloudevents"):
        return True
    headers = pc.list_flatten(raw.column("headers"))
    keys = pc.struct_field(headers, "key")
    if pc.any(pc.is_in(keys, pa.array([p + "specversion" for p in CE_PREFIXES]))).as_py():
        return False
    values = pc.struct_field(headers, "value")
    if pc.any(pc.match_substring(values, "cloudevents", ignore_case=True)).as_py():
        return False
    if spec.preset == "auto":
        for column in _sniffed_values(raw, framed):
            if _may_contain(column, b'"specversion"'):
                return False
    return True


def _sniffed_values(raw: pa.Table, framed: bool) -> list[pa.ChunkedArray]:
    """The values `mode_sql`'s sniff reads: `value`, or for a framed batch `FRAMED_VALUE`
    (the decoded text, else the raw bytes): the raw bytes only of the rows not decoded, so
    an all-Avro batch is not searched twice."""
    if not framed:
        return [raw.column("value")]
    decoded = raw.column("decoded")
    if decoded.null_count == 0:
        return [decoded]
    return [decoded, raw.column("value").filter(pc.is_null(decoded))]


def _may_contain(column: pa.ChunkedArray, needle: bytes) -> bool:
    """False only when no value of a binary column contains `needle`. One search over each
    chunk's data buffer (about 4x cheaper than `match_substring` per value); a match that
    spans two values, or bytes under a null, only says True, which is always safe here."""
    pattern = re.compile(re.escape(needle))
    for chunk in column.chunks:
        if not (pa.types.is_binary(chunk.type) or pa.types.is_string(chunk.type)):
            if pc.any(pc.match_substring(chunk, needle.decode())).as_py():
                return True
            continue
        if len(chunk) == 0:
            continue
        _, offsets, data = chunk.buffers()
        if data is None:
            continue
        bounds = np.frombuffer(offsets, dtype=np.int32)
        start, stop = int(bounds[chunk.offset]), int(bounds[chunk.offset + len(chunk)])
        if pattern.search(memoryview(data)[start:stop]) is not None:
            return True
    return False


def decoded_batch(cur: db.Connection, table: str, spec: MappingSpec, *, framed: bool = False,
                  raw: pa.Table | None = None) -> tuple[Sql, dict[str, dict[str, Mapping]]]:
    """The canonical-event SELECT over a registered raw batch (one row per record, with
    `__reason` for the quarantine), and the mapping resolved for each topic and mode.

    Each (topic, mode) group gets its own mapping; a batch of one group (the usual case) is
    mapped as a whole, with no filter in the way. `framed`: the batch has `ingest.framed`'s
    columns (schema-registry records decoded to JSON), which the mapping reads. `raw`: the
    registered batch itself, to skip the per-record mode query when no record can be
    CloudEvents (`plain_json`).
    """
    modes = mode_sql(spec, framed=framed)
    if raw is not None and plain_json(raw, spec, framed=framed):
        groups = [(t, "json") for t in sorted(pc.unique(raw.column("topic")).to_pylist())]
    else:
        groups = db.rows(cur, f"SELECT topic, {modes} AS mode FROM {table} GROUP BY ALL "
                              f"ORDER BY ALL")
    if len(groups) <= 1:
        topic, mode = groups[0] if groups else ("", "json")
        sel, mapping = mapped_batch(cur, table, _spec_for(spec, mode), framed=framed)
        return sel, {topic: {mode: mapping}}
    parts: list[Sql] = []
    mappings: dict[str, dict[str, Mapping]] = {}
    for topic, mode in groups:
        sub = (f"(SELECT * FROM {table} WHERE topic = {quote_literal(topic)} AND {modes} = "
               f"{quote_literal(mode)})")
        sel, mapping = mapped_batch(cur, sub, _spec_for(spec, mode), framed=framed)
        parts.append(sel)
        mappings.setdefault(topic, {})[mode] = mapping
    return Sql(" UNION ALL BY NAME ".join(f"SELECT * FROM ({p.text})" for p in parts),
               [v for p in parts for v in p.params]), mappings


def _spec_for(spec: MappingSpec, mode: str) -> MappingSpec:
    if mode == "ce-structured":
        return replace(spec, preset="cloudevents")
    return spec


def mapped_batch(cur: db.Connection, table: str, spec: MappingSpec, *, framed: bool = False
                 ) -> tuple[Sql, Mapping]:
    """The canonical-event SELECT over one group of a raw batch (a table name or a
    parenthesised subquery), and the mapping it resolved for that group."""
    headers = header_names(cur, table)
    ce_binary = is_ce_binary(spec, headers)
    keys = [] if ce_binary else sample_keys(
        cur, table, value=FRAMED_VALUE if framed else "value")
    mapping = resolve_kafka(spec, keys, headers)
    needed = doc_columns(mapping)
    rest = needed if any(r.column == REST for r in mapping.fields.values()) else None
    rel, params = relation(table, needed, header_columns(mapping), ce_binary, rest,
                           framed=framed)
    types = {r[0]: r[1] for r in db.rows(cur, f"DESCRIBE SELECT * FROM {rel}", params)}
    passthrough = PASSTHROUGH + (FRAMED_PASSTHROUGH if framed else ())
    return mapped_select(mapping, types, rel, doc_mode=True, relation_params=params,
                         tombstones=True, passthrough=passthrough), mapping
