"""The Sources page's Produce tab: one message composed by hand (`eventlab.produce`).

Prefill from a stored event ("edit and send a corrected copy") or an event type's newest
example; the form (topic, partition or by key, key, value as checked JSON / text / hex / none,
headers one `NAME=VALUE` a line in order, timestamp, reason); **Dry run** shows the exact
bytes and is audited; **Send** sends exactly that plan (the guards are checked again inside
`produce.send.send`, so read-only mode refuses even if the button were clicked). A topic
EventLab loaded from needs its name typed back.

With RabbitMQ configured (EVENTLAB_RABBITMQ_*) the target may also be a RabbitMQ stream or an
exchange with a routing key: no key or partition then, but the message properties
(message_id, correlation_id, content_type, type) and the headers as application properties;
the same dry run, guards, confirmation and audit (`produce.send`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore.queries import facets
from eventlab.produce import prefill
from eventlab.produce.plan import FORMATS, RABBIT_PROPERTIES, Draft, MessagePlan, ProduceError
from eventlab.produce.send import dry_run, send
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.republish.plan import KAFKA, RABBITMQ_EXCHANGE, RABBITMQ_STREAM
from eventlab.store.eventstore import EventStore
from eventlab.timeutil import parse_utc
from eventlab.ui.kafka_cluster import Connected
from eventlab.ui.links import PRODUCE_FROM
from eventlab.ui.text import inert, inert_join, inert_lines

PLAN, ORIGINAL = "pr_plan", "pr_original"
"""Session keys: the last dry run's `MessagePlan`, and the prefilled event's position."""
TARGETS = {"Kafka topic": KAFKA, "RabbitMQ stream": RABBITMQ_STREAM,
           "RabbitMQ exchange": RABBITMQ_EXCHANGE}
"""The target kinds (RabbitMQ ones only when EVENTLAB_RABBITMQ_* is set)."""


def _fill(draft: Draft, topics: list[str]) -> None:
    """Put a draft into the form's widgets (before they are drawn in this run)."""
    label = next(k for k, v in TARGETS.items() if v == draft.target_kind)
    st.session_state["pr_kind"] = label
    st.session_state.update({f"pr_prop_{p}": dict(draft.properties).get(p, "")
                             for p in RABBIT_PROPERTIES})
    if draft.target_kind != KAFKA:
        st.session_state["pr_rmq_target"] = draft.topic
        st.session_state["pr_routing_key"] = draft.routing_key or ""
    elif draft.topic in topics:
        st.session_state["pr_topic"] = draft.topic
    else:
        st.warning(inert_lines(f"topic {draft.topic or '(none: loaded from a file)'} is not "
                               "on this cluster: choose one"))
    st.session_state.update({
        "pr_key": draft.key or "", "pr_key_fmt": draft.key_format,
        "pr_value": draft.value or "", "pr_value_fmt": draft.value_format,
        "pr_headers": "\n".join(f"{k}={v}" for k, v in draft.headers),
        "pr_header_fmt": draft.header_format, "pr_reason": draft.reason,
        "pr_partition": "", "pr_ts": ""})
    st.session_state[ORIGINAL] = draft.original
    st.session_state.pop(PLAN, None)


def link_notice() -> None:
    """Say, above the tabs, that a link asked for a corrected copy on the Produce tab."""
    wanted = st.query_params.get(PRODUCE_FROM)
    if wanted:
        st.info(f"The Produce tab is prefilled with a corrected copy of event "
                f"{inert(wanted)} (edit it, dry run, then send).")


def _from_link(store: EventStore, topics: list[str]) -> None:
    """Prefill once from the link's `produce_from` event id; an unknown id is said."""
    wanted = st.query_params.get(PRODUCE_FROM)
    if not wanted or st.session_state.get("pr_link_done") == wanted:
        return
    st.session_state["pr_link_done"] = wanted
    st.session_state["pr_from"] = wanted
    try:
        with store.reading() as cur:
            _fill(prefill.from_event(cur, wanted), topics)
    except EventLabError as exc:
        st.error(inert_lines(f"{PRODUCE_FROM}={wanted}: {exc}"))


