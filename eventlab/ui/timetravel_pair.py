"""The Time travel page's "Pin and diff" tab: two pinned positions (seqs; `pin_a`, `pin_b` in
the URL) of the entity, or one position under a second reducer (`pin_reducer`), with the state
diff from A to B and the events between."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from eventlab.errors import EventLabError
from eventlab.timetravel import Loaded
from eventlab.timetravel.pair import PairDiff, pair_diff
from eventlab.timetravel.reducer_choices import ReducerChoice
from eventlab.ui import context
from eventlab.ui.text import inert, inert_lines
from eventlab.ui.timetravel_panels import _changes_table, fmt
from eventlab.ui.timetravel_widgets import fold_cache, link_index

SAME = "(the same reducer)"
BETWEEN_ROWS = 200


def _index(loaded: Loaded, raw: str, fallback: int) -> int:
    """A pinned seq as a position; a value it cannot use is said, the fallback used."""
    if not raw.strip():
        return fallback
    index, problem = link_index(loaded.fold, raw.strip(), None)
    if problem:
        st.warning(inert(problem))
    return fallback if index is None else index


def pair_tab(loaded: Loaded, index: int, choices: list[ReducerChoice],
             choice: ReducerChoice) -> None:
    """Pin A and B (default: the event before this one, and this one) and compare."""
    events = loaded.fold.events
    c1, c2, c3 = st.columns(3)
    raw_a = c1.text_input("A: seq", key="pin_a", bind="query-params",
                          help=f"Default: the event before this one (seq "
                               f"{events[max(index - 1, 0)].seq})")
    raw_b = c2.text_input("B: seq", key="pin_b", bind="query-params",
                          help=f"Default: this event (seq {events[index].seq})")
    others = [c.label for c in choices if c.label != choice.label]
    other_label = c3.selectbox("B under the reducer", [SAME, *others], key="pin_reducer",
                               bind="query-params")
    a = _index(loaded, raw_a, max(index - 1, -1))
    b = _index(loaded, raw_b, index)
    other = None
    if other_label != SAME:
        picked = next(c for c in choices if c.label == other_label)
        try:
            other = fold_cache().get(context.cursor(), context.db_path(), loaded.entity_id,
                                     picked.key, picked.load).fold
        except EventLabError as exc:
            st.error(inert_lines(exc))
            return
    try:
        result = pair_diff(loaded.fold, a, b, other)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    _show(result, other_label)


def _where(side: object) -> str:
    event = getattr(side, "event", None)
    if event is None:
        return "before the first event"
    return f"seq {event.seq} · {inert(event.event_type)} · {fmt(event.ts)}"


def _show(result: PairDiff, other_label: str) -> None:
    st.caption(f"A: {_where(result.a)} → B: {_where(result.b)}"
               + (f" (B under {inert(other_label)})" if other_label != SAME else ""))
    for name, side in (("A", result.a), ("B", result.b)):
        if side.error is not None:
            st.warning(f"{name}: {inert(side.error)} (its state is the one before that event)")
    if result.changes:
        counts = {op: sum(1 for c in result.changes if c.op == op)
                  for op in ("add", "change", "remove")}
        st.caption(f"{counts['add']} added · {counts['change']} changed · "
                   f"{counts['remove']} removed")
        _changes_table(result.changes, "at A", "at B", key="tt_pair_diff", marks=True)
    else:
        st.caption("The two states are equal.")
    if result.between:
        word = "undone going back" if result.backwards else "applied"
        st.markdown(f"**{len(result.between):,} events {word} between A and B**")
        st.dataframe(pd.DataFrame([{"seq": e.seq, "event_type": e.event_type, "ts": e.ts,
                                    "event_id": e.event_id}
                                   for e in result.between[:BETWEEN_ROWS]]),
                     hide_index=True, key="tt_pair_between")
        if len(result.between) > BETWEEN_ROWS:
            st.caption(f"The first {BETWEEN_ROWS} are listed.")
