"""The `sns` and `sqs` presets: SNS notifications and SQS messages as archived to files.

An SNS notification (what a subscribed queue receives, and what Firehose archives) wraps the
event: `{"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
"MessageAttributes": {name: {"Type", "Value"}}, "Signature", ...}`, with the event itself as a
JSON string in `Message`. An SQS message (ReceiveMessage's shape, or a Lambda SQS record in
lower camel case) has `Body`, `MessageId`, `Attributes` (`SentTimestamp` in ms) and
`MessageAttributes` (`{name: {"DataType", "StringValue" | "BinaryValue"}}`); a Body that is an
SNS notification is unwrapped too.

Pure SQL text over the JSON documents of a file chunk (`__doc`, `__source`, `__row`):

1. `unwrap` puts the inner event in `__doc` (so it is mapped as the envelope or CloudEvents
   preset maps a JSON document) and the envelope's parts in `__sns_*` columns;
2. after the inner mapping is resolved, `complete` fills what the event lacks from the envelope:
   the event id (MessageId, unless the event has one), the time (the SNS Timestamp, or SQS
   SentTimestamp), and adds `metadata.sns` (message id, topic ARN, subject, type, attribute
   types). The stored event also gets `topic` (the topic name from the ARN), `kafka_ts` (the
   broker time), `headers` (message attributes in order: String/Number values as UTF-8 bytes,
   Binary decoded from base64; the types in `metadata.sns.attribute_types`) and `value` (the
   raw Message bytes). The quarantine keeps the whole envelope.
"""

from __future__ import annotations

import json
from dataclasses import replace

from eventlab.ingest.canonical_sql import Sql, json_expr, text_expr
from eventlab.ingest.mapping import ENVELOPE_PRESETS, FieldRef, Mapping
from eventlab.store.sql import quote_ident, quote_literal

COLUMNS: tuple[str, ...] = ("__sns_raw", "__sns_id", "__sns_arn", "__sns_topic", "__sns_time",
                            "__sns_subject", "__sns_type", "__sns_value", "__sns_headers",
                            "__sns_types")
"""The envelope's parts, beside the inner document's keys (never mapped by a preset)."""

RECORD: dict[str, str] = {"topic": "__sns_topic", "kafka_ts": "__sns_time",
                          "headers": "__sns_headers", "value": "__sns_value"}
"""`events` columns written from the envelope (file ingest leaves them NULL otherwise)."""


_SNS = {"Type": "VARCHAR", "MessageId": "VARCHAR", "TopicArn": "VARCHAR", "Subject": "VARCHAR",
        "Message": "VARCHAR", "Timestamp": "VARCHAR", "MessageAttributes": "JSON"}
_SQS = {"MessageId": "VARCHAR", "Body": "VARCHAR", "Attributes": {"SentTimestamp": "VARCHAR"},
        "MessageAttributes": "JSON", "eventSourceARN": "VARCHAR"}
_LAMBDA = {"messageId": "MessageId", "body": "Body", "messageAttributes": "MessageAttributes"}
"""Lambda's SQS records spell these in lower camel case (read when the other is absent)."""


def _is_object(doc: str) -> str:
    """`doc` (text) is a JSON object: valid JSON starting with `{` (one parse)."""
    return f"coalesce(json_valid({doc}) AND starts_with(ltrim({doc}), '{{'), false)"


def _parse(doc: str, structure: dict[str, object]) -> str:
    """The JSON object `doc` as a struct of the keys in `structure`, parsed once; NULL when
    `doc` is not a JSON object."""
    spec = quote_literal(json.dumps(structure))
    return f"CASE WHEN {_is_object(doc)} THEN json_transform({doc}, {spec}) END"


def _get(doc: str, *keys: str) -> str:
    """The first of `keys` present in the JSON `doc`, as text."""
    return "coalesce(" + ", ".join(f"json_extract_string({doc}, {quote_literal('$.' + k)})"
                                   for k in keys) + ")"


_TYPE = _get("e.value", "Type", "DataType", "dataType")
_VALUE = (f"CASE WHEN starts_with({_TYPE}, 'Binary') THEN "
          f"TRY(from_base64({_get('e.value', 'Value', 'BinaryValue', 'binaryValue')})) "
          f"ELSE encode({_get('e.value', 'Value', 'StringValue', 'stringValue')}) END")
_ENTRIES = "map_entries(__attrs)"
_HEADERS = f"list_transform({_ENTRIES}, lambda e: {{'key': e.key, 'value': {_VALUE}}})"
"""Message attributes as `events.headers` (key, value bytes), in order."""
_TYPES = (f"to_json(map_from_entries(list_transform({_ENTRIES}, lambda e: "
          f"{{'key': e.key, 'value': {_TYPE}}})))")
"""{name: type} of the message attributes, as JSON."""


