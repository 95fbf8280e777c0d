"""Widgets of the Explore page. Every filter is bound to a URL query parameter (deep links)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import streamlit as st

from eventlab import explore
from eventlab.explore import EventDetail, EventKey, Facets, Filters
from eventlab.explore.duplicates import LABELS, LEGEND
from eventlab.store.eventstore import StoreStats, data_version
from eventlab.store.schema import CAUSATION_KEYS, CORRELATION_KEYS
from eventlab.timeutil import as_utc, naive_utc, parse_utc
from eventlab.ui import context, investigations_widgets, links, schema_widgets, url_state
from eventlab.ui.text import inert

ALL = explore.filters.ALL_TYPES
PAYLOAD_TREE_LIMIT = 50_000
"""A payload longer than this (characters) is shown cut, as text, with its size."""


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


def _typed_time(key: str) -> datetime | None:
    """A typed UTC time (`2025-03-05 14:03:07`); None when empty; an error when unreadable."""
    raw = (st.session_state.get(key) or "").strip()
    if not raw:
        return None
    try:
        return parse_utc(raw)
    except ValueError:
        st.error(f"{key}={inert(raw)} is not a time: type it as 2025-03-05 14:03:07 (UTC) or "
                 "ISO 8601.")
        return None


def _slider_moved(lo: datetime, hi_edge: datetime) -> None:
    # The slider is the coarse control: moving it rewrites the typed times (to the minute).
    a, b = st.session_state["time"]
    st.session_state["from"] = "" if a <= lo else f"{a:%Y-%m-%d %H:%M:%S}"
    st.session_state["to"] = "" if b >= hi_edge else f"{b:%Y-%m-%d %H:%M:%S}"


def _time_filters(facets: Facets) -> tuple[datetime | None, datetime | None]:
    lo = naive_utc(facets.first_ts) if facets.first_ts else None
    hi = naive_utc(facets.last_ts) if facets.last_ts else None
    if not (lo and hi and hi > lo):
        return None, None
    hi_edge = hi + timedelta(minutes=1)
    c1, c2, c3 = st.columns([4, 1, 1])
    rng = c1.slider("Time range (UTC)", min_value=lo, max_value=hi_edge, value=(lo, hi_edge),
                    step=timedelta(minutes=1), format="YYYY-MM-DD HH:mm", key="time",
                    bind="query-params", on_change=_slider_moved, args=(lo, hi_edge))
    c2.text_input("From (UTC)", key="from", bind="query-params", placeholder=f"{lo:%Y-%m-%d %H:%M}",
                  help="A time to the second, e.g. 2025-03-05 14:03:07; overrides the slider.")
    c3.text_input("To (UTC)", key="to", bind="query-params", placeholder=f"{hi:%Y-%m-%d %H:%M}",
                  help="A time to the second; overrides the slider.")
    start, end = _typed_time("from"), _typed_time("to")
    if start is None and rng[0] > lo:
        start = as_utc(rng[0])
    if end is None and rng[1] < hi_edge:
        end = as_utc(rng[1])
    return start, end


P = explore.filters.PARAMS
"""Each filter's widget key and URL parameter (one table, shared with `from_params`)."""


def _accept_link(facets: Facets) -> None:
    """Before the widgets read the URL: say which link values the page cannot use (naming
    the parameter), and give the toggle the yes/no forms it does not read itself (dup=1)."""
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    for problem in explore.filters.link_problems(params, facets.event_types,
                                                 facets.entity_types):
        st.warning(f"{inert(problem)} (left out of the filters below).")
    url_state.accept_bool(P["duplicates_only"])


