"""Widgets of the "As of" page: the question (type, time, compare), counts, tables, changes.

Populations are computed in DuckDB into temporary tables of the session's cursor
(`asof.materialize`); this module keeps the last few per session and drops older ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from eventlab import asof
from eventlab.asof import AsOf
from eventlab.charts import asof as charts
from eventlab.errors import EventLabError
from eventlab.explore import Facets
from eventlab.timeutil import as_utc, format_utc, naive_utc, parse_utc
from eventlab.ui import links, url_state
from eventlab.ui.text import inert, inert_lines

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


def _minute_floor(ts: datetime) -> datetime:
    return naive_utc(ts).replace(second=0)


def _minute_ceil(ts: datetime) -> datetime:
    """The first whole minute at or after `ts`: the time widgets count in minutes, and the
    default "as of" must include the last event, not stop up to a minute before it."""
    exact = as_utc(ts).replace(tzinfo=None)
    floor = exact.replace(second=0, microsecond=0)
    return floor if floor == exact else floor + timedelta(minutes=1)


def _seed(key: str, value: object) -> None:
    """A widget's first value, unless the URL brings one (`bind="query-params"`).

    The widgets get no `value=`: a widget with both a default and a Session State value makes
    Streamlit warn, and its value would depend on which one wins.
    """
    if key not in st.session_state and key not in st.query_params:
        st.session_state[key] = value


def link_time(name: str, raw: str, lo: datetime, hi: datetime) -> tuple[datetime | None, str]:
    """A link's As of time (`at`, `t1`) as the minute the picker shows, and what the page says
    about it (the picker works to the minute and within the data's span)."""
    try:
        t = naive_utc(parse_utc(raw))
    except ValueError:
        return None, f"{name}={raw}: not a time (use ISO 8601, e.g. 2025-03-05T14:03)."
    minute = t.replace(second=0, microsecond=0)
    if not lo <= minute <= hi:
        return None, (f"{name}={raw}: outside the data's span ({lo:%Y-%m-%d %H:%M} to "
                      f"{hi:%Y-%m-%d %H:%M} UTC).")
    if minute != t:
        return minute, f"{name}={raw}: As of works to the minute; showing {minute:%Y-%m-%d %H:%M}."
    return minute, ""


def _accept_link_times(lo: datetime, hi: datetime) -> None:
    """On arrival by link: say what the picker cannot show exactly, and show the nearest."""
    for key in ("at", "t1"):
        raw = st.query_params.get(key)
        if raw is None or key in st.session_state:
            continue
        value, problem = link_time(key, raw, lo, hi)
        if problem:
            st.warning(inert(problem))
            if value is not None:
                st.session_state[key] = value


def _compare_toggled(lo: datetime) -> None:
    """Comparing keeps the chosen time as T2 and starts T1 half-way from the first event."""
    if st.session_state.get("compare"):
        at = st.session_state.get("at")
        if isinstance(at, datetime) and "t1" not in st.session_state:
            st.session_state["t1"] = (lo + (at - lo) / 2).replace(second=0, microsecond=0)


_BASIS_LABELS = {"event_time": "event time", "kafka_time": "Kafka time"}


def _basis(cur: object, c: Any, entity_type: str) -> tuple[str, tuple[datetime, datetime]] | None:
    """The time basis control, offering only the bases this type's events have times on."""
    spans = {b: asof.basis_span(cur, entity_type, b) for b in asof.SQL_BASES}
    offered = [b for b, span in spans.items() if span is not None]
    if not offered:
        st.info(f"No {inert(entity_type)} event has a time.")
        return None
    basis = c.segmented_control("Time basis", offered, key="asof_basis",
                                format_func=_BASIS_LABELS.get, default=offered[0],
                                required=True, bind="query-params",
                                help="T is compared with each event's time (ts) or its Kafka "
                                     "timestamp.") or offered[0]
    if spans["kafka_time"] is None:
        c.caption(f"Kafka time is not offered: no {inert(entity_type)} event has a Kafka timestamp "
                  "(they were loaded from files).")
    span = spans[basis]
    assert span is not None
    return basis, span


def question(facets: Facets, default_type: Callable[[], str], cur: object) -> Question | None:
    """The controls; None when the store has no events (or no time is picked)."""
    if not facets.entity_types or facets.first_ts is None or facets.last_ts is None:
        st.info("The database has no events yet.")
        return None
    c1, c2, c3 = st.columns([1, 2, 1])
    if st.session_state.get("type") not in facets.entity_types and \
            st.query_params.get("type") not in facets.entity_types:
        st.session_state["type"] = default_type()
    entity_type = c1.selectbox("Entity type", facets.entity_types, key="type",
                               bind="query-params")
    picked = _basis(cur, c2, entity_type)
    if picked is None:
        return None
    basis, (first, last) = picked
    lo, hi = _minute_floor(first), _minute_ceil(last)
    url_state.accept_bool("compare")
    compare = c3.toggle("Compare two times", key="compare", bind="query-params",
                        on_change=_compare_toggled, args=(lo,))
    for key in ("at", "t1"):  # another type or basis: times outside its span start over
        value = st.session_state.get(key)
        if isinstance(value, datetime) and not lo <= value <= hi:
            del st.session_state[key]
    _accept_link_times(lo, hi)
    _seed("at", hi)
    t_cols = st.columns([1, 1, 2])
    t1 = None
    if compare:
        _seed("t1", (lo + (hi - lo) / 2).replace(second=0, microsecond=0))
        t1 = t_cols[0].datetime_input("T1 (UTC)", value=None, min_value=lo, max_value=hi,
                                      key="t1", bind="query-params", step=60,
                                      format="YYYY-MM-DD")
    at = t_cols[1 if compare else 0].datetime_input(
        "T2 (UTC)" if compare else "As of (UTC)", value=None, min_value=lo, max_value=hi,
        key="at", bind="query-params", step=60, format="YYYY-MM-DD",
        help=f"Counts every event at or before this minute. The last event is at "
             f"{label(last)}; the default is the minute after it, so it counts.")
    deletes = t_cols[2].multiselect("Event types that delete the entity", facets.event_types,
                                    key="asof_deletes", bind="query-params",
                                    help="Besides tombstones (is_delete), these make the state "
                                         "None.")
    if at is None or (compare and t1 is None):
        st.info("Pick a time (UTC) above.")
        return None
    if t1 is None:
        return Question(entity_type, as_utc(at), None, basis, tuple(deletes))
    return Question(entity_type, as_utc(t1), as_utc(at), basis, tuple(deletes))


def compute(cur: object, q: Question, at: datetime, version: object) -> AsOf | None:
    """Materialise one population (reused if this session already has it)."""
    started = time.perf_counter()
    try:
        with st.spinner(f"Folding every {inert(q.entity_type)} as of {label(at)} in DuckDB…"):
            result = asof.materialize(cur, at, entity_type=q.entity_type, basis=q.basis,
                                      delete_types=q.delete_types, version=version)
    except EventLabError as exc:
        st.error(inert_lines(exc))
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


def headline(result: AsOf, before: AsOf | None = None) -> None:
    """Entities, existing and deleted at T (at T2, with the change since T1, when comparing),
    and how long DuckDB took. The heading says which time the numbers count."""
    if before is None:
        st.markdown(f"##### As of {label(result.at)}")
        when = "by then"
    else:
        st.markdown(f"##### At T2 = {label(result.at)} (changes since T1 = "
                    f"{label(before.at)})")
        when = "by T2"

    def delta(now: int, then: int, colour: str = "normal") -> dict[str, Any]:
        """The metric's change since T1: no change reads "no change", grey, with no arrow."""
        if before is None:
            return {}
        if now == then:
            return {"delta": "no change since T1", "delta_color": "off", "delta_arrow": "off"}
        return {"delta": f"{now - then:+,} since T1", "delta_color": colour}

    c1, c2, c3 = st.columns(3)
    c1.metric(f"{inert(result.entity_type)} entities with events {when}", f"{result.entities:,}",
              **delta(result.entities, before.entities if before else 0))
    c2.metric(f"Existing (state not None) {'at T2' if before else ''}".strip(),
              f"{result.existing:,}",
              **delta(result.existing, before.existing if before else 0))
    c3.metric(f"Deleted {'at T2' if before else ''}".strip(), f"{result.deleted:,}",
              **delta(result.deleted, before.deleted if before else 0, "inverse"))
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
    return links.time_travel(entity_id, at=at).url


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
        st.markdown(f"**How counts of {inert(field)} moved**")
        st.dataframe(cmp.counts.to_pandas(), hide_index=True, key="asof_moves")
    with right:
        st.markdown(f"**Transitions of {inert(field)}** (entities whose value moved)")
        st.dataframe(cmp.transitions.to_pandas(), hide_index=True, key="asof_transitions")
    st.markdown("**Changed entities** (first 200)")
    table = asof.changed_page(cur, a, b, field, limit=PAGE).to_pandas()
    table.insert(1, "time travel", [_tt_link(e, b.at) for e in table["entity_id"]])
    st.dataframe(table, hide_index=True, key="asof_changed", width="stretch",
                 column_config={"time travel": st.column_config.LinkColumn(
                     "time travel", display_text="open"),
                     "at_t1": f"{field} at T1", "at_t2": f"{field} at T2"})
