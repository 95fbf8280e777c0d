"""The Sources page's check before loading files: a Check button and what it found, shown
above the Load button (`ingest.precheck`; nothing is stored by the check)."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.ingest.precheck import PrecheckReport
from eventlab.ui.text import inert_lines

_SKIP_OR_COPY = ("With \"skip ids already stored\" a load leaves them out; \"load as copies\" "
                 "stores each of them once more.")


def check_before_load(key: str, signature: Hashable, run: Callable[[], PrecheckReport], *,
                      disabled: bool = False) -> None:
    """A Check button (`<key>_check`); its result stays shown while the inputs it checked
    (`signature`: path or upload, format, preset) are unchanged."""
    state = f"{key}_precheck"
    if st.button("Check for ids already stored", key=f"{key}_check", disabled=disabled,
                 help="Maps the files as a load would and counts the rows whose event id is "
                      "already stored. Stores nothing; big inputs are sampled."):
        try:
            with st.spinner("Checking ..."):
                st.session_state[state] = (signature, run())
        except EventLabError as exc:
            st.session_state.pop(state, None)
            st.error(inert_lines(exc))
            return
    checked = st.session_state.get(state)
    if not checked or checked[0] != signature:
        return
    report: PrecheckReport = checked[1]
    if report.rows_known_id:
        st.warning(inert_lines(f"{report.summary()}\n{_SKIP_OR_COPY}"))
    else:
        st.info(inert_lines(report.summary()))