def open_filters(f: Filters) -> None:
    """Show exactly these filters (a link inside Explore: correlation, cause, every copy):
    set the widgets, which carry them into the URL, and close the open event."""
    defaults = Filters()
    for name, key in P.items():
        value = getattr(f, name)
        if name == "event_types":
            st.session_state[key] = list(value)
        elif name == "entity_type":
            st.session_state[key] = value or ALL
        elif name == "follows":
            st.session_state[key] = f"{value[0]}>{value[1]}" if value else ""
        elif name in ("start", "end"):
            st.session_state[key] = f"{value:%Y-%m-%d %H:%M:%S}" if value else ""
        elif name in ("duplicates_only", "json_op"):
            st.session_state[key] = value
        else:
            st.session_state[key] = value or getattr(defaults, name) or ""
    st.session_state.pop("time", None)
    st.session_state.pop("_picked", None)
    if "ev" in st.query_params:
        del st.query_params["ev"]


def filter_panel(facets: Facets) -> Filters:
    """The filter widgets, each bound to its URL parameter; returns the Filters they describe
    (raises FilterError on a bad transition)."""
    _accept_link(facets)
    start, end = _time_filters(facets)
    c1, c2, c3 = st.columns([3, 1, 2])
    types = c1.multiselect("Event types", facets.event_types, key=P["event_types"],
                           bind="query-params", placeholder="all event types")
    etype = c2.selectbox("Entity type", [ALL, *facets.entity_types], key=P["entity_type"],
                         bind="query-params")
    prefix = c3.text_input("Entity id starts with", key=P["entity_prefix"], bind="query-params",
                           placeholder="e.g. order-0001")
    c4, c5, c6, c7 = st.columns([2, 2, 1, 2])
    text = c4.text_input("Text in payload", key=P["text"], bind="query-params")
    jpath = c5.text_input("JSON path in payload", key=P["json_path"], bind="query-params",
                          placeholder="e.g. status or $.items[0].sku")
    jop = c6.selectbox("Operator", explore.JSON_OPS, key=P["json_op"], bind="query-params")
    jval = c7.text_input("Value", key=P["json_value"], bind="query-params",
                         disabled=jop in explore.UNARY_OPS,
                         placeholder="applied once typed" if jop not in explore.UNARY_OPS
                         else "no value needed")
    c8, c9, c10 = st.columns([3, 2, 2])
    event_id = c8.text_input("Event id", key=P["event_id"], bind="query-params")
    key = c9.text_input("Kafka key", key=P["key"], bind="query-params",
                        help="The record key as text (exact match)")
    dup = c10.toggle("Only duplicated event ids", key=P["duplicates_only"], bind="query-params",
                     help="Event ids stored more than once: identical copies (retries, a file "
                          "copy beside a Kafka copy) or conflicting payloads")
    c11, c12, c13 = st.columns([3, 2, 2])
    corr = c11.text_input("Correlation id", key=P["correlation_id"], bind="query-params")
    cause = c12.text_input("Caused by (causation id)", key=P["causation_id"],
                           bind="query-params")
    follows = c13.text_input("Transition", key=P["follows"], bind="query-params",
                             placeholder="A>B, ^>A or A>$",
                             help="Events of type A directly followed by B in their entity")
    f = Filters(start=start, end=end, event_types=tuple(types),
                entity_type=None if etype == ALL else etype,
                entity_prefix=prefix.strip() or None, text=text.strip() or None,
                json_path=jpath.strip() or None, json_op=jop,
                json_value=jval if jval != "" else None, event_id=event_id.strip() or None,
                key=key or None, duplicates_only=bool(dup),
                correlation_id=corr.strip() or None, causation_id=cause.strip() or None,
                follows=explore.parse_follows(follows))
    if f.json_path and not f.json_complete():
        st.caption(f"JSON path {inert(f.json_path)} {inert(f.json_op)} …: type a value to apply "
                   "it.")
    return f


def reset_page_on_change(filters: Filters) -> None:
    """Go back to page 1 when the filters change (but not on the first run of a deep link)."""
    marker = repr(filters)
    previous = st.session_state.get("_filters_marker")
    if previous is not None and previous != marker:
        st.session_state["page"] = 1
    st.session_state["_filters_marker"] = marker


