"""The Sources page's peek: a few records of a topic, decoded, nothing stored; "Load from here"
turns the peek into an ingest job.

`peek_panel(conn, manager, store, read_only=...)` takes the listing of `sources_widgets.
kafka_connection()`. A peek reads only when **Peek** is clicked (`eventlab.ingest.peek`:
`assign()`, no group, no commit); the result is kept in the session, so reruns and other
widgets do not read the topic again. **Load from here** starts the same background ingest as
the "Load topics" form (`ingest.background.start_kafka_ingest`), from the first record shown
in each partition, with the mapping preset the peek used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.ingest import background
from eventlab.ingest.mapping import PRESETS, MappingSpec
from eventlab.ingest.peek import DEFAULT_RECORDS, PeekResult, peek
from eventlab.jobs import JobManager
from eventlab.kafka.peek import MAX_RECORDS
from eventlab.store.eventstore import EventStore
from eventlab.ui import sources_widgets
from eventlab.ui.kafka_cluster import Connected
from eventlab.ui.text import inert, inert_lines

STARTS = {"the newest records": "newest", "the earliest records": "earliest",
          "offsets per partition": "offsets", "a date-time (UTC)": "time"}


@dataclass(frozen=True)
class Peeked:
    """One peek's result and what it was asked (for "Load from here" and the caption)."""

    result: PeekResult
    start: str
    preset: str
    at: datetime


def _start_text(kind: str) -> str:
    if kind == "time":
        c1, c2 = st.columns(2)
        day = c1.date_input("Date (UTC)", value=date.today(), key="pk_date")
        at = c2.time_input("Time (UTC)", value=time(0, 0), key="pk_time", step=60)
        return datetime.combine(day, at, tzinfo=UTC).isoformat()
    if kind == "offsets":
        return st.text_input("Offsets", key="pk_offsets", placeholder="0:100,1:250",
                             help="P:OFFSET per partition; partitions left out are not read")
    return kind


COLUMNS = {"value": st.column_config.TextColumn("value (text, or hex)", width="large"),
           "headers": st.column_config.TextColumn("headers", width="medium"),
           "bytes": st.column_config.NumberColumn("value bytes"),
           "timestamp": "timestamp (UTC)"}
"""The column settings of a decoded-records table."""


def rows_frame(records: list[dict] | tuple[dict, ...], *, with_topic: bool = False
               ) -> pd.DataFrame:
    """Decoded records (`ingest.peek.decode_rows`) as the peek and the live tail show them."""
    rows = [{
        **({"topic": r["topic"]} if with_topic else {}),
        "partition": r["partition"], "offset": r["offset"],
        "timestamp": r["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if r["timestamp"]
        else None,
        "key": r["key"],
        "decoded": r["status"] if r["reason"] is None else f"quarantine: {r['reason']}",
        "entity_id": r["entity_id"], "event_type": r["event_type"],
        "value": r["value"], "bytes": r["value_bytes"],
        "headers": "; ".join(f"{h['key']}={h['value']}" for h in r["headers"]) or None,
    } for r in records]
    return pd.DataFrame(rows)


def _load_from_here(conn: Connected, manager: JobManager, store: EventStore,
                    peeked: Peeked) -> None:
    sources_widgets.start_job(lambda token: background.start_kafka_ingest(
        manager, store, conn.config, [peeked.result.topic],
        start=peeked.result.load_from_text, until="end", preset=peeked.preset,
        listing=conn.topics, token=token), key="pk")


def peek_panel(conn: Connected, manager: JobManager, store: EventStore, *,
               read_only: bool) -> None:
    """Topic, start, record count and mapping; Peek shows the records; Load from here."""
    st.subheader("Peek at a topic")
    names = [t.name for t in conn.topics]
    if not names:
        return
    c1, c2, c3 = st.columns([3, 2, 2])
    topic = c1.selectbox("Topic", names, key="pk_topic")
    count = c2.number_input("Records", min_value=1, max_value=MAX_RECORDS,
                            value=DEFAULT_RECORDS, step=10, key="pk_max")
    preset = c3.selectbox("Mapping preset", PRESETS, key="pk_preset",
                          help="decode as an ingest with this preset would")
    kind = STARTS[st.radio("Start at", list(STARTS), key="pk_start", horizontal=True)]
    start = _start_text(kind)
    if st.button("Peek", key="pk_go", disabled=not topic or (kind == "offsets" and not start),
                 help="reads the records; stores nothing, joins no consumer group"):
        try:
            with st.spinner(f"Reading up to {int(count)} records of {inert(topic)} ..."):
                result = peek(conn.config, topic, start, int(count),
                              spec=MappingSpec(preset=preset))
        except EventLabError as exc:
            st.session_state.pop("pk_result", None)
            st.error(inert_lines(exc))
            return
        st.session_state["pk_result"] = Peeked(result, start, preset, datetime.now(UTC))
    peeked: Peeked | None = st.session_state.get("pk_result")
    if peeked is None:
        return
    result = peeked.result
    st.caption(
        f"{len(result.rows)} record(s) of **{inert(result.topic)}** from "
        f"{inert(peeked.start)}, read at "
        f"{peeked.at:%H:%M:%S} UTC: {result.decoded} decode ({result.presets}"
        f" mapping, preset {peeked.preset}), {result.quarantined} would be quarantined. "
        "Nothing was stored.")
    for note in result.notes:
        st.info(inert_lines(note))
    if result.rows:
        st.dataframe(rows_frame(result.rows), hide_index=True, key="pk_table",
                     column_config=COLUMNS)
    st.caption("Load from here: " + ", ".join(
        f"partition {p} from offset {o:,}" for (_, p), o in result.load_from.items())
        + ". Partitions EventLab has stored before continue after their stored offset.")
    if st.button("Load from here", key="pk_load", type="primary",
                 disabled=read_only or not result.rows,
                 help="disabled in read-only mode" if read_only else
                 "start an ingest job of this topic from these positions, until the end"):
        _load_from_here(conn, manager, store, peeked)