def unwrap(preset: str, union: str) -> str:
    """The chunk's documents with the inner event as `__doc` and the envelope in `COLUMNS`.
    A document that is not a JSON object keeps its text as `__doc` (quarantined as invalid
    JSON); an envelope whose message is not a JSON object has that message as `__doc`. Each
    envelope is parsed once (`json_transform` to a struct of the keys read)."""
    if preset not in ENVELOPE_PRESETS:
        raise ValueError(f"not an envelope preset: {preset!r}")
    if preset == "sns":
        message, attrs, time = "__sns.Message", "__sns.MessageAttributes", "__sns_time"
        msg_id, arn = "__sns.MessageId", "__sns.TopicArn"
        parsed = (f"SELECT *, __sns IS NOT NULL AS __ok, TRY_CAST(__sns.Timestamp AS "
                  f"TIMESTAMPTZ) AS {time} FROM (SELECT *, {_parse('__doc', _SNS)} AS __sns "
                  f"FROM ({union}))")
    else:
        lower = {k: f"CASE WHEN __q.{v} IS NULL THEN json_extract(__doc, '$.{k}') END"
                 for k, v in _LAMBDA.items()}
        body = f"coalesce(__q.Body, json_extract_string({lower['body']}, '$'))"
        sent = ("coalesce(__q.Attributes.SentTimestamp, CASE WHEN __q.Attributes IS NULL THEN "
                "json_extract_string(__doc, '$.attributes.SentTimestamp') END)")
        inner = (f"SELECT *, {_parse('__doc', _SQS)} AS __q FROM ({union})")
        body_sql = (f"SELECT *, {body} AS __body, __q IS NOT NULL AS __ok, "
                    f"to_timestamp(TRY_CAST({sent} AS BIGINT) / 1000) AS __sent FROM ({inner})")
        sns = (f"SELECT *, CASE WHEN __b.Type = 'Notification' THEN __b END AS __sns FROM "
               f"(SELECT *, {_parse('__body', _SNS)} AS __b FROM ({body_sql}))")
        parsed = (f"SELECT *, coalesce(TRY_CAST(__sns.Timestamp AS TIMESTAMPTZ), __sent) "
                  f"AS __sns_time FROM ({sns})")
        message = "CASE WHEN __sns IS NOT NULL THEN __sns.Message ELSE __body END"
        attrs = (f"coalesce(__sns.MessageAttributes, __q.MessageAttributes, "
                 f"{lower['messageAttributes']})")
        time = "__sns_time"
        msg_id = (f"coalesce(__sns.MessageId, __q.MessageId, "
                  f"json_extract_string({lower['messageId']}, '$'))")
        arn = "coalesce(__sns.TopicArn, __q.eventSourceARN)"
    with_attrs = (f"SELECT *, TRY(json_transform({attrs}, '\"MAP(VARCHAR, JSON)\"')) AS __attrs, "
                  f"{message} AS __message, {arn} AS __arn FROM ({parsed})")
    parts = {
        "__doc": "CASE WHEN __ok THEN __message ELSE __doc END",
        "__sns_raw": "__doc",
        "__sns_id": msg_id,
        "__sns_arn": "__arn",
        "__sns_topic": "nullif(regexp_extract(__arn, '[^:]*$'), '')",
        "__sns_time": time,
        "__sns_subject": "__sns.Subject",
        "__sns_type": "__sns.Type",
        "__sns_value": "encode(__message)",
        "__sns_headers": _HEADERS,
        "__sns_types": _TYPES,
    }
    select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in parts.items())
    return f"(SELECT __source, __row, {select} FROM ({with_attrs}))"


def _inline(sql: Sql) -> str:
    """A field expression with its few bound values (JSON paths checked by the mapping
    parser, literals) written inline: the chunk relation is SQL text without parameters."""
    parts = sql.text.split("?")
    if len(parts) - 1 != len(sql.params):
        raise ValueError(f"cannot inline {sql.text!r}")
    out = parts[0]
    for value, rest in zip(sql.params, parts[1:], strict=True):
        out += ("NULL" if value is None else quote_literal(str(value))) + rest
    return out


def complete(preset: str, union: str, types: dict[str, str],
             mapping: Mapping) -> tuple[str, dict[str, str], Mapping]:
    """The relation, column types and mapping with the envelope's event id, time and
    metadata filled in (see the module docstring), and the envelope as the raw row."""
    f = mapping.fields

    def first(name: str, fallback: str) -> str:
        if name not in f:
            return fallback
        return f"coalesce(nullif({_inline(text_expr(f[name], types))}, ''), {fallback})"

    meta = f"coalesce({_inline(json_expr(f['metadata'], types))}, CAST('{{}}' AS JSON))" \
        if "metadata" in f else "CAST('{}' AS JSON)"
    sns = ("json_object('sns', json_object('message_id', __sns_id, 'topic_arn', __sns_arn, "
           "'subject', __sns_subject, 'type', __sns_type, 'attribute_types', "
           "CAST(__sns_types AS JSON)))")
    extra = {
        "__sns_event_id": first("event_id", "__sns_id"),
        "__sns_ts": first("ts", "CAST(__sns_time AS VARCHAR)"),
        "__sns_metadata": f"json_merge_patch({meta}, {sns})",
    }
    select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in extra.items())
    relation = f"(SELECT * REPLACE (__sns_raw AS __raw), {select} FROM {union})"
    types = {**types, "__sns_event_id": "VARCHAR", "__sns_ts": "VARCHAR",
             "__sns_metadata": "JSON"}
    fields = {**f, "event_id": FieldRef(column="__sns_event_id"),
              "ts": FieldRef(column="__sns_ts"), "metadata": FieldRef(column="__sns_metadata")}
    notes = (*mapping.notes, f"inside an SNS/SQS envelope: the message is mapped with the "
             f"{mapping.preset} preset")
    return relation, types, replace(mapping, preset=preset, fields=fields, notes=notes)