def count_all_asked(filters: Filters) -> bool:
    """True once "Count all" was pressed for these filters (a search counts up to
    `explore.COUNT_CAP` otherwise)."""
    return st.session_state.get("_count_all") == repr(filters)


def page_caption(page: explore.Page) -> None:
    """How many events match (exact, or "at least" where a search stopped counting, with a
    button that counts them all) and which page this is."""
    pages = f"{page.pages:,}" if page.exact else f"{page.pages:,}+"
    total = f"{page.total:,}" if page.exact else f"at least {page.total:,}"
    st.caption(f"{total} matching events · page {page.page + 1} of {pages} · "
               f"{explore.PAGE_SIZE} per page, sorted by time")
    if not page.exact:
        st.button("Count all", key="count_all", icon=":material/functions:",
                  help="A search stops counting at "
                       f"{max(explore.COUNT_CAP, page.total):,} matches; counting them all "
                       "reads every payload once more", on_click=_count_all,
                  args=(st.session_state.get("_filters_marker"),))


def _count_all(marker: str | None) -> None:
    st.session_state["_count_all"] = marker


@st.cache_data(show_spinner=False, max_entries=16)
def _chart_counts(db_path: str, version: tuple, filters: Filters) -> tuple[pa.Table, str]:
    with context.store().reading() as cur:
        return explore.counts_over_time(cur, filters)


def chart_counts(filters: Filters) -> tuple[pa.Table, str]:
    """`explore.counts_over_time` of the filters, once per data version: a search's chart
    reads every payload twice (its span, its buckets), so paging or opening an event does not
    repeat it."""
    return _chart_counts(context.db_path(), data_version(context.cursor()), filters)


def page_picker(total_pages: int) -> int:
    """1-based page number input bound to the URL; returns the 0-based page."""
    if st.session_state.get("page", 1) > total_pages:
        st.session_state["page"] = total_pages
    n = st.number_input(f"Page (of {total_pages:,})", min_value=1, max_value=total_pages,
                        step=1, key="page", bind="query-params")
    return int(n) - 1




