"""Widgets of the Flow page: the scope (entity type, time range), the rate chart, the
transitions (Sankey + table, links into Explore), the variants (entities into Time travel)
and a correlation chain (tree + swimlane). Every control is bound to a URL query parameter.

Transitions and variants scan the whole scope inside DuckDB; their small results are cached
per database, data version and scope.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from eventlab import explore, flow
from eventlab.asof import data_version
from eventlab.charts import flow as charts
from eventlab.errors import EventLabError
from eventlab.explore import Facets
from eventlab.explore.filters import Filters
from eventlab.explore.words import filters_words
from eventlab.flow import END, START, Chain, Scope
from eventlab.republish.selection import Selection
from eventlab.timeutil import as_utc, format_utc, naive_utc
from eventlab.ui import context, links, republish_widgets
from eventlab.ui.text import inert, inert_join, inert_lines

ALL = "(all)"
VIEWS = ("Transitions", "Variants", "Chain", "Topics → groups")


def has_events(facets: Facets) -> bool:
    """False (and an explanation) when the store holds no events yet."""
    if facets.first_ts is None:
        st.info("The database has no events yet. Load some on the **Sources** page (or run "
                "`eventlab demo` and `eventlab ingest`), then come back.")
        return False
    return True


def scope_panel(facets: Facets) -> Scope:
    """Entity type and time range; returns the Scope they describe."""
    c1, c2 = st.columns([1, 3])
    options = [*facets.entity_types, ALL]  # one entity type first: flows of kinds unmixed
    if st.session_state.get("entity_type", options[0]) not in options:
        st.session_state["entity_type"] = options[0]
    etype = c1.selectbox("Entity type", options, key="entity_type", bind="query-params",
                         help="Transitions and variants are formed within each entity; "
                              f"{ALL} mixes every entity type in one graph.")
    start = end = None
    lo, hi = naive_utc(facets.first_ts), naive_utc(facets.last_ts)
    if hi > lo:
        hi_edge = hi + timedelta(minutes=1)
        rng = c2.slider("Time range (UTC)", min_value=lo, max_value=hi_edge,
                        value=(lo, hi_edge), step=timedelta(minutes=1),
                        format="YYYY-MM-DD HH:mm", key="range", bind="query-params",
                        help="Only events in the range count; an entity's pairs are formed "
                             "from its events inside it.")
        if rng[0] > lo:
            start = as_utc(rng[0])
        if rng[1] < hi_edge:
            end = as_utc(rng[1])
    return Scope(None if etype == ALL else etype, start, end)


def _scope_text(scope: Scope) -> str:
    what = f"{inert(scope.entity_type)} entities" if scope.entity_type else "all entities"
    if scope.start or scope.end:
        what += (f" · {format_utc(scope.start) if scope.start else 'start'} to "
                 f"{format_utc(scope.end) if scope.end else 'end'}")
    return what


@st.cache_data(max_entries=16, show_spinner=False)
def _rates(db: str, version: tuple, scope: Scope) -> flow.Rates:
    with context.store().reading() as cur:
        return flow.rates(cur, scope)


def rates_section(cur: Any, scope: Scope) -> None:
    """The stacked rate chart of the scope."""
    result = _rates(context.db_path(), data_version(cur), scope)
    if not result.table.num_rows:
        st.info(f"No events in this scope ({_scope_text(scope)}). Widen the time range or "
                "pick another entity type.")
        return
    st.plotly_chart(charts.rates(result.table, result.bucket, result.seconds),
                    key="flow_rates")


def view_picker() -> str:
    """Which analysis to show below the chart (a chain link opens the chain)."""
    if "view" not in st.session_state and ("correlation" in st.query_params
                                           or "event_id" in st.query_params):
        st.session_state["view"] = "Chain"
    return st.radio("Show", VIEWS, horizontal=True, key="view", bind="query-params",
                    label_visibility="collapsed") or VIEWS[0]


@st.cache_data(max_entries=16, show_spinner=False)
def _transitions(db: str, version: tuple, scope: Scope) -> pa.Table:
    with context.store().reading() as cur:
        return flow.transitions(cur, scope)


@st.cache_data(max_entries=16, show_spinner=False)
def _variants(db: str, version: tuple, scope: Scope, top: int) -> pa.Table:
    with context.store().reading() as cur:
        return flow.variants(cur, scope, top)


def explore_filters(edge: dict[str, Any], scope: Scope) -> Filters:
    """Explore's filters for the events of one transition (`follows=A>B`) in this scope."""
    return Filters(follows=(edge["from_type"], edge["to_type"]), entity_type=scope.entity_type,
                   start=scope.start, end=scope.end)


