"""AWS SNS/SQS on the Consumers page (shown when EVENTLAB_AWS_* is set): queue depth (visible,
in flight, delayed), the dead-letter queue's depth and the oldest message's age, sampled into
`queue_samples` and charted; and a peek that says what it costs before it receives anything.

Queues are named by the user (URL or name, in the page's address as `a_queues`).
"""

from __future__ import annotations

import os
import time

import pandas as pd
import streamlit as st

from eventlab.aws.config import ENV_VARS, AwsConfig
from eventlab.aws.peek import PeekedSqsMessage, peek_cost, peek_queue
from eventlab.aws.queues import queue_info, sample_row
from eventlab.charts import lag as charts
from eventlab.errors import EventLabError
from eventlab.lag import queue_samples
from eventlab.store.eventstore import EventStore
from eventlab.ui.text import inert, inert_lines


def configured() -> AwsConfig | None:
    """The AWS settings when any EVENTLAB_AWS_* is set; else None (the section is hidden)."""
    if not any(os.environ.get(name) for name in ENV_VARS):
        return None
    try:
        return AwsConfig.from_env()
    except EventLabError as exc:
        st.error(f"AWS settings: {inert_lines(exc)}")
        return None


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _age(seconds: float | None) -> str:
    return "unknown" if seconds is None else f"{seconds:,.0f} s"


def section(config: AwsConfig, store: EventStore, *, read_only: bool) -> None:
    """Depth of the queues typed in, their history, and the peek panel."""
    st.header("SQS queues")
    st.caption(f"{inert(config.describe())}. Counts are SQS's approximate attributes; reading "
               "them receives nothing. The oldest message's age comes from CloudWatch when it "
               "has a datapoint.")
    names = _names(st.text_input("Queues (URLs or names, comma-separated)", key="a_queues",
                                 bind="query-params"))
    if names:
        try:
            infos = [queue_info(config, n) for n in names]
        except EventLabError as exc:
            st.error(f"Queue depth could not be read: {inert_lines(exc)}")
            infos = []
        if infos:
            st.dataframe(pd.DataFrame([{
                "queue": i.name, "visible": i.visible, "in flight": i.in_flight,
                "delayed": i.delayed, "oldest message": _age(i.oldest_age_s),
                "max receives": i.redrive.max_receive_count if i.redrive else None,
                "dead-letter queue": i.dlq_url.rsplit("/", 1)[-1] if i.dlq_url else "",
                "DLQ depth": i.dlq_visible} for i in infos]), hide_index=True, key="a_depth")
            broker = f"sqs:{config.broker_id}"
            if not read_only:
                try:
                    queue_samples.write_if_due(store, [sample_row(i, broker) for i in infos])
                except EventLabError as exc:
                    st.warning(f"Depth sample not written: {inert_lines(exc)}")
            _history(store, broker, [i.name for i in infos])
    peek_panel(config)


def _history(store: EventStore, broker: str, names: list[str]) -> None:
    since = time.time() - 3600
    with store.reading() as cur:
        tables = [(n, queue_samples.history(cur, broker, n, since)) for n in names]
    for n, table in tables:
        if table.num_rows > len(queue_samples.SERIES):
            st.plotly_chart(charts.lag_over_time(table, "lag", f"Depth of {n} (messages, last "
                                                                 "hour)"), key=f"a_chart_{n}")


def peek_panel(config: AwsConfig) -> None:
    """Peek a queue: the cost first (from its attributes), consent, then a receive whose
    visibility is reset at once; nothing deleted."""
    with st.expander("Peek at a queue"):
        queue = st.text_input("Queue (URL or name)", key="a_peek_queue").strip()
        c1, c2 = st.columns(2)
        limit = int(c1.number_input("Messages", 1, 100, 10, key="a_peek_limit"))
        visibility = int(c2.number_input("Visibility timeout while read (s)", 1, 300, 30,
                                         key="a_peek_visibility"))
        if not queue:
            return
        try:
            info = queue_info(config, queue, with_age=False)
        except EventLabError as exc:
            st.error(f"Not peeked: {inert_lines(exc)}")
            return
        st.warning("\n\n".join(inert(line) for line in peek_cost(info, visibility)))
        agreed = st.checkbox("I understand what this peek costs", key="a_peek_ok")
        allow = True
        if info.redrive is not None:
            allow = st.checkbox(f"Peek even though messages may move to the dead-letter queue "
                                f"(maxReceiveCount {info.redrive.max_receive_count})",
                                key="a_peek_dlq")
        if not st.button("Peek", key="a_peek", disabled=not (agreed and allow)):
            return
        try:
            _, rows = peek_queue(config, info.url, limit=limit, visibility_s=visibility,
                                 i_understand=agreed, allow_dead_letter=allow)
        except EventLabError as exc:
            st.error(f"Not peeked: {inert_lines(exc)}")
            return
        st.caption(f"{len(rows)} message(s) seen; their visibility was reset at once, none "
                   "was deleted.")
        st.dataframe(pd.DataFrame(peek_rows(rows)), hide_index=True, key="a_peek_rows")


def peek_rows(rows: list[PeekedSqsMessage]) -> list[dict[str, object]]:
    """Peeked messages as table rows (bodies as text; cut ones marked)."""
    return [{
        "message id": m.message_id, "sent": m.sent_at, "receives": m.receive_count,
        "group": m.group_id or "",
        "body": m.body.decode("utf-8", "replace") + (f" … ({m.size:,} bytes)"
                                                     if m.size > len(m.body) else ""),
        "attributes": "; ".join(f"{n} ({t}) = {v}" for n, t, v in m.message_attributes),
    } for m in rows]
