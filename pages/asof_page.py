"""As of: the state of every entity of a type at a moment, and how it moved between two."""

from __future__ import annotations

import streamlit as st

from eventlab import asof, explore
from eventlab.errors import EventLabError
from eventlab.ui import asof_widgets as w
from eventlab.ui import context, facts
from eventlab.ui.text import inert_lines

st.title("As of")
st.caption("Every entity of a type folded with the default reducer (JSON merge patch) up to a "
           "moment, computed inside DuckDB. Counts by a field, the entities, and what moved "
           "between two times.")
cur = context.cursor()
try:
    facets = explore.facets(cur)
    q = w.question(facets, lambda: asof.busiest_type(cur) or facets.entity_types[0], cur)
except EventLabError as exc:  # out of memory, a damaged store: said, not a traceback
    st.error(inert_lines(exc))
    st.stop()
if q is None:
    st.stop()

facts.refresh("current states")  # stored whole-stream folds (asof.current)
version = asof.data_version(cur)
first = w.compute(cur, q, q.at, version)
if first is None:
    st.stop()
second = w.compute(cur, q, q.at2, version) if q.at2 is not None else None

w.headline(second or first, first if second is not None else None)
field = w.field_picker(cur, second or first)
if second is not None and field is not None:
    w.comparison(cur, first, second, field)
else:
    if field is not None:
        w.counts(cur, first, field)
    w.entities_table(cur, first, field)
