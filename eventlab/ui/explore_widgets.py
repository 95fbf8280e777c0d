"""Widgets of the Explore page. Every filter is bound to a URL query parameter (deep links)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import streamlit as st

from eventlab import explore
from eventlab.explore import EventDetail, EventKey, Facets, Filters
from eventlab.store.eventstore import StoreStats
from eventlab.timeutil import as_utc, naive_utc

ALL = "(all)"


def stats_header(stats: StoreStats) -> None:
    """Events, entities, event types, time span and quarantined rows."""
    cols = st.columns(5)
    cols[0].metric("Events", f"{stats.events:,}")
    cols[1].metric("Entities", f"{stats.entities:,}")
    cols[2].metric("Event types", f"{stats.event_types:,}")
    span = "—"
    if stats.first_ts and stats.last_ts:
        span = f"{(stats.last_ts - stats.first_ts).total_seconds() / 86400:.1f} days"
    cols[3].metric("Time span", span, help=_span_help(stats))
    cols[4].metric("Quarantined", f"{stats.quarantined:,}")


def _span_help(stats: StoreStats) -> str:
    if not stats.first_ts:
        return "no events"
    return f"{stats.first_ts:%Y-%m-%d %H:%M:%S} to {stats.last_ts:%Y-%m-%d %H:%M:%S} UTC"


def filter_panel(facets: Facets) -> Filters:
    """The filter widgets; returns the Filters they describe."""
    lo = naive_utc(facets.first_ts) if facets.first_ts else None
    hi = naive_utc(facets.last_ts) if facets.last_ts else None
    start = end = None
    if lo and hi and hi > lo:
        hi_edge = hi + timedelta(minutes=1)
        rng = st.slider("Time range (UTC)", min_value=lo, max_value=hi_edge, value=(lo, hi_edge),
                        step=timedelta(minutes=1), format="YYYY-MM-DD HH:mm", key="time",
                        bind="query-params")
        if rng[0] > lo:
            start = as_utc(rng[0])
        if rng[1] < hi_edge:
            end = as_utc(rng[1])
    c1, c2, c3 = st.columns([3, 1, 2])
    types = c1.multiselect("Event types", facets.event_types, key="types",
                           bind="query-params", placeholder="all event types")
    etype = c2.selectbox("Entity type", [ALL, *facets.entity_types], key="etype",
                         bind="query-params")
    prefix = c3.text_input("Entity id starts with", key="entity", bind="query-params",
                           placeholder="e.g. order-0001")
    c4, c5, c6, c7 = st.columns([2, 2, 1, 2])
    text = c4.text_input("Text in payload", key="text", bind="query-params")
    jpath = c5.text_input("JSON path in payload", key="jpath", bind="query-params",
                          placeholder="e.g. status or $.items[0].sku")
    jop = c6.selectbox("Operator", explore.JSON_OPS, key="jop", bind="query-params")
    jval = c7.text_input("Value", key="jval", bind="query-params")
    return Filters(start=start, end=end, event_types=tuple(types),
                   entity_type=None if etype == ALL else etype,
                   entity_prefix=prefix.strip() or None, text=text.strip() or None,
                   json_path=jpath.strip() or None, json_op=jop,
                   json_value=jval if jval != "" else None)


def reset_page_on_change(filters: Filters) -> None:
    """Go back to page 1 when the filters change (but not on the first run of a deep link)."""
    marker = repr(filters)
    previous = st.session_state.get("_filters_marker")
    if previous is not None and previous != marker:
        st.session_state["page"] = 1
    st.session_state["_filters_marker"] = marker


def page_picker(total_pages: int) -> int:
    """1-based page number input bound to the URL; returns the 0-based page."""
    if st.session_state.get("page", 1) > total_pages:
        st.session_state["page"] = total_pages
    n = st.number_input(f"Page (of {total_pages:,})", min_value=1, max_value=total_pages,
                        step=1, key="page", bind="query-params")
    return int(n) - 1


def events_table(page: explore.Page) -> EventKey | None:
    """The page of events; selecting a row returns its key."""
    df = page.rows.to_pandas()
    if df.empty:
        st.info("No events match these filters.")
        return None
    df["ts"] = pd.to_datetime(df["ts"]).dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    event = st.dataframe(df, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="events_table", height=420,
                         column_config={"ts": "time (UTC)", "offset": "offset / row"})
    selected = event.selection.rows if event and hasattr(event, "selection") else []
    if selected:
        row = df.iloc[selected[0]]
        return EventKey(str(row["entity_id"]), int(row["seq"]), int(row["offset"]))
    return None


def _parse_json(value: Any) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def event_panel(detail: EventDetail) -> EventKey | None:
    """Payload and metadata as JSON trees, headers, position and neighbour buttons.

    Returns the key of a neighbour the user stepped to, if any.
    """
    ev = detail.event
    st.subheader(f"{ev['event_type']} · {ev['entity_id']} · seq {ev['seq']}")
    st.caption(f"event {detail.position + 1} of {detail.count} of this entity · id "
               f"`{ev['event_id']}` · {ev['ts']:%Y-%m-%d %H:%M:%S.%f} UTC"
               + (" (time had no zone; taken as UTC)" if ev.get("ts_assumed_utc") else ""))
    nav = st.columns(2)
    go_to = None
    if nav[0].button("◀ previous in entity", disabled=detail.previous is None, key="ev_prev"):
        go_to = detail.previous
    if nav[1].button("next in entity ▶", disabled=detail.next is None, key="ev_next"):
        go_to = detail.next
    st.page_link("pages/timetravel_page.py", label="Open in Time Travel",
                 icon=":material/history:",
                 query_params={"entity_id": str(ev["entity_id"]), "seq": str(ev["seq"])})
    if ev.get("is_delete"):
        st.warning("This event is a delete (tombstone): the entity's state ends here.")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Payload**")
        st.json(_parse_json(ev.get("payload")), expanded=2)
    with c2:
        st.markdown("**Metadata**")
        st.json(_parse_json(ev.get("metadata")) or {}, expanded=2)
    c3, c4 = st.columns(2)
    with c3:
        st.markdown("**Headers**")
        headers = explore.headers_for_display(ev.get("headers"))
        if headers:
            st.json(headers, expanded=1)
        else:
            st.caption("none")
        if ev.get("key") is not None or ev.get("value") is not None:
            st.markdown("**Raw record**")
            st.json({"key": explore.show_bytes(ev.get("key")),
                     "value": explore.show_bytes(ev.get("value"), 300)}, expanded=True)
    with c4:
        st.markdown("**Source position**")
        st.json({k: str(ev[k]) if isinstance(ev[k], datetime) else ev[k]
                 for k in ("source", "topic", "partition", "offset", "event_version",
                           "kafka_ts", "ingested_at") if ev.get(k) is not None},
                expanded=True)
    return go_to
