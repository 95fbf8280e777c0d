"""Widgets of the Tour page: a step picker bound to the URL, the step's text with its real
examples, the embedded chart and the link that opens the page in the right state."""

from __future__ import annotations

import streamlit as st

from eventlab import explore, tour
from eventlab.charts import explore as explore_charts
from eventlab.ui import context, links
from eventlab.ui.text import inert_join


def _go(index: int) -> None:
    st.query_params["step"] = str(index + 1)


def _chosen(labels: list[str]) -> None:
    _go(labels.index(st.session_state["tour_step"]))


def pick(steps: tuple[tour.Step, ...]) -> int:
    """Step number (0-based) from the URL's `step` (1-based), with back / next buttons."""
    labels = [f"{i + 1}. {s.title}" for i, s in enumerate(steps)]
    raw = st.query_params.get("step", "1")
    current = min(max(int(raw) if raw.isdigit() else 1, 1), len(steps)) - 1
    st.session_state["tour_step"] = labels[current]  # the URL decides, the box follows
    st.selectbox("Step", labels, key="tour_step", on_change=_chosen, args=(labels,))
    c1, c2, _ = st.columns([1, 1, 4])
    c1.button("◀ back", disabled=current == 0, key="tour_back", on_click=_go,
              args=(current - 1,))
    c2.button("next ▶", disabled=current == len(steps) - 1, key="tour_next", on_click=_go,
              args=(current + 1,))
    return current


def show(filled: tour.Filled, number: int, total: int) -> None:
    """The step: concept, text, chart, and the link into the app."""
    step = filled.step
    st.subheader(f"{number} of {total} · {step.title}", anchor=False)
    st.caption(f"Concept: {step.concept}")
    st.markdown(filled.text)
    if step.chart == "counts_over_time":
        table, bucket = explore.counts_over_time(context.cursor(), explore.Filters())
        st.plotly_chart(explore_charts.counts_over_time(table, bucket), key="tour_chart")
    if filled.missing:
        st.info(f"This store has no example for {inert_join(filled.missing)} (it is there in "
                "the demo data: `make run` loads it).")
    target = links.to(step.page, filled.params)
    st.page_link(target.file, label=f"Open {target.spec.title} here",
                 icon=":material/open_in_new:", query_params=target.query or None)
