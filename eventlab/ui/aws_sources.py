"""The Sources page's AWS tab: taps of SNS topics (create, list with depth, remove) and loading a
tap queue as a background job (progress and cancel in the jobs panel).

Shown only when EVENTLAB_AWS_* names an endpoint or a profile (docs/aws.md). Nothing touches AWS
until a button is clicked. Creating and removing taps and loading are refused in read-only mode.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from eventlab.aws.config import AwsConfig
from eventlab.aws.taps import Tap, create_tap, list_taps, remove_tap
from eventlab.errors import EventLabError
from eventlab.ingest.mapping import PRESETS
from eventlab.ingest.sqs_background import start_sqs_ingest
from eventlab.jobs import JobManager
from eventlab.store.eventstore import EventStore
from eventlab.ui import sources_widgets
from eventlab.ui.text import inert, inert_lines

STOPS = {"the queue is empty": "empty", "follow": "follow", "a number of messages": "count"}


def configured() -> bool:
    """True when EVENTLAB_AWS_* names an endpoint or a profile (a bad value counts: its error
    is said on the tab)."""
    try:
        return AwsConfig.from_env().configured
    except EventLabError:
        return True


def _taps() -> list[Tap]:
    return st.session_state.get("aws_taps", [])


def _refresh(config: AwsConfig) -> None:
    try:
        st.session_state["aws_taps"] = list_taps(config)
    except EventLabError as exc:
        st.error(inert_lines(exc))


def _done(config: AwsConfig, said: str) -> None:
    """After a change: list the taps again and rerun, saying what was done."""
    _refresh(config)
    st.session_state["aws_said"] = said
    st.rerun()


def taps_panel(config: AwsConfig, *, read_only: bool) -> None:
    """The taps with their depth; create one for a topic ARN; remove one."""
    st.subheader("Taps")
    st.caption("A tap is an EventLab-owned SQS queue subscribed to an SNS topic (the SNS "
               "envelope kept): it receives what is published from now on and takes nothing "
               "from the topic's other subscribers.")
    if said := st.session_state.pop("aws_said", None):
        st.success(said)
    if st.button("List taps", key="aws_list", help="asks SQS for the taps and their depth"):
        _refresh(config)
    taps = _taps()
    if taps:
        st.dataframe(pd.DataFrame([{"tap": t.name, "topic": t.topic_arn, "waiting": t.visible,
                                    "in flight": t.in_flight, "FIFO": t.fifo, "queue URL": t.url}
                                   for t in taps]), hide_index=True, key="aws_taps_table")
    elif "aws_taps" in st.session_state:
        st.caption("No taps yet: create one below.")
    c1, c2 = st.columns([3, 1])
    arn = c1.text_input("Topic ARN", key="aws_topic_arn",
                        placeholder="arn:aws:sns:us-east-1:123456789012:orders")
    c2.write("")
    if c2.button("Create tap", key="aws_create", disabled=read_only or not arn.strip(),
                 help="disabled in read-only mode" if read_only else None):
        try:
            tap = create_tap(config, arn.strip())
        except EventLabError as exc:
            st.error(inert_lines(exc))
        else:
            _done(config, f"Tap {inert(tap.name)} receives {inert(tap.topic_arn)} from now on.")
    if taps:
        c1, c2 = st.columns([3, 1])
        gone = c1.selectbox("Remove tap", [t.name for t in taps], key="aws_remove_pick")
        c2.write("")
        if c2.button("Remove", key="aws_remove", disabled=read_only or gone is None,
                     help="unsubscribes the tap and deletes its queue (and what waits in it)"):
            try:
                removed = remove_tap(config, str(gone))
            except EventLabError as exc:
                st.error(inert_lines(exc))
            else:
                _done(config, f"Removed {inert(removed.name)} (subscription and queue).")


def ingest_form(config: AwsConfig, manager: JobManager, store: EventStore, *,
                read_only: bool) -> None:
    """Choose a tap, a stop and a mapping; Start drains it into the store as a job."""
    st.subheader("Load a tap")
    taps = _taps()
    if not taps:
        st.caption("List the taps to choose one to load.")
        return
    by_name = {t.name: t for t in taps}
    name = st.selectbox("Tap", list(by_name), key="aws_ingest_pick")
    c1, c2 = st.columns(2)
    with c1:
        stop_kind = STOPS[st.radio("Stop when", list(STOPS), key="aws_stop")]
        until: str | int = stop_kind
        if stop_kind == "count":
            until = int(st.number_input("Messages", min_value=1, value=1_000, step=100,
                                        key="aws_count"))
    with c2:
        preset = st.selectbox("Mapping preset", PRESETS, key="aws_preset")
    st.caption("Each round is stored with the messages' ids in one transaction, then deleted "
               "from the tap: a message is stored once even after a crash.")
    if st.button("Start ingest", key="aws_go", type="primary",
                 disabled=read_only or name is None,
                 help="disabled in read-only mode" if read_only else None):
        url = by_name[str(name)].url
        sources_widgets.start_job(lambda token: start_sqs_ingest(
            manager, store, config, url, until=until,  # type: ignore[arg-type]
            preset=preset, token=token), key="aws")


def aws_section(manager: JobManager, store: EventStore, *, read_only: bool) -> None:
    """The whole tab (see the module)."""
    try:
        config = AwsConfig.from_env()
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    st.caption(inert(config.describe()) + " · from EVENTLAB_AWS_* (docs/aws.md)")
    taps_panel(config, read_only=read_only)
    ingest_form(config, manager, store, read_only=read_only)
