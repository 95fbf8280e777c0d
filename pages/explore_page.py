"""Explore: filter the stream, page through events, open one event."""

from __future__ import annotations

import streamlit as st

from eventlab import explore
from eventlab.charts import explore as charts
from eventlab.errors import EventLabError
from eventlab.explore import export
from eventlab.explore.words import filters_words
from eventlab.republish.selection import Selection
from eventlab.ui import context, export_widgets, facts, investigations_widgets, republish_widgets
from eventlab.ui import explore_widgets as w
from eventlab.ui.text import inert_lines

st.title("Explore")
store = context.store()
facts.refresh("summaries")  # the new rows since the last answer, if any (store.summaries)
cur = context.cursor()
context.live(lambda: w.stats_header(store.stats()))  # live while following Kafka

facets = explore.facets(cur)
try:
    with st.expander("Filters", expanded=True):
        filters = w.filter_panel(facets)
    w.reset_page_on_change(filters)
    count_all = w.count_all_asked(filters)
    if filters.text:  # a search reads only the blocks its skip index allows (search_index)
        facts.refresh("search index")
    first = explore.page(cur, filters, 0, count_all=count_all)
    page_no = w.page_picker(first.pages)
    page = first if page_no == 0 else explore.page(cur, filters, page_no, count_all=count_all)
except EventLabError as exc:
    st.error(inert_lines(exc))
    st.stop()

chart_slot = st.empty()  # drawn after the table: a search's chart reads every payload
w.page_caption(page)
c_export, c_inv, c_rep = st.columns([3, 1.5, 1])  # labels uncut at 1400 px
if page.total:  # nothing to export from an empty result
    with c_export:
        export_widgets.download_buttons(cur, export.filtered_events(filters), key="ex_export")
with c_inv:
    investigations_widgets.add_popover(filters=investigations_widgets.url_filters(),
                                       key="ex_inv_filters")
with c_rep:
    republish_widgets.republish_button(
        Selection.query(*explore.event_ids_query(filters), label="Explore's filtered set",
                        words=filters_words(filters)),
        key="ex_republish")
marks = context.duplicates()
picked = w.events_table(page, marks)
if picked is not None:
    st.query_params["ev"] = picked.to_param()
try:
    with chart_slot.container():
        counts, bucket = w.chart_counts(filters)
        st.plotly_chart(charts.counts_over_time(counts, bucket), key="counts_chart")
except EventLabError as exc:
    chart_slot.error(inert_lines(exc))

key = explore.EventKey.from_param(st.query_params.get("ev", ""))
if key is not None:
    detail = explore.event_detail(cur, key)
    st.divider()
    if detail is None:
        st.warning("The event in the link is not in this database.")
    else:
        step = w.event_panel(detail, marks)
        if step is not None:
            st.query_params["ev"] = step.to_param()
            st.rerun()
