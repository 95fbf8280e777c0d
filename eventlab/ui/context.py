"""The app's store (one per process) and a DuckDB cursor per browser session."""

from __future__ import annotations

import streamlit as st

from eventlab import settings
from eventlab.errors import EventLabError
from eventlab.store import db
from eventlab.store.eventstore import EventStore, resolve_db_path


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> EventStore:
    # Default settings (EVENTLAB_MEMORY_LIMIT): DuckDB shares one instance per file only
    # between connections opened with the same configuration.
    return EventStore(path)


def db_path() -> str:
    """The database file the app shows ($EVENTLAB_DB or the default)."""
    return str(resolve_db_path(None).resolve())


def store() -> EventStore:
    """The process-wide store; stops the page with a clear message if it cannot open."""
    try:
        return _open_store(db_path())
    except EventLabError as exc:
        st.error(f"{exc}")
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def cursor() -> db.Connection:
    """This session's cursor (sessions run one script at a time, so one cursor is safe)."""
    key = f"_cursor::{db_path()}"
    if key not in st.session_state:
        st.session_state[key] = store().cursor()
    return st.session_state[key]


def read_only() -> bool:
    """EVENTLAB_READ_ONLY=1 disables every write action (`eventlab.settings.read_only`)."""
    return settings.read_only()
