"""Widgets of the "As of" page: the question (type, time, compare), counts, tables, changes.

Populations are computed in DuckDB into temporary tables of the session's cursor
(`asof.materialize`); this module keeps the last few per session and drops older ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import streamlit as st

from eventlab import asof
from eventlab.asof import AsOf
from eventlab.charts import asof as charts
from eventlab.errors import EventLabError
from eventlab.explore import Facets
from eventlab.timeutil import as_utc, format_utc, naive_utc

KEEP = 3  # populations kept per session (temporary tables in DuckDB memory)
PAGE = 200


@dataclass(frozen=True)
class Question:
    """What the user asks: entities of a type as of T (and T2), on a basis, with deletes."""

    entity_type: str
    at: datetime
    at2: datetime | None
    basis: str
    delete_types: tuple[str, ...]


def label(ts: datetime) -> str:
    """A time as the page shows it."""
    return format_utc(ts)


def _compare_toggled(mid: datetime, hi: datetime) -> None:
    """Comparing starts from T1 half-way and T2 at the end, unless T2 was set already."""
    if st.session_state.get("compare"):
        st.session_state["at"] = mid
        st.session_state.setdefault("at2", hi)


def question(facets: Facets, default_type: Callable[[], str]) -> Question | None:
    """The controls; None when the store has no events."""
    if not facets.entity_types or facets.first_ts is None or facets.last_ts is None:
        st.info("The database has no events yet.")
        return None
    lo, hi = naive_utc(facets.first_ts), naive_utc(facets.last_ts) + timedelta(seconds=1)
    c1, c2, c3 = st.columns([1, 2, 1])
    if st.session_state.get("type") not in facets.entity_types:
        st.session_state["type"] = default_type()
    entity_type = c1.selectbox("Entity type", facets.entity_types, key="type",
                               bind="query-params")
    mid = (lo + (hi - lo) / 2).replace(second=0)
    compare = c3.toggle("Compare two times", key="compare", bind="query-params",
                        on_change=_compare_toggled, args=(mid, hi))
    at = c2.datetime_input("As of (UTC)" if not compare else "T1 (UTC)", value=hi,
                           min_value=lo,
                           max_value=hi, key="at", bind="query-params", step=60,
                           format="YYYY-MM-DD")
    at2 = None
    if compare:
        at2 = c2.datetime_input("T2 (UTC)", value=hi, min_value=lo, max_value=hi, key="at2",
                                bind="query-params", step=60, format="YYYY-MM-DD")
    c4, c5 = st.columns([1, 3])
    basis = c4.segmented_control("Time basis", list(asof.SQL_BASES), key="asof_basis",
                                 format_func={"event_time": "event time",
                                              "kafka_time": "Kafka time"}.get,
                                 default="event_time", required=True, bind="query-params",
                                 help="T is compared with each event's time (ts) or its Kafka "
                                      "timestamp (events without one never count).")
    deletes = c5.multiselect("Event types that delete the entity", facets.event_types,
                             key="asof_deletes", bind="query-params",
                             help="Besides tombstones (is_delete), these make the state None.")
    if at is None:
        return None
    return Question(entity_type, as_utc(at), None if at2 is None else as_utc(at2),
                    basis or "event_time", tuple(deletes))


def compute(cur: object, q: Question, at: datetime, version: object) -> AsOf | None:
    """Materialise one population (reused if this session already has it)."""
    started = time.perf_counter()
    try:
        with st.spinner(f"Folding every {q.entity_type} as of {label(at)} in DuckDB…"):
            result = asof.materialize(cur, at, entity_type=q.entity_type, basis=q.basis,
                                      delete_types=q.delete_types, version=version)
    except EventLabError as exc:
        st.error(f"{exc}")
        return None
    kept: list[str] = st.session_state.setdefault("_asof_tables", [])
    if result.table in kept:
        kept.remove(result.table)
    else:
        st.session_state[f"_asof_ms_{result.table}"] = (time.perf_counter() - started) * 1000
    kept.append(result.table)
    while len(kept) > KEEP:
        asof.drop(cur, AsOf(kept.pop(0), at, None, q.basis, 0, 0))
    return result


def headline(result: AsOf) -> None:
    """Entities, existing and deleted at T, and how long DuckDB took."""
    c1, c2, c3 = st.columns(3)
    c1.metric(f"{result.entity_type} entities with events by then", f"{result.entities:,}")
    c2.metric("Existing (state not None)", f"{result.existing:,}")
    c3.metric("Deleted", f"{result.deleted:,}")
    ms = st.session_state.get(f"_asof_ms_{result.table}")
    if ms is not None:
        st.caption(f"Computed inside DuckDB with the merge reducer in {ms / 1000:.2f} s.")


def field_picker(cur: object, result: AsOf) -> str | None:
    """The top-level field to count by (default `status` when there is one)."""
    fields = asof.top_fields(cur, result)
    if not fields:
        st.caption("No state has top-level fields.")
        return None
    if st.session_state.get("by") not in fields:
        st.session_state["by"] = "status" if "status" in fields else fields[0]
    return st.selectbox("Count by field", fields, key="by", bind="query-params")


def counts(cur: object, result: AsOf, field: str) -> None:
    """Bar chart of the entities per value of the field."""
    table = asof.counts_by(cur, result, field).to_pylist()
    st.plotly_chart(charts.population_counts(table, field, label(result.at)),
                    key="asof_counts")


def _tt_link(entity_id: str, at: datetime) -> str:
    return "./time-travel?" + urlencode({"entity_id": entity_id, "at": as_utc(at).isoformat()})


def entities_table(cur: object, result: AsOf, field: str | None) -> None:
    """A page of the entities with their top-level fields, and a link into Time travel."""
    fields = asof.top_fields(cur, result, limit=12)
    if field in fields:
        fields = [field, *(f for f in fields if f != field)]
    c1, c2 = st.columns([3, 1])
    prefix = c1.text_input("Entity id starts with", key="asof_prefix").strip()
    pages = max(1, -(-result.entities // PAGE))
    page_no = int(c2.number_input(f"Page (of {pages:,})", 1, pages, key="asof_page")) - 1
    table = asof.rows_page(cur, result, fields, prefix=prefix, limit=PAGE,
                           offset=page_no * PAGE).to_pandas()
    table.insert(1, "time travel", [_tt_link(e, result.at) for e in table["entity_id"]])
    st.dataframe(table, hide_index=True, key="asof_rows", width="stretch",
                 column_config={"time travel": st.column_config.LinkColumn(
                     "time travel", display_text="open"),
                     "ts": st.column_config.DatetimeColumn("last event (UTC)")})


def comparison(cur: object, a: AsOf, b: AsOf, field: str) -> None:
    """Created, deleted, changed; counts at T1 and T2; transitions; the changed entities."""
    cmp = asof.compare(cur, a, b, field)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Created", f"{cmp.created:,}")
    c2.metric("Deleted", f"{cmp.deleted:,}")
    c3.metric("Changed", f"{cmp.changed:,}")
    c4.metric("Unchanged", f"{cmp.unchanged:,}")
    st.plotly_chart(charts.compare_counts(cmp.counts.to_pylist(), field, label(a.at),
                                          label(b.at)), key="asof_compare_chart")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**How counts of `{field}` moved**")
        st.dataframe(cmp.counts.to_pandas(), hide_index=True, key="asof_moves")
    with right:
        st.markdown(f"**Transitions of `{field}`** (entities whose value moved)")
        st.dataframe(cmp.transitions.to_pandas(), hide_index=True, key="asof_transitions")
    st.markdown("**Changed entities** (first 200)")
    table = asof.changed_page(cur, a, b, field, limit=PAGE).to_pandas()
    table.insert(1, "time travel", [_tt_link(e, b.at) for e in table["entity_id"]])
    st.dataframe(table, hide_index=True, key="asof_changed", width="stretch",
                 column_config={"time travel": st.column_config.LinkColumn(
                     "time travel", display_text="open"),
                     "at_t1": f"{field} at T1", "at_t2": f"{field} at T2"})
