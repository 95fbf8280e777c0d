"""The Sources page's RabbitMQ tab: the streams EventLab has read from this broker, loading
streams as background jobs, and a peek that stores nothing.

The connection comes from EVENTLAB_RABBITMQ_* only (docs/rabbitmq.md, "Settings"; the
password is never shown). Nothing touches the broker until a button is clicked: the page
opens without a RabbitMQ running. The streams listed are those with stored positions for
this broker (`ingest_offsets`); **Look up ends** asks the broker how far each has grown. Any
stream can be named to load or peek.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.ingest.mapping import PRESETS
from eventlab.ingest.offsets import stored_positions
from eventlab.ingest.rabbitmq_background import start_stream_ingest
from eventlab.ingest.rabbitmq_peek import peek_stream, stream_end
from eventlab.jobs import JobManager
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.superstreams import partition_name
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.ui import sources_widgets
from eventlab.ui.text import inert, inert_lines

STARTS = {"the first message": "first", "the last chunk": "last", "new messages only": "next",
          "an offset": "offset"}
STOPS = {"the end (at start)": "end", "follow": "follow", "a number of messages": "count"}
PEEK_AT = {"first": "first", "last": "last", "an offset": "offset"}


def connection() -> RabbitConfig | None:
    """The settings from the environment, or None (the error said on the page)."""
    try:
        return RabbitConfig.from_env()
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def streams_table(config: RabbitConfig, cur: db.Connection) -> list[str]:
    """The streams (and super streams: more than partition 0) with stored positions on this
    broker, one row per partition; their ends on request."""
    stored = stored_positions(cur, source="rabbitmq", broker=config.broker_id)
    names = sorted({topic for topic, _p in stored})
    supers = {topic for topic, p in stored if p > 0}
    st.session_state["rmq_known_supers"] = supers
    st.subheader("Streams read before")
    if not names:
        st.caption("No stream of this broker has been loaded yet: name one below.")
        return []
    rows = [{"stream": t, "partition": p, "stored next offset": n,
             "reads": partition_name(t, p) if t in supers else t}
            for (t, p), n in sorted(stored.items())]
    ends: dict[str, int] = st.session_state.get("rmq_ends", {})
    if st.button("Look up ends", key="rmq_ends_go",
                 help="asks the broker for each stream's end (reads its last chunk)"):
        ends = {}
        try:
            for row in rows:
                ends[row["reads"]] = stream_end(config, row["reads"])
        except EventLabError as exc:
            st.error(inert_lines(exc))
        st.session_state["rmq_ends"] = ends
    for row in rows:
        end = ends.get(row.pop("reads"))
        row["end"] = end
        row["not loaded yet"] = None if end is None else max(0, end - row["stored next offset"])
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="rmq_streams")
    if supers:
        st.caption("A stream with more than partition 0 is a super stream: each partition "
                   "is its stream S-0, S-1, ...")
    return names


def ingest_form(config: RabbitConfig, manager: JobManager, store: EventStore,
                known: list[str], *, read_only: bool) -> None:
    """Streams, start, stop, mapping; Start runs the ingest as a background job."""
    st.subheader("Load streams")
    chosen = st.multiselect("Streams read before", known, key="rmq_known") if known else []
    typed = st.text_input("Other streams", key="rmq_typed", placeholder="orders, payments",
                          help="comma-separated stream names")
    typed_supers = st.text_input("Super streams", key="rmq_super", placeholder="invoices",
                                 help="comma-separated; partitions S-0, S-1, ... are read as "
                                      "partitions of S")
    known_supers = st.session_state.get("rmq_known_supers", set())
    supers = list(dict.fromkeys([*(c for c in chosen if c in known_supers),
                                 *_names(typed_supers)]))
    names = [n for n in dict.fromkeys([*chosen, *_names(typed)]) if n not in supers]
    c1, c2, c3 = st.columns(3)
    with c1:
        start_kind = STARTS[st.radio("Start", list(STARTS), key="rmq_start")]
        start: str | int = start_kind
        if start_kind == "offset":
            start = int(st.number_input("Offset", min_value=0, value=0, key="rmq_offset"))
    with c2:
        stop_kind = STOPS[st.radio("Stop", list(STOPS), key="rmq_stop")]
        until: str | int = stop_kind
        if stop_kind == "count":
            until = int(st.number_input("Messages", min_value=1, value=10_000, step=1_000,
                                        key="rmq_count"))
    with c3:
        preset = st.selectbox("Mapping preset", PRESETS, key="rmq_preset")
    st.caption("Stored positions always win: a stream read before continues right after its "
               "last stored offset. EventLab subscribes without a name: the broker tracks no "
               "consumer of ours.")
    if st.button("Start ingest", key="rmq_go", type="primary",
                 disabled=read_only or not (names or supers),
                 help="disabled in read-only mode" if read_only else None):
        sources_widgets.start_job(lambda token: start_stream_ingest(
            manager, store, config, names, start=start, until=until,  # type: ignore[arg-type]
            preset=preset, token=token, super_streams=supers), key="rmq")


def _peek_rows(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{
        "offset": r["offset"],
        "broker time": r["broker_time"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
        "bytes": r["size"],
        "value": r["value"].decode("utf-8", "replace") + (" …" if r["truncated"] else ""),
        "headers": "; ".join(f"{k}={(v or b'').decode('utf-8', 'replace')}"
                             for k, v in r["headers"]) or None,
    } for r in rows])


def peek_panel(config: RabbitConfig) -> None:
    """A few messages of a stream, decoded, nothing stored, no consumer left behind."""
    st.subheader("Peek")
    c1, c2, c3 = st.columns([2, 1, 1])
    stream = c1.text_input("Stream", key="rmq_pk_stream")
    at_kind = PEEK_AT[c2.radio("At", list(PEEK_AT), key="rmq_pk_at", horizontal=True)]
    limit = int(c3.number_input("Messages", min_value=1, max_value=500, value=20,
                                key="rmq_pk_limit"))
    at: str | int = at_kind
    if at_kind == "offset":
        at = int(st.number_input("Offset", min_value=0, value=0, key="rmq_pk_offset"))
    if st.button("Peek", key="rmq_pk_go", disabled=not stream.strip()):
        try:
            st.session_state["rmq_peeked"] = (stream.strip(), datetime.now(UTC),
                                              peek_stream(config, stream.strip(), at=at,
                                                          limit=limit))
        except EventLabError as exc:
            st.error(inert_lines(exc))
    peeked = st.session_state.get("rmq_peeked")
    if peeked:
        name, when, rows = peeked
        st.caption(f"{len(rows):,} message(s) of {inert(name)}, read at "
                   f"{when:%H:%M:%S} UTC; nothing stored.")
        if rows:
            st.dataframe(_peek_rows(rows), hide_index=True, key="rmq_pk_table")


def rabbitmq_section(manager: JobManager, store: EventStore, cur: db.Connection, *,
                     read_only: bool) -> None:
    """The whole tab (see the module)."""
    config = connection()
    if config is None:
        return
    st.caption(inert(config.describe()) + " · from EVENTLAB_RABBITMQ_* (docs/rabbitmq.md)")
    known = streams_table(config, cur)
    ingest_form(config, manager, store, known, read_only=read_only)
    peek_panel(config)
