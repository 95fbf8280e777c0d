"""The Sources page's Produce tab: one message composed by hand (`eventlab.produce`).

Prefill from a stored event ("edit and send a corrected copy") or an event type's newest
example; the form (topic, partition or by key, key, value as checked JSON / text / hex / none,
headers one `NAME=VALUE` a line in order, timestamp, reason); **Dry run** shows the exact
bytes and is audited; **Send** sends exactly that plan (the guards are checked again inside
`produce.send.send`, so read-only mode refuses even if the button were clicked). A topic
EventLab loaded from needs its name typed back.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore.queries import facets
from eventlab.produce import prefill
from eventlab.produce.plan import FORMATS, Draft, MessagePlan, ProduceError
from eventlab.produce.send import dry_run, send
from eventlab.store.eventstore import EventStore
from eventlab.timeutil import parse_utc
from eventlab.ui.kafka_cluster import Connected
from eventlab.ui.links import PRODUCE_FROM
from eventlab.ui.text import inert, inert_join, inert_lines

PLAN, ORIGINAL = "pr_plan", "pr_original"
"""Session keys: the last dry run's `MessagePlan`, and the prefilled event's position."""


def _fill(draft: Draft, topics: list[str]) -> None:
    """Put a draft into the form's widgets (before they are drawn in this run)."""
    if draft.topic in topics:
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


def _draft(topic: str) -> Draft:
    """The form's values as a Draft (ProduceError for a value that cannot be read)."""
    state = st.session_state
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


def _bytes_table(plan: MessagePlan) -> pd.DataFrame:
    d: dict[str, Any] = plan.to_dict()
    rows = [{"part": name, "name": None, "bytes": None if d[name] is None else d[name]["bytes"],
             "hex": None if d[name] is None else d[name]["hex"],
             "text": None if d[name] is None else d[name]["text"]} for name in ("key", "value")]
    rows += [{"part": "header", "name": h["key"], "bytes": h["bytes"], "hex": h["hex"],
              "text": h["text"]} for h in d["headers"]]
    return pd.DataFrame(rows)


def produce_panel(conn: Connected, store: EventStore, *, read_only: bool) -> None:
    """Prefill, the form, Dry run, the exact bytes, the confirmation and Send."""
    st.subheader("Produce one message")
    if read_only:
        st.info("Read-only mode (EVENTLAB_READ_ONLY): producing is disabled.")
    topics = [t.name for t in conn.topics]
    st.session_state.setdefault("pr_key_fmt", "text")
    _prefill(store, topics)
    c1, c2, c3 = st.columns([3, 1, 2])
    topic = c1.selectbox("Topic", topics, key="pr_topic")
    c2.text_input("Partition", key="pr_partition", placeholder="by key",
                  help="empty: by the key (murmur2), or 0 without a key")
    c3.text_input("Timestamp (UTC, ISO 8601)", key="pr_ts", placeholder="now")
    k1, k2 = st.columns([4, 1])
    k1.text_input("Key", key="pr_key")
    k2.selectbox("Key as", FORMATS, key="pr_key_fmt")
    v1, v2 = st.columns([4, 1])
    v1.text_area("Value", key="pr_value", height=160)
    v2.selectbox("Value as", FORMATS, key="pr_value_fmt",
                 help="json: checked, sent exactly as typed; none: a tombstone")
    h1, h2 = st.columns([4, 1])
    h1.text_area("Headers, one NAME=VALUE a line, in order", key="pr_headers", height=80)
    h2.selectbox("Header values as", ("text", "hex"), key="pr_header_fmt")
    st.text_input("Reason", key="pr_reason", help="sent in eventlab-reason; audited")
    if st.button("Dry run", key="pr_dry", disabled=read_only or not topic,
                 help="shows the exact bytes; sends nothing"):
        try:
            st.session_state[PLAN] = dry_run(store, conn.config, _draft(topic))
        except EventLabError as exc:
            st.session_state.pop(PLAN, None)
            st.error(inert_lines(exc))
    plan: MessagePlan | None = st.session_state.get(PLAN)
    if plan is None:
        return
    st.caption(f"Dry run {inert(plan.produce_id)}: one message to **{inert(plan.topic)}** "
               f"partition {plan.partition}, {plan.bytes} bytes, timestamp "
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
            result = send(store, conn.config, plan, confirm=confirm)
        except EventLabError as exc:
            st.error(inert_lines(exc))
            return
        if result.state == "acked":
            st.success(f"Sent to {inert(plan.topic)} partition {result.partition} offset "
                       f"{result.offset}.")
            st.session_state.pop(PLAN, None)
        else:
            st.error(inert_lines(f"{result.state}: {result.error}"))
