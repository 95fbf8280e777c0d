"""What every page shares: the app's store (one per process), a DuckDB cursor per browser
session, the job manager of the database, read-only mode, and live redrawing while a Kafka
follow job runs."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from eventlab import settings
from eventlab.errors import EventLabError
from eventlab.explore.duplicates import duplicate_map
from eventlab.ingest.background import FOLLOW
from eventlab.jobs import JobManager
from eventlab.store import db
from eventlab.store.eventstore import EventStore, data_version, resolve_db_path
from eventlab.ui import links
from eventlab.ui.text import inert_lines


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
        st.error(inert_lines(exc))
        st.stop()
        raise  # unreachable: st.stop() ends the script run


def cursor() -> db.Connection:
    """This session's cursor (sessions run one script at a time, so one cursor is safe)."""
    key = f"_cursor::{db_path()}"
    if key not in st.session_state:
        st.session_state[key] = store().cursor()
    return st.session_state[key]


@st.cache_resource(show_spinner=False)
def _manager(db_path: str) -> JobManager:
    return JobManager()


def job_manager() -> JobManager:
    """The process-wide job manager of the app's database (shared by every session)."""
    return _manager(db_path())


def live(render: Callable[[], None], every: str = "2s") -> None:
    """Draw `render`; while a Kafka follow job runs, redraw it every `every` on its own."""
    if job_manager().running(tag=FOLLOW):
        st.fragment(run_every=every)(render)()
    else:
        render()


def read_only() -> bool:
    """EVENTLAB_READ_ONLY=1 disables every write action (`eventlab.settings.read_only`)."""
    return settings.read_only()


def open_explore() -> None:
    """The app's start page ("/"): open Explore with the same query parameters."""
    params = {k: st.query_params.get_all(k) for k in st.query_params}
    st.switch_page(links.page("explore").file, query_params=params)


@st.cache_data(show_spinner=False, max_entries=4)
def _duplicates(db_path: str, version: tuple) -> dict[str, str]:
    with store().reading() as cur:
        return duplicate_map(cur)


def duplicates() -> dict[str, str]:
    """Every duplicated event id -> "copy" or "conflict", computed once per data change and
    shared by every session and page (`explore.duplicates`)."""
    return _duplicates(db_path(), data_version(cursor()))
