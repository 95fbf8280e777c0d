"""The Quality page's "Invariants" section: each declared rule, the entities that broke it, a
link to Time travel at each one's first violating event, and "add to an investigation"."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from eventlab import invariants
from eventlab.errors import EventLabError
from eventlab.invariants.spec import load_or_demo
from eventlab.store.eventstore import data_version
from eventlab.timetravel import reducer_choices
from eventlab.ui import context, investigations_widgets, links
from eventlab.ui.text import inert, inert_lines

SHOWN = 200
"""Violating entities listed per invariant (the counts are exact whatever the list holds)."""


@st.cache_data(show_spinner="Checking every position of every entity…", max_entries=8)
def _results(db_path: str, version: tuple, files: tuple[str, ...],
             reducer_key: str) -> dict[str, Any]:
    rules, source = load_or_demo(list(files))
    choice = reducer_choices.default(reducer_choices.configured())
    with context.store().reading() as cur:
        found = invariants.run(cur, rules, choice.load())
    return {"source": source, "reducer": choice.label,
            "results": [r.to_dict(SHOWN) for r in found]}


def results() -> dict[str, Any] | None:
    """Every configured invariant's result (cached until the data changes); None after an
    error, which is shown."""
    try:
        from eventlab.invariants.spec import configured_files

        choice = reducer_choices.default(reducer_choices.configured())
        return _results(context.db_path(), data_version(context.cursor()),
                        tuple(configured_files()), choice.key)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None


def section() -> None:
    """The whole section: a header, where the rules come from, one expander per invariant."""
    st.header("Invariants")
    found = results()
    if found is None:
        return
    st.caption(f"Rules from {inert(found['source'])}; reducer {inert(found['reducer'])}. "
               "Each is checked at every position of every entity of its type "
               "(docs/invariants.md).")
    for i, r in enumerate(found["results"]):
        invariant(r, i)


def invariant(r: dict[str, Any], i: int) -> None:
    """One invariant: verdict, counts, violating entities with Time travel links."""
    n = r["violating_entities"]
    badge = ":green[:material/check_circle: holds]" if n == 0 else \
        ":red[:material/error: broken]"
    with st.expander(f"{badge} · **{inert(r['name'])}** · {n:,}", expanded=n > 0):
        st.markdown(inert_lines(
            f"{r['entity_type']}: when {r['when'] or 'always'}, require {r['require']}"))
        st.caption(f"{n:,} of {r['entities_checked']:,} entities, "
                   f"{r['violating_positions']:,} of {r['positions_checked']:,} positions; "
                   f"{r['recovered']:,} recovered (computed by the {r['path']} path)")
        if not n:
            return
        rows = pd.DataFrame(r["violations"])
        rows.insert(0, "time travel", [links.time_travel(str(v["entity_id"]), seq=int(v["seq"])).url
                                       for v in r["violations"]])
        st.dataframe(rows, hide_index=True, key=f"inv_rows_{i}", column_config={
            "time travel": st.column_config.LinkColumn("time travel", display_text="open")})
        if n > len(r["violations"]):
            st.caption(f"the first {len(r['violations']):,} of {n:,} entities, by entity id")
        investigations_widgets.add_popover(invariant=str(r["name"]), key=f"inv_add_{i}")
