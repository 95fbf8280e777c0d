"""Widgets of the Consumers page: which cluster, the groups with their verdicts, one group's
partitions, lag charts over time, the topic → group graph, and where a group stands.

The cluster is the one the Sources page connected to (its connection form), else
EVENTLAB_KAFKA_* / the `[kafka]` secrets; the bootstrap can be changed here. While the page is
open a fragment redraws every 5 s and writes a lag sample when the interval has passed
(EVENTLAB_LAG_SAMPLE_S; not in read-only mode); the app's background sampler
(`ui.lag_sampler`) records the configured cluster with no page open. EventLab never
joins or commits for a group, except the explicit rewind (docs/lag-reset.md).
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from eventlab.charts import lag as charts
from eventlab.errors import EventLabError
from eventlab.kafka.config import KafkaConfig
from eventlab.lag import sampler, samples, settings, topics, where
from eventlab.lag.arith import lag_duration
from eventlab.lag.rules import NO_COMMIT, OK, WARN
from eventlab.lag.snapshot import GroupLag, LagSnapshot, PartitionLag, take_snapshot
from eventlab.store.eventstore import EventStore
from eventlab.timeutil import format_utc
from eventlab.ui import kafka_cluster, lag_sampler, links, rewind_widgets
from eventlab.ui.text import inert, inert_lines

REFRESH = "5s"
RANGES = {"15 minutes": 900, "1 hour": 3600, "6 hours": 6 * 3600, "1 day": 86400,
          "7 days": 7 * 86400}
_COLOURS = {OK: "green", WARN: "orange", NO_COMMIT: "gray"}




def badge(status: str) -> str:
    """A markdown status badge: OK green, WARN orange, STOP/STALL/REWIND red."""
    return f":{_COLOURS.get(status, 'red')}-badge[{status}]"


def kafka_wanted(*, others: bool) -> bool:
    """Show the Kafka part? Yes when a cluster was chosen or no other broker is configured;
    else (RabbitMQ or SQS only) a caption and a switch instead of an error about the built-in
    default address that nobody asked for."""
    if kafka_cluster.chosen() or not others:
        return True
    st.caption("No Kafka cluster is configured (EVENTLAB_KAFKA_BOOTSTRAP, the [kafka] secrets "
               "or a connection on the Sources page).")
    return st.toggle("Look at a Kafka cluster anyway", key="c_kafka_anyway")


def cluster_config() -> KafkaConfig | None:
    """The cluster to look at: the Sources page's connection, else the configured one; the
    bootstrap field changes only the address (secrets stay where they are)."""
    try:
        base, origin = kafka_cluster.cluster()
    except EventLabError as exc:
        st.error(f"Kafka settings: {inert_lines(exc)}")
        return None
    bootstrap = st.text_input("Bootstrap servers", value=base.bootstrap, key="c_bootstrap",
                              help=f"default from {origin}")
    try:
        config = dataclasses.replace(base, bootstrap=bootstrap.strip())
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None
    st.caption(f"Cluster {inert(config.describe())} (default from {origin}). EventLab reads "
               "group offsets through the admin API and never joins or commits for a group.")
    return config


def live(config: KafkaConfig, store: EventStore, *, read_only: bool) -> None:
    """The refreshing part: snapshot, sample when due, and everything drawn from it.

    When the cluster does not answer, the error stays on the page with "Try again" and the
    refreshing stops (a dead broker would otherwise hold the session every 5 s for the
    timeout); the rest of the app is untouched."""
    failed = st.session_state.get("c_failed")
    if failed is not None and failed[0] == config.bootstrap:
        st.error(f"Consumer groups could not be read: {inert_lines(failed[1])}")
        st.button("Try again", key="c_retry", on_click=st.session_state.pop,
                  args=("c_failed", None))
        return
    st.session_state.pop("c_failed", None)

    def draw() -> None:
        try:
            with st.spinner(f"Reading consumer groups from {inert(config.bootstrap)} …"):
                snapshot = take_snapshot(config, store)
        except EventLabError as exc:
            st.session_state["c_failed"] = (config.bootstrap, str(exc))
            st.rerun(scope="app")
            return
        wrote = False
        if not read_only and settings.sample_interval_s() > 0:
            try:
                wrote = sampler.sample_if_due(store, snapshot)
            except EventLabError as exc:
                st.warning(f"Lag sample not written: {inert_lines(exc)}")
        render(snapshot, store, wrote=wrote, read_only=read_only, config=config)

    st.fragment(run_every=REFRESH)(draw)()
    # The rewind panel stands outside the 5-second refresh: its choices (an open "To" list, a
    # typed group name) would otherwise be redrawn under the user's hands.
    shown = st.session_state.get(_REWIND_FOR)
    if shown is not None:
        rewind_widgets.panel(config, store, shown, read_only=read_only)


_REWIND_FOR = "_c_rewind_group"
"""The chosen group as the last snapshot saw it: the rewind panel's subject."""


