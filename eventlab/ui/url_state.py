"""Reading a link before the widgets bound to it do: yes/no values in the forms people type.

Streamlit's bound toggles read only `true` / `false` and drop anything else silently; links
(Quality's, the Tour's, people's) say `dup=1`. The rule for what counts as yes or no is
`eventlab.explore.filters.parse_bool`."""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore.filters import parse_bool
from eventlab.ui.text import inert


def accept_bool(key: str) -> None:
    """Before the toggle `key` is drawn: give it a link's 1/0 (yes/no, on/off) value, or say
    which value it cannot use, naming the parameter."""
    raw = st.query_params.get(key)
    if raw is None or raw.strip().lower() in ("true", "false"):
        return
    try:
        st.session_state[key] = parse_bool(key, raw)
    except EventLabError as exc:
        st.warning(f"{inert(exc)} (left out).")
