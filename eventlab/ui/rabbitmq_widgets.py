"""RabbitMQ on the Consumers page (shown when a RabbitMQ connection is configured): named
stream consumers' lag with verdicts and history, and queue depths.

Stream consumers are named by the user (in the URL: `r_streams`, `r_consumers`, `r_queues`;
RabbitMQ 3.10 cannot list the names offsets are stored under); EventLab only asks
(`query_offset`) and reads unnamed. Queue depth comes from the management API on loopback,
else an AMQP passive declare (unacked then unknown).
"""

from __future__ import annotations

import os
import time

import pandas as pd
import streamlit as st

from eventlab.charts import lag as charts
from eventlab.errors import EventLabError
from eventlab.lag import sampler, samples
from eventlab.lag.rabbitmq_lag import take_stream_snapshot
from eventlab.rabbitmq.config import ENV_VARS, RabbitConfig
from eventlab.rabbitmq.queues import (
    CLASSIC_PEEK_COST,
    PeekedMessage,
    peek_classic,
    peek_quorum,
    queue_depth,
)
from eventlab.store.eventstore import EventStore
from eventlab.ui.consumers_widgets import UNCUT, partition_rows
from eventlab.ui.text import inert, inert_lines


def configured() -> RabbitConfig | None:
    """The RabbitMQ settings when any EVENTLAB_RABBITMQ_* is set; else None (section hidden)."""
    if not any(os.environ.get(name) for name in ENV_VARS):
        return None
    try:
        return RabbitConfig.from_env()
    except EventLabError as exc:
        st.error(f"RabbitMQ settings: {inert_lines(exc)}")
        return None


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def section(config: RabbitConfig, store: EventStore, *, read_only: bool) -> None:
    """Stream consumers' lag and queue depths for the names typed in."""
    st.header("RabbitMQ")
    st.caption(f"{inert(config.describe())}. Stream consumers: the offset each stored "
               "(query_offset) + 1 is where it reads next; EventLab stores nothing on the broker.")
    c1, c2 = st.columns(2)
    streams = _names(c1.text_input("Streams (comma-separated)", key="r_streams",
                                   bind="query-params"))
    names = _names(c2.text_input("Consumer names (comma-separated)", key="r_consumers",
                                   bind="query-params"))
    if streams and names:
        try:
            snapshot = take_stream_snapshot(config, [(s, n) for s in streams for n in names],
                                            store)
        except EventLabError as exc:
            st.error(f"Stream consumers could not be read: {inert_lines(exc)}")
        else:
            if not read_only:
                try:
                    sampler.sample_if_due(store, snapshot)
                except EventLabError as exc:
                    st.warning(f"Lag sample not written: {inert_lines(exc)}")
            rows = [{"consumer": g.group, **r} for g in snapshot.groups
                    for r in partition_rows(g)]
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="r_lag", column_config=UNCUT)
            _history(store, snapshot.bootstrap, names)
    queues = _names(st.text_input("Queues (comma-separated)", key="r_queues",
                                  bind="query-params"))
    if queues:
        try:
            depths = [queue_depth(config, q) for q in queues]
        except EventLabError as exc:
            st.error(f"Queue depth could not be read: {inert_lines(exc)}")
            return
        st.dataframe(pd.DataFrame([{
            "queue": d.queue, "type": d.kind, "ready": d.ready,
            "unacked": "unknown" if d.unacked is None else d.unacked,
            "consumers": d.consumers, "from": d.source} for d in depths]),
            hide_index=True, key="r_depth")
    peek_panel(config)


def peek_panel(config: RabbitConfig) -> None:
    """Peek a queue: a quorum queue in place; a classic queue only after its cost is read and
    accepted. Nothing is ever acknowledged."""
    with st.expander("Peek at a queue"):
        queue = st.text_input("Queue", key="r_peek_queue").strip()
        kind = st.radio("Kind", ["quorum", "classic"], horizontal=True, key="r_peek_kind")
        limit = st.number_input("Messages", 1, 100, 10, key="r_peek_limit")
        agreed = True
        if kind == "classic":
            st.warning(CLASSIC_PEEK_COST)
            agreed = st.checkbox("I understand what this peek costs", key="r_peek_ok")
        if not st.button("Peek", key="r_peek", disabled=not (queue and agreed)):
            return
        try:
            rows = (peek_quorum(config, queue, int(limit)) if kind == "quorum" else
                    peek_classic(config, queue, int(limit), i_understand=agreed))
        except EventLabError as exc:
            st.error(f"Not peeked: {inert_lines(exc)}")
            return
        st.dataframe(pd.DataFrame(peek_rows(rows)), hide_index=True, key="r_peek_rows")


def peek_rows(rows: list[PeekedMessage]) -> list[dict[str, object]]:
    """Peeked messages as table rows (bodies as text; a quorum peek's cut bodies marked)."""
    return [{
        "position": m.position, "redelivered": m.redelivered,
        "body": m.body.decode("utf-8", "replace") + (" … (first 64 bytes)" if m.truncated
                                                     else ""),
        "properties": str(m.properties), "headers": str(m.headers),
        "x-death": "; ".join(f"{d.queue} {d.reason} x{d.count} at {d.time}" for d in m.deaths),
    } for m in rows]


def _history(store: EventStore, bootstrap: str, names: list[str]) -> None:
    since = time.time() - 3600
    with store.reading() as cur:
        tables = [(n, samples.history(cur, bootstrap, n, since)) for n in names]
    for n, table in tables:
        if table.num_rows > 1:
            st.caption(f"Lag of {inert(n)} over the last hour")
            st.plotly_chart(charts.lag_over_time(table, "lag"), key=f"r_chart_{n}")