def render(snapshot: LagSnapshot, store: EventStore, *, wrote: bool, read_only: bool,
           config: KafkaConfig | None = None) -> None:
    """Groups, the graph, and the chosen group's partitions, history and standing."""
    st.caption(f"As of {format_utc_epoch(snapshot.taken_at)}, refreshed every 5 s; "
               f"{sampling_note(snapshot.bootstrap, wrote)}.")
    for note in snapshot.notes:
        st.warning(inert_lines(note))
    if not snapshot.groups:
        st.info("No consumer groups on this cluster yet.")
        return
    groups_table(snapshot)
    with st.expander("Topics → consumer groups", expanded=True):
        st.plotly_chart(charts.topic_group_graph(topics.edges(snapshot)), key="c_graph",
                        config={"displayModeBar": False})
    names = [g.group for g in snapshot.groups]
    chosen = st.selectbox("Group", names, key="c_group")
    group = snapshot.group(chosen) if chosen else None
    if group is None:
        return
    group_panel(group)
    history_charts(store, snapshot.bootstrap, group)
    standing(store, group)
    if config is not None:
        previous = st.session_state.get(_REWIND_FOR)
        st.session_state[_REWIND_FOR] = group
        if previous is None or previous.group != group.group:
            st.rerun(scope="app")  # a new group: the panel outside the refresh follows it


def sampling_note(bootstrap: str, wrote: bool) -> str:
    """How lag history is recorded for this cluster: by the app's background sampler, only
    while this page is open, or not at all (and why)."""
    off = lag_sampler.off_reason()
    running = None if off else lag_sampler.ensure_started()
    just = " (one was just written)" if wrote else ""
    if running is not None and running.config.bootstrap == bootstrap:
        status = running.status()
        failed = (f"; its last round failed: {inert(status.last_error)}"
                  if status.last_error else "")
        return (f"the app samples this cluster every {status.interval_s:g} s in the "
                f"background, page open or not ({status.written} sample(s) since it started)"
                f"{just}{failed}")
    if off and off.startswith("sampling is off"):
        return off  # our own sentence (`lag_sampler.off_reason`), no data in it
    interval = settings.sample_interval_s()
    why = (f"the background sampler follows {inert(running.config.bootstrap)}" if running
           else f"no background sampler: {inert(off)}")
    return f"a sample is stored every {interval:g} s while this page is open ({why}){just}"


def format_utc_epoch(at: float) -> str:
    """Epoch seconds as the pages show a time."""
    return format_utc(datetime.fromtimestamp(at, UTC))




def _secs(value: float | None, estimated: bool = False) -> str:
    if value is None:
        return "—"
    text = lag_duration(value)
    return f"{text} (estimated)" if estimated else text


UNCUT = {"ETA": st.column_config.TextColumn("ETA", width="medium"),
         "max lag": st.column_config.TextColumn("max lag", width="medium"),
         "why": st.column_config.TextColumn("why", width="large")}
"""Columns of sentences ("not catching up", a verdict's reason) wide enough to read whole."""


def groups_table(snapshot: LagSnapshot) -> None:
    """One row per group: state, members, lag, no-commit partitions, worst lag in seconds."""
    rows = []
    for g in snapshot.groups:
        rows.append({
            "group": g.group, "status": g.status, "state": g.info.state,
            "members": "unknown" if g.info.members is None else len(g.info.members),
            "topics": ", ".join(sorted({p.topic for p in g.partitions})),
            "lag (records)": g.total_lag, "no commit": g.no_commit,
            "max lag": _secs(g.max_lag_seconds), "why": g.reason})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="c_groups",
                 column_config={"no commit": st.column_config.NumberColumn(
                     help="partitions of its topics the group never committed: not counted "
                          "in the lag as if caught up"), **UNCUT})
    unknown = [g.group for g in snapshot.groups if g.info.describe_error]
    if unknown:
        st.caption("Members unknown: the broker's group description could not be read "
                   "(the state is shown as the group list gives it).")