def _seconds(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def transitions_section(cur: Any, scope: Scope) -> None:
    """Sankey of the frequent transitions, a threshold slider, the table and Explore links."""
    with st.spinner("Pairing each event with the next one of its entity in DuckDB…"):
        table = _transitions(context.db_path(), data_version(cur), scope)
    edges = table.to_pylist()
    if not edges:
        st.info(f"No transitions in this scope ({_scope_text(scope)}).")
        return
    counts = sorted({e["count"] for e in edges})
    if st.session_state.get("min_pairs") not in counts:
        st.session_state.pop("min_pairs", None)
    min_pairs = (st.select_slider(
        "Hide transitions with fewer pairs than", counts, value=counts[0], key="min_pairs",
        bind="query-params", help="Rare transitions are hidden, but every event type keeps "
        "its strongest incoming and outgoing transition and stays on a path from start to "
        "end, so the graph never falls apart.") if len(counts) > 1 else counts[0])
    shown = flow.frequent(edges, int(min_pairs))
    st.plotly_chart(charts.sankey(shown, flow.node_counts(edges),
                                  f"Directly-follows transitions · {_scope_text(scope)}"),
                    key="flow_sankey")
    st.caption(f"{len(shown)} of {len(edges)} transitions shown · "
               f"{sum(e['count'] for e in shown):,} of {sum(e['count'] for e in edges):,} "
               f"pairs. ▶ start and ■ end are the beginning and end of each entity's stream "
               f"(`{START}` and `{END}` in the table, the CLI and Explore links).")
    df = pd.DataFrame(shown)
    df["median"] = [flow.duration(_seconds(v)) for v in df["median_seconds"]]
    df["p95"] = [flow.duration(_seconds(v)) for v in df["p95_seconds"]]
    df["events"] = [links.explore(explore_filters(e, scope)).url for e in shown]
    df = df[["from_type", "to_type", "count", "median", "p95", "negative_gaps", "events",
             "median_seconds", "p95_seconds"]]
    event = st.dataframe(
        df, hide_index=True, key="flow_transitions", on_select="rerun",
        selection_mode="single-row", width="stretch",
        column_config={"from_type": "from", "to_type": "to",
                       "count": st.column_config.NumberColumn("pairs", format="localized"),
                       "negative_gaps": st.column_config.NumberColumn(
                           "negative gaps", help="pairs whose next event has an earlier "
                           "time (counted as 0 in median and p95)"),
                       "events": st.column_config.LinkColumn("events", display_text="Explore"),
                       "median_seconds": None, "p95_seconds": None})
    rows = event.selection.rows if event and hasattr(event, "selection") else []
    if rows:
        edge = shown[rows[0]]
        target = links.explore(explore_filters(edge, scope))
        st.page_link(target.file, icon=":material/search:",
                     label=f"Open the {edge['count']:,} "
                           f"{inert(charts.node_label(edge['from_type']), 80)} → "
                           f"{inert(charts.node_label(edge['to_type']), 80)} events in Explore",
                     query_params=target.query)
        f = explore_filters(edge, scope)
        republish_widgets.republish_button(
            Selection.query(*explore.event_ids_query(f),
                            label=f"transition {edge['from_type']} → {edge['to_type']}",
                            words=filters_words(f)),
            key="flow_republish")


def variants_section(cur: Any, scope: Scope) -> None:
    """The most common variants per entity type; a selected one lists its entities."""
    top = int(st.number_input("Variants per entity type", 1, 200, value=10, key="top",
                              bind="query-params"))
    with st.spinner("Collecting every entity's sequence of event types in DuckDB…"):
        table = _variants(context.db_path(), data_version(cur), scope, top)
    rows = table.to_pylist()
    if not rows:
        st.info(f"No entities in this scope ({_scope_text(scope)}).")
        return
    df = pd.DataFrame({
        "entity_type": [r["entity_type"] for r in rows],
        "variant": [" → ".join(r["variant"]) for r in rows],
        "length": [r["length"] for r in rows], "entities": [r["entities"] for r in rows],
        "share": [r["share"] * 100 for r in rows]})
    st.caption("A variant is an entity's complete sequence of event types in stream order "
               "(within the time range). Select a row for its entities.")
    event = st.dataframe(
        df, hide_index=True, key="flow_variants", on_select="rerun",
        selection_mode="single-row", width="stretch",
        column_config={"entity_type": "entity type",
                       "entities": st.column_config.NumberColumn(format="localized"),
                       "share": st.column_config.ProgressColumn(
                           "share of entities", format="%.1f%%", min_value=0,
                           max_value=100)})
    picked = event.selection.rows if event and hasattr(event, "selection") else []
    if picked:
        r = rows[picked[0]]
        ids = flow.variant_entities(cur, r["entity_type"], r["variant"], scope, limit=100)
        st.markdown(f"**{r['entities']:,} {inert(r['entity_type'])} entities** with "
                    f"{inert_join(r['variant'], ' → ', 80)}" + (" (first 100)" if len(ids) == 100
                                                         else ""))
        st.dataframe(pd.DataFrame({
            "entity_id": ids,
            "time travel": [links.time_travel(i).url for i in ids]}),
            hide_index=True, key="flow_variant_entities",
            column_config={"time travel": st.column_config.LinkColumn(
                "time travel", display_text="open")})


def _chain_table(chain: Chain) -> pd.DataFrame:
    out: dict[str, list] = {"event": [], "entity": [], "seq": [], "time (UTC)": [],
                            "topic": [], "explore": [], "time travel": []}
    for row in chain.rows:
        pad = "\u2003" * row.depth + ("└ " if row.depth else "")
        e = row.event
        if e is None:
            out["event"].append(f"{pad}⚠ missing parent {row.missing_id} (not in the store)")
            for k in ("entity", "seq", "time (UTC)", "topic", "explore", "time travel"):
                out[k].append(None)
            continue
        note = "" if e.in_correlation else f" (correlation {e.correlation_id or 'none'})"
        out["event"].append(f"{pad}{e.event_type}{note}")
        out["entity"].append(e.entity_id)
        out["seq"].append(e.seq)
        out["time (UTC)"].append(format_utc(e.ts).removesuffix(" UTC")
                                 + f".{as_utc(e.ts).microsecond // 1000:03d}")
        out["topic"].append(e.topic)
        out["explore"].append(links.explore_event(e.event_id).url)
        out["time travel"].append(links.time_travel(e.entity_id, seq=e.seq).url)
    return pd.DataFrame(out)


def _open_chain(correlation: str) -> None:
    """A chain link on this page: set the bound box, which carries it into the URL."""
    st.session_state["correlation"] = correlation
    st.session_state["event_id"] = ""


def chain_section(cur: Any) -> None:
    """A correlation id (or an event id) in, its chain as a causation tree and swimlanes."""
    c1, c2 = st.columns(2)
    corr = c1.text_input("Correlation id", key="correlation", bind="query-params").strip()
    event_id = c2.text_input("…or start from an event id", key="event_id",
                             bind="query-params").strip()
    try:
        if not corr and event_id:
            corr = flow.correlation_of(cur, event_id)
        if not corr:
            examples = flow.recent_correlations(cur)
            if not examples:
                st.info("No event in this database carries a correlation id in its metadata "
                        f"({' / '.join(flow.CORRELATION_KEYS)}).")
                return
            st.caption("Enter a correlation id, or open one of the latest:")
            for i, cid in enumerate(examples):
                st.button(inert(cid, 80), key=f"chain_example_{i}", icon=":material/account_tree:",
                          type="tertiary", on_click=_open_chain, args=(cid,))
            return
        with st.spinner("Looking for every event with this correlation id…"):
            chain = flow.chain(cur, corr)
    except EventLabError as exc:
        st.warning(inert_lines(exc))
        return
    m = st.columns(4)
    m[0].metric("Events", f"{len(chain.events):,}")
    m[1].metric("Entities", f"{len(chain.lanes):,}")
    m[2].metric("Topics", f"{len(chain.topics):,}" if chain.topics else "—",
                help=", ".join(chain.topics) or "loaded from files")
    m[3].metric("Missing parents", f"{len(chain.missing_parents):,}")
    if chain.missing_parents:
        st.warning("Some events name a cause (causation id) the store does not hold: "
                   + inert_join(chain.missing_parents))
    if chain.duplicates:
        st.caption(f"{chain.duplicates} duplicated row(s) of the same event id shown once.")
    st.plotly_chart(charts.swimlane(chain), key="flow_swimlane")
    st.markdown("**Causation tree** (causes before effects; siblings by time)")
    st.dataframe(_chain_table(chain), hide_index=True, key="flow_chain", width="stretch",
                 column_config={"explore": st.column_config.LinkColumn(
                     "explore", display_text="event"),
                     "time travel": st.column_config.LinkColumn(
                         "time travel", display_text="open")})


def topics_section(store: Any) -> None:
    """For Kafka: which consumer group reads which topic, each edge labelled with the group's
    lag on it (one admin snapshot, no record read; the Consumers page has the details)."""
    from eventlab.charts import lag as lag_charts
    from eventlab.lag import topics
    from eventlab.lag.snapshot import take_snapshot
    from eventlab.ui.consumers_widgets import cluster_config

    config = cluster_config()
    if config is None:
        return
    try:
        with st.spinner(f"Reading consumer groups from {inert(config.bootstrap)} …"):
            snapshot = take_snapshot(config, store, seconds=False)
    except EventLabError as exc:
        st.error(f"Consumer groups could not be read: {inert_lines(exc)}")
        return
    if not snapshot.groups:
        st.info("No consumer groups on this cluster yet.")
        return
    st.plotly_chart(lag_charts.topic_group_graph(topics.edges(snapshot)), key="flow_topics",
                    config={"displayModeBar": False})
    st.page_link(links.page("consumers").file, label="Lag in seconds, history and verdicts",
                 icon=":material/speed:")