def _prefill(store: EventStore, topics: list[str]) -> None:
    _from_link(store, topics)
    with store.reading() as cur:
        types = facets(cur).event_types
    c1, c2, c3, c4 = st.columns([3, 1, 3, 1], vertical_alignment="bottom")
    event_id = c1.text_input("Stored event id", key="pr_from",
                             help="prefill a corrected copy of this event")
    copy = c2.button("Copy", key="pr_copy", disabled=not event_id)
    etype = c3.selectbox("Event type", types, key="pr_type", index=None,
                         help="prefill from the newest stored event of this type")
    example = c4.button("Example", key="pr_example", disabled=etype is None)
    try:
        with store.reading() as cur:
            if copy:
                _fill(prefill.from_event(cur, event_id.strip()), topics)
            elif example and etype is not None:
                _fill(prefill.latest_example(cur, etype), topics)
    except EventLabError as exc:
        st.error(inert_lines(exc))


def _draft(topic: str, kind: str = KAFKA) -> Draft:
    """The form's values as a Draft (ProduceError for a value that cannot be read)."""
    state = st.session_state
    if kind != KAFKA:
        return _rabbit_draft(topic, kind)
    headers = []
    for line in (state.get("pr_headers") or "").splitlines():
        if line.strip():
            name, sep, value = line.partition("=")
            if not sep:
                raise ProduceError(f"header line {line!r} is not NAME=VALUE")
            headers.append((name.strip(), value))
    partition = (state.get("pr_partition") or "").strip()
    if partition and not partition.isdigit():
        raise ProduceError(f"partition {partition!r} is not a number")
    ts = (state.get("pr_ts") or "").strip()
    try:
        when = parse_utc(ts) if ts else None
    except ValueError:
        raise ProduceError(f"timestamp {ts!r} is not ISO 8601") from None
    return Draft(topic=topic, value=state.get("pr_value"), value_format=state["pr_value_fmt"],
                 key=state.get("pr_key") or None, key_format=state["pr_key_fmt"],
                 partition=int(partition) if partition else None, headers=tuple(headers),
                 header_format=state["pr_header_fmt"], timestamp=when,
                 reason=state.get("pr_reason") or "", original=state.get(ORIGINAL))


def _rabbit_draft(target: str, kind: str) -> Draft:
    """The form's values as a RabbitMQ Draft (no key, no partition; properties)."""
    base = _draft(target)
    state = st.session_state
    props = tuple((p, state.get(f"pr_prop_{p}") or "") for p in RABBIT_PROPERTIES
                  if state.get(f"pr_prop_{p}"))
    return Draft(topic=target, value=base.value, value_format=base.value_format,
                 headers=base.headers, header_format=base.header_format,
                 timestamp=base.timestamp, reason=base.reason, original=base.original,
                 target_kind=kind, properties=props,
                 routing_key=(state.get("pr_routing_key") or "")
                 if kind == RABBITMQ_EXCHANGE else None)


def _bytes_table(plan: MessagePlan) -> pd.DataFrame:
    d: dict[str, Any] = plan.to_dict()
    rows = [{"part": name, "name": None, "bytes": None if d[name] is None else d[name]["bytes"],
             "hex": None if d[name] is None else d[name]["hex"],
             "text": None if d[name] is None else d[name]["text"]} for name in ("key", "value")]
    if plan.rabbitmq:  # no key; the properties, then the application properties
        rows = [r for r in rows if r["part"] == "value"]
        rows += [{"part": "property", "name": p["key"], "bytes": p["bytes"], "hex": p["hex"],
                  "text": p["text"]} for p in d["properties"]]
    rows += [{"part": "application property" if plan.rabbitmq else "header",
              "name": h["key"], "bytes": h["bytes"], "hex": h["hex"],
              "text": h["text"]} for h in d["headers"]]
    return pd.DataFrame(rows)