def events_table(page: explore.Page, marks: dict[str, str]) -> EventKey | None:
    """The page of events, duplicated ids marked; returns the key of a row the user has just
    selected (a selection kept from an earlier run returns None, so stepping works)."""
    df = page.rows.to_pandas()
    if df.empty:
        st.info("No events match these filters.")
        return None
    df["ts"] = pd.to_datetime(df["ts"]).dt.tz_convert("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    df.insert(0, "dup", df["event_id"].map(lambda e: LABELS.get(marks.get(e), "")))
    event = st.dataframe(df, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="events_table", height=min(420, 35 * (len(df) + 1) + 3),
                         column_config={
                             "ts": "time (UTC)", "offset": "offset / row",
                             "dup": st.column_config.TextColumn(
                                 "dup", help=LEGEND, width=96),
                             "source": st.column_config.TextColumn(
                                 "source", help="kafka, or the file the event came from")})
    selected = event.selection.rows if event and hasattr(event, "selection") else []
    if not selected:
        st.session_state.pop("_picked", None)
        return None
    row = df.iloc[selected[0]]
    key = EventKey(str(row["entity_id"]), int(row["seq"]), int(row["offset"]))
    if st.session_state.get("_picked") == key:
        return None
    st.session_state["_picked"] = key
    return key


def _parse_json(value: Any) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def _id_links(meta: dict[str, Any]) -> None:
    """Correlation and causation ids as links to the events that share them."""
    found = []
    for keys, param, label in ((CORRELATION_KEYS, "correlation", "correlation"),
                               (CAUSATION_KEYS, "causation", "caused by")):
        value = next((meta[k] for k in keys if meta.get(k)), None)
        if value:
            found.append((param, label, str(value)))
    for (param, label, value), col in zip(found, st.columns(max(1, len(found))), strict=False):
        # The cause is the event whose id this is; siblings share the causation id.
        target = Filters(event_id=value) if param == "causation" else Filters(correlation_id=value)
        col.button(f"{label} {inert(value, 80)}", key=f"ev_link_{param}", on_click=open_filters,
                   args=(target,), icon=":material/arrow_upward:" if param == "causation"
                   else ":material/link:", type="tertiary")
        if param == "correlation":
            chain = links.flow_chain(value)
            col.page_link(chain.file, label="its chain in Flow", icon=":material/account_tree:",
                          query_params=chain.query)


def _headers_table(headers: list[dict[str, Any]] | None) -> None:
    rows = explore.headers_for_display(headers)
    if not rows:
        st.caption("none")
        return
    st.dataframe(pd.DataFrame(rows, columns=["key", "value"]), hide_index=True,
                 key="ev_headers", column_config={"value": st.column_config.TextColumn(
                     "value", help="UTF-8 text, else hex (0x...); null stays empty")})


def event_copy(ev: dict[str, Any]) -> links.EventCopy:
    """The stored copy an event row is: entity, seq and source position."""
    return links.EventCopy(str(ev["entity_id"]), int(ev["seq"]), offset=ev.get("offset"),
                           source=ev.get("source"), topic=ev.get("topic"),
                           partition=ev.get("partition"))


def event_panel(detail: EventDetail, marks: dict[str, str] | None = None) -> EventKey | None:
    """Payload and metadata as JSON trees, headers, position and neighbour buttons.

    Returns the key of a neighbour the user stepped to, if any.
    """
    ev = detail.event
    st.subheader(f"{inert(ev['event_type'])} · {inert(ev['entity_id'])} · seq {ev['seq']}",
                 anchor=False)
    st.caption(f"event {detail.position + 1} of {detail.count} of this entity · id "
               f"{inert(ev['event_id'])} · {ev['ts']:%Y-%m-%d %H:%M:%S.%f} UTC"
               + (" (time had no zone; taken as UTC)" if ev.get("ts_assumed_utc") else ""))
    mark = (marks or {}).get(ev["event_id"])
    if mark:
        st.warning(f"This event id is stored more than once ({LABELS[mark]}).")
        st.button("Show every copy", key="ev_every_copy", on_click=open_filters,
                  args=(Filters(event_id=str(ev["event_id"])),))
    nav = st.columns(3)
    go_to = None
    if nav[0].button("◀ previous in entity", disabled=detail.previous is None, key="ev_prev"):
        go_to = detail.previous
    if nav[1].button("next in entity ▶", disabled=detail.next is None, key="ev_next"):
        go_to = detail.next
    tt = links.time_travel(str(ev["entity_id"]), copy=event_copy(ev))
    nav[2].page_link(tt.file, label="Open in Time Travel", icon=":material/history:",
                     query_params=tt.query)
    fix = links.produce_copy(str(ev["event_id"]))
    nav[2].page_link(fix.file, label="Edit and send a corrected copy", icon=":material/edit:",
                     query_params=fix.query)
    meta = _parse_json(ev.get("metadata"))
    schema_widgets.event_schema_caption(meta, context.cursor())
    _id_links(meta if isinstance(meta, dict) else {})
    investigations_widgets.add_popover(bookmark=str(ev["event_id"]), entity=str(ev["entity_id"]),
                                       key="ex_inv_event")
    if ev.get("is_delete"):
        st.warning("This event is a delete (tombstone): the entity's state ends here.")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Payload**")
        payload = ev.get("payload")
        if payload is not None and len(payload) > PAYLOAD_TREE_LIMIT:
            st.caption(f"{len(payload):,} characters: the first {PAYLOAD_TREE_LIMIT:,} shown as "
                       "text (the whole payload is stored; query it in the SQL console).")
            st.code(payload[:PAYLOAD_TREE_LIMIT] + " …", language=None)
        else:
            st.json(_parse_json(payload), expanded=2)
    with c2:
        st.markdown("**Metadata**")
        st.json(meta or {}, expanded=2)
    c3, c4 = st.columns(2)
    with c3:
        st.markdown("**Kafka headers** (in record order)")
        _headers_table(ev.get("headers"))
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
