"""The per-data-version facts a page reads, brought up to date before it renders, as one rule
for every page: only the rows ingested since are read, a store another write holds is not
waited for, and a refresh that fails (a memory limit, a damaged file) is said and the page goes
on reading the events themselves (slower, never wrong: every reader checks the facts are fresh).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from eventlab.asof.current import refresh_store as refresh_current
from eventlab.errors import EventLabError
from eventlab.quality import shapes
from eventlab.store.eventstore import EventStore
from eventlab.ui import context
from eventlab.ui.text import inert_lines

FACTS: dict[str, tuple[str, Callable[[EventStore], str]]] = {
    "summaries": ("Counting the new events by hour and type…",
                  lambda store: store.refresh_summaries()),
    "follows": ("Pairing each new event with the previous one of its entity…",
                lambda store: store.refresh_follows()),
    "current states": ("Folding the entities with new events…", refresh_current),
    "payload shapes": ("Reading the new payloads' fields…",
                       lambda store: store.refresh_lazily(shapes.fresh, shapes.refresh)),
}
"""Each set of facts: what the spinner says while it refreshes, and the refresh."""


def refresh(*names: str) -> None:
    """Refresh the named facts (keys of `FACTS`) of the app's store, in order."""
    store = context.store()
    for name in names:
        spinner, run = FACTS[name]
        try:
            with st.spinner(spinner):
                run(store)
        except EventLabError as exc:
            st.warning(inert_lines(f"The stored {name} could not be brought up to date, so "
                                   f"this page reads the events instead (slower): {exc}"))
            return