def produce_panel(conn: Connected | None, store: EventStore, *, read_only: bool,
                  rabbit: RabbitConfig | None = None) -> None:
    """Prefill, the target (Kafka, or RabbitMQ when `rabbit` is given), the form, Dry run,
    the exact bytes, the confirmation and Send."""
    st.subheader("Produce one message")
    offered = {label: kind for label, kind in TARGETS.items()
               if (conn if kind == KAFKA else rabbit) is not None}
    if not offered:
        st.info("Connect to a cluster on the Kafka tab (or set EVENTLAB_RABBITMQ_*) to "
                "produce a message.")
        return
    if read_only:
        st.info("Read-only mode (EVENTLAB_READ_ONLY): producing is disabled.")
    topics = [t.name for t in conn.topics] if conn is not None else []
    st.session_state.setdefault("pr_key_fmt", "text")
    _prefill(store, topics)
    if st.session_state.get("pr_kind") not in offered:
        st.session_state["pr_kind"] = next(iter(offered))
    kind = offered[st.radio("Target", list(offered), key="pr_kind", horizontal=True)
                   if len(offered) > 1 else st.session_state["pr_kind"]]
    config = conn.config if kind == KAFKA and conn is not None else rabbit
    if kind == KAFKA:
        c1, c2, c3 = st.columns([3, 1, 2])
        topic = c1.selectbox("Topic", topics, key="pr_topic")
        c2.text_input("Partition", key="pr_partition", placeholder="by key",
                      help="empty: by the key (murmur2), or 0 without a key")
        c3.text_input("Timestamp (UTC, ISO 8601)", key="pr_ts", placeholder="now")
        k1, k2 = st.columns([4, 1])
        k1.text_input("Key", key="pr_key")
        k2.selectbox("Key as", FORMATS, key="pr_key_fmt")
    else:
        c1, c2 = st.columns([3, 2])
        topic = c1.text_input("Stream (it must exist)" if kind == RABBITMQ_STREAM else
                              "Exchange (it must exist)", key="pr_rmq_target").strip()
        c2.text_input("Timestamp (UTC, ISO 8601)", key="pr_ts", placeholder="none",
                      help="the timestamp property; empty: none")
        if kind == RABBITMQ_EXCHANGE:
            st.text_input("Routing key", key="pr_routing_key")
        cols = st.columns(len(RABBIT_PROPERTIES))
        for col, prop in zip(cols, RABBIT_PROPERTIES, strict=True):
            col.text_input(prop, key=f"pr_prop_{prop}")
    v1, v2 = st.columns([4, 1])
    v1.text_area("Value", key="pr_value", height=160)
    v2.selectbox("Value as", FORMATS, key="pr_value_fmt",
                 help="json: checked, sent exactly as typed; none: a tombstone (Kafka only)")
    h1, h2 = st.columns([4, 1])
    h1.text_area("Application properties, one NAME=VALUE a line, in order" if kind != KAFKA
                 else "Headers, one NAME=VALUE a line, in order", key="pr_headers", height=80)
    h2.selectbox("Header values as", ("text", "hex"), key="pr_header_fmt")
    st.text_input("Reason", key="pr_reason", help="sent in eventlab-reason; audited")
    if st.button("Dry run", key="pr_dry", disabled=read_only or not topic,
                 help="shows the exact bytes; sends nothing"):
        try:
            st.session_state[PLAN] = dry_run(store, config, _draft(topic, kind))
        except EventLabError as exc:
            st.session_state.pop(PLAN, None)
            st.error(inert_lines(exc))
    plan: MessagePlan | None = st.session_state.get(PLAN)
    if plan is None:
        return
    if plan.target_kind != kind:  # the target kind changed since: plan again
        st.session_state.pop(PLAN, None)
        return
    where = (f"**{inert(plan.target())}**" if plan.rabbitmq else
             f"**{inert(plan.topic)}** partition {plan.partition}")
    st.caption(f"Dry run {inert(plan.produce_id)}: one message to {where}, "
               f"{plan.bytes} bytes, timestamp "
               f"{plan.timestamp_ms if plan.timestamp_ms is not None else 'now'}. Nothing was "
               "sent.")
    if plan.notes:
        st.caption(inert_join(plan.notes, "; ") + ".")
    st.dataframe(_bytes_table(plan), hide_index=True, key="pr_bytes")
    confirm = None
    if plan.confirm:
        confirm = st.text_input(f"Type {inert(plan.confirm)} to send into it", key="pr_confirm")
    if st.button("Send", key="pr_send", type="primary", disabled=read_only,
                 help="sends exactly the bytes above"):
        try:
            result = send(store, config, plan, confirm=confirm)
        except EventLabError as exc:
            st.error(inert_lines(exc))
            return
        if result.state == "acked":
            st.success(f"Sent to {inert(plan.target())}: confirmed by the broker."
                       if plan.rabbitmq else f"Sent to {inert(plan.topic)} partition "
                       f"{result.partition} offset {result.offset}.")
            st.session_state.pop(PLAN, None)
        else:
            st.error(inert_lines(f"{result.state}: {result.error}"))
