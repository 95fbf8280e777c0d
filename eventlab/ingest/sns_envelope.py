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


def _is_object(doc: str) -> str:
    return (f"coalesce(json_valid({doc}) AND json_type(CASE WHEN json_valid({doc}) "
            f"THEN {doc} END) = 'OBJECT', false)")


def _object(doc: str) -> str:
    """`doc` as JSON when it is a JSON object, else NULL (never an error)."""
    return f"CASE WHEN {_is_object(doc)} THEN CAST({doc} AS JSON) END"


def _get(doc: str, *keys: str) -> str:
    """The first of `keys` present in the JSON `doc`, as text."""
    return "coalesce(" + ", ".join(f"json_extract_string({doc}, {quote_literal('$.' + k)})"
                                   for k in keys) + ")"


def _entries(attrs: str) -> str:
    return f"map_entries(TRY(json_transform({attrs}, '\"MAP(VARCHAR, JSON)\"')))"


_TYPE = _get("e.value", "Type", "DataType", "dataType")
_VALUE = (f"CASE WHEN starts_with({_TYPE}, 'Binary') THEN "
          f"TRY(from_base64({_get('e.value', 'Value', 'BinaryValue', 'binaryValue')})) "
          f"ELSE encode({_get('e.value', 'Value', 'StringValue', 'stringValue')}) END")


def _headers(attrs: str) -> str:
    """Message attributes as `events.headers` (key, value bytes), in order."""
    return (f"list_transform({_entries(attrs)}, lambda e: "
            f"{{'key': e.key, 'value': {_VALUE}}})")


def _types(attrs: str) -> str:
    """{name: type} of the message attributes, as JSON."""
    return (f"to_json(map_from_entries(list_transform({_entries(attrs)}, lambda e: "
            f"{{'key': e.key, 'value': {_TYPE}}})))")


def unwrap(preset: str, union: str) -> str:
    assert preset in ENVELOPE_PRESETS
    """The chunk's documents with the inner event as `__doc` and the envelope in `COLUMNS`.
    A document that is not a JSON object keeps its text as `__doc` (quarantined as invalid
    JSON); an envelope whose message is not a JSON object has that message as `__doc`."""
    env = "__env"
    if preset == "sns":
        sns = env
        outer = f"(SELECT *, {_object('__doc')} AS {env} FROM ({union}))"
    else:
        body = _get(env, "Body", "body")
        is_sns = f"coalesce({_get('__b', 'Type')} = 'Notification', false)"
        outer = (f"(SELECT *, CASE WHEN {is_sns} THEN __b END AS __sns FROM (SELECT *, "
                 f"{_object(body)} AS __b FROM (SELECT *, {_object('__doc')} AS {env} "
                 f"FROM ({union}))))")
        sns = "__sns"
    if preset == "sns":
        message = _get(sns, "Message")
        attrs = f"json_extract({sns}, '$.MessageAttributes')"
        time = f"TRY_CAST({_get(sns, 'Timestamp')} AS TIMESTAMPTZ)"
        msg_id = _get(sns, "MessageId")
        arn = _get(sns, "TopicArn")
    else:
        message = f"CASE WHEN {sns} IS NOT NULL THEN {_get(sns, 'Message')} ELSE {body} END"
        attrs = (f"coalesce(json_extract({sns}, '$.MessageAttributes'), "
                 f"json_extract({env}, '$.MessageAttributes'), "
                 f"json_extract({env}, '$.messageAttributes'))")
        sent = _get(env, "Attributes.SentTimestamp", "attributes.SentTimestamp")
        time = (f"coalesce(TRY_CAST({_get(sns, 'Timestamp')} AS TIMESTAMPTZ), "
                f"to_timestamp(TRY_CAST({sent} AS BIGINT) / 1000))")
        msg_id = f"coalesce({_get(sns, 'MessageId')}, {_get(env, 'MessageId', 'messageId')})"
        arn = f"coalesce({_get(sns, 'TopicArn')}, {_get(env, 'eventSourceARN')})"
    parts = {
        "__doc": f"CASE WHEN {env} IS NULL THEN __doc ELSE {message} END",
        "__sns_raw": "__doc",
        "__sns_id": msg_id,
        "__sns_arn": arn,
        "__sns_topic": f"nullif(regexp_extract({arn}, '[^:]*$'), '')",
        "__sns_time": time,
        "__sns_subject": _get(sns, "Subject"),
        "__sns_type": _get(sns, "Type"),
        "__sns_value": f"encode({message})",
        "__sns_headers": _headers(attrs),
        "__sns_types": _types(attrs),
    }
    select = ", ".join(f"{sql} AS {quote_ident(name)}" for name, sql in parts.items())
    return f"(SELECT __source, __row, {select} FROM {outer})"


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
           "'subject', __sns_subject, 'type', __sns_type, 'attribute_types', __sns_types))")
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
