"""The per-data-version facts a page reads, brought up to date before it renders, as one rule
for every page: only the rows ingested since are read, a store another write holds is not
waited for, and a refresh that fails (a memory limit, a damaged file) is said and the page goes
on reading the events themselves (slower, never wrong: every reader checks the facts are fresh).
"""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.facts import FACTS
from eventlab.ui import context
from eventlab.ui.text import inert_lines

SPINNERS: dict[str, str] = {
    "summaries": "Counting the new events by hour and type…",
    "follows": "Pairing each new event with the previous one of its entity…",
    "current states": "Folding the entities with new events…",
    "payload shapes": "Reading the new payloads' fields…",
    "search index": "Indexing the new payloads' trigrams for search…",
}
"""What the page says while each set of facts (`facts.FACTS`) is brought up to date."""


def refresh(*names: str) -> None:
    """Refresh the named facts (keys of `facts.FACTS`) of the app's store, in order."""
    store = context.store()
    for name in names:
        try:
            with st.spinner(SPINNERS[name]):
                FACTS[name](store)
        except EventLabError as exc:
            st.warning(inert_lines(f"The stored {name} could not be brought up to date, so "
                                   f"this page reads the events instead (slower): {exc}"))
            return