def partition_rows(group: GroupLag) -> list[dict[str, object]]:
    """The per-partition table of a group, as shown."""
    return [{
        "partition": f"{p.topic}/{p.partition}",
        "committed": "no commit" if p.committed is None else f"{p.committed:,}",
        "end": p.end, "lag": p.lag,
        "lag seconds": _secs(p.lag_seconds, p.lag_seconds_estimated),
        "from": p.lag_seconds_source,
        "rate /s": None if p.rate_per_s is None else round(p.rate_per_s, 2),
        "ETA": _eta(p), "status": p.status, "why": p.reason,
    } for p in group.partitions]


def _eta(p: PartitionLag) -> str:
    if p.lag is None:
        return "—"
    if p.eta_seconds is None:
        return "not catching up" if p.rate_per_s is not None else "—"
    return _secs(p.eta_seconds)


def group_panel(group: GroupLag) -> None:
    """The group's badge and reason, its partitions, and the samples behind each verdict."""
    members = ("unknown" if group.info.members is None else
               f"{len(group.info.members)}")
    st.markdown(f"{badge(group.status)} **{inert(group.group)}** · state "
                f"{inert(group.info.state)} · members {members} · lag {group.total_lag:,} "
                f"records · {inert(group.reason)}")
    st.dataframe(pd.DataFrame(partition_rows(group)), hide_index=True, key="c_partitions",
                 column_config=UNCUT)
    with st.expander("Samples behind each verdict"):
        for p in group.partitions:
            st.markdown(f"{badge(p.status)} {inert(p.topic)}/{p.partition}: {inert(p.reason)}")
            if p.samples:
                st.dataframe(pd.DataFrame([{
                    "at": format_utc_epoch(s.at), "committed": s.committed, "end": s.end,
                    "lag": s.lag} for s in p.samples]), hide_index=True,
                    key=f"c_samples_{p.topic}_{p.partition}")


def history_charts(store: EventStore, bootstrap: str, group: GroupLag) -> None:
    """Lag in records and in seconds over the chosen range, per partition."""
    label = st.segmented_control("History", list(RANGES), default="1 hour", key="c_range")
    since = time.time() - RANGES[label or "1 hour"]
    with store.reading() as cur:
        table = samples.history(cur, bootstrap, group.group, since)
    if table.num_rows == 0:
        st.caption("No stored samples for this group yet.")
        return
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.lag_over_time(table, "lag"), key="c_chart_records")
    c2.plotly_chart(charts.lag_over_time(table, "lag_seconds"), key="c_chart_seconds")


def standing(store: EventStore, group: GroupLag) -> None:
    """The stored event at a partition's committed offset: the next one the group processes."""
    lagging = [p for p in group.partitions if p.committed is not None and p.lag]
    st.subheader("Where the group stands")
    if not lagging:
        st.caption("Caught up (or no commit) everywhere: no event is waiting.")
        return
    labels = {f"{p.topic}/{p.partition} at offset {p.committed:,}": p for p in lagging}
    chosen = st.selectbox("Partition", list(labels), key="c_where")
    p = labels[chosen]
    assert p.committed is not None
    with store.reading() as cur:
        ev = where.event_at(cur, p.topic, p.partition, p.committed)
    if ev is None:
        st.info(f"The record at offset {p.committed:,} of {inert(p.topic)}/{p.partition} is not "
                "in the database: load the topic on the Sources page to see it.")
        return
    st.markdown(f"Next to process: **{inert(ev.event_type)}** of {inert(ev.entity_id)} "
                f"(seq {ev.seq}, event time {ev.ts}, id {inert(ev.event_id)})")
    if ev.payload:
        st.code(ev.payload[:2000], language="json")
    c1, c2 = st.columns(2)
    ex = links.explore_event(ev.event_id)
    tt = links.time_travel(ev.entity_id, copy=links.EventCopy(
        ev.entity_id, ev.seq, ev.offset, "kafka", ev.topic, ev.partition))
    c1.page_link(ex.file, label="Open in Explore", query_params=ex.query)
    c2.page_link(tt.file, label="Open in Time travel at this event", query_params=tt.query)
