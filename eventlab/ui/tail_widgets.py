"""The Sources page's live tail: topics followed in the browser, decoded and filtered, with
pause/resume, a cap and "Load from here" (`eventlab.ingest.live_tail`; nothing stored).

`tail_panel(conn, manager, store, read_only=...)` takes the listing of `sources_widgets.
kafka_connection()`. **Start** takes the end offsets now; while running and not paused, a
fragment polls every 1-5 s (`st.fragment(run_every=...)`); **Pause** stops polling and keeps
what is shown, **Resume** goes on from where it stopped. The tail's state (positions and the
records kept) lives in the session under `tl_state`.
"""

from __future__ import annotations

import streamlit as st

from eventlab.errors import EventLabError
from eventlab.explore.filters import JSON_OPS
from eventlab.ingest import background, live_tail
from eventlab.ingest.live_tail import TailFilter, TailState
from eventlab.ingest.mapping import PRESETS, MappingSpec
from eventlab.jobs import JobManager
from eventlab.store.eventstore import EventStore
from eventlab.ui import sources_widgets
from eventlab.ui.kafka_cluster import Connected
from eventlab.ui.peek_widgets import COLUMNS, rows_frame
from eventlab.ui.text import inert, inert_join, inert_lines

STATE, PAUSED, ERROR = "tl_state", "tl_paused", "tl_error"
"""Session keys: the `TailState`, whether it is paused, and why Start failed."""


def _filters() -> TailFilter | None:
    """The filter widgets as a TailFilter (Explore's parameter names); None when a value
    cannot be used (said on the page)."""
    c1, c2, c3 = st.columns(3)
    types = c1.text_input("Event types", key="tl_types", placeholder="OrderPlaced, OrderPaid",
                          help="comma-separated; any of them")
    key = c2.text_input("Key", key="tl_key", help="the record key, as text")
    header = c3.text_input("Header", key="tl_header", placeholder="source or source=web",
                           help="NAME (present) or NAME=VALUE (UTF-8 text)")
    j1, j2, j3 = st.columns([3, 1, 2])
    jpath = j1.text_input("JSON path", key="tl_jpath", placeholder="$.total",
                          help="into the decoded payload, as in Explore")
    jop = j2.selectbox("Operator", JSON_OPS, key="tl_jop")
    jval = j3.text_input("Value", key="tl_jval")
    params: dict[str, object] = {
        "types": [t.strip() for t in types.split(",") if t.strip()], "key": key or None,
        "jpath": jpath or None, "jop": jop, "jval": jval or None, "header": header or None}
    try:
        where = TailFilter.from_params({k: v for k, v in params.items() if v})
        where.where()  # a bad JSON path is said now
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None
    return where


def _start(conn: Connected) -> None:
    """Start (or restart) the tail with the widgets' topics and start: a callback (it runs
    after the widgets took their new values), so the whole run that follows sees it."""
    topics = list(st.session_state.get("tl_topics") or [])
    back = int(st.session_state.get("tl_back") or 0)
    try:
        st.session_state[STATE] = live_tail.start(conn.config, topics, back=back)
    except EventLabError as exc:
        st.session_state[ERROR] = str(exc)
        return
    st.session_state.pop(ERROR, None)
    st.session_state[PAUSED] = False


def _set(key: str, value: object) -> None:
    if value is None:
        st.session_state.pop(key, None)
    else:
        st.session_state[key] = value


def _controls(conn: Connected, topics: list[str]) -> None:
    """Start/Restart, Pause or Resume, Stop: callbacks, so the page drawn after a click
    already shows its effect (the right buttons, the fragment polling or not)."""
    state: TailState | None = st.session_state.get(STATE)
    paused = bool(st.session_state.get(PAUSED))
    c1, c2, c3 = st.columns(3)
    c1.button("Start" if state is None else "Restart", key="tl_start", on_click=_start,
              args=(conn,), disabled=not topics,
              help="follow from the end offsets now (or N back)")
    if state is not None:
        if paused:
            c2.button("Resume", key="tl_resume", type="primary", on_click=_set,
                      args=(PAUSED, False), help="go on from where the tail stopped: nothing "
                                                 "is missed")
        else:
            c2.button("Pause", key="tl_pause", on_click=_set, args=(PAUSED, True),
                      help="stop polling; the records stay")
        c3.button("Stop", key="tl_stop", on_click=_set, args=(STATE, None),
                  help="forget the tail and its records")
    error = st.session_state.pop(ERROR, None)
    if error:
        st.error(inert_lines(error))


def _show(state: TailState, paused: bool) -> None:
    when = f"{state.last_poll:%H:%M:%S} UTC" if state.last_poll else "not yet"
    st.caption(f"{'Paused' if paused else 'Following'} {inert_join(state.topics)}: "
               f"{len(state.rows)} record(s) kept (newest first), {state.matched} matched of "
               f"{state.read} read in {state.polls} poll(s), last poll {when}. Nothing is "
               "stored; no consumer group.")
    if state.rows:
        st.dataframe(rows_frame(state.rows, with_topic=True), hide_index=True, key="tl_table",
                     column_config=COLUMNS)


def _load_from_here(conn: Connected, manager: JobManager, store: EventStore, state: TailState,
                    preset: str) -> None:
    sources_widgets.start_job(lambda token: background.start_kafka_ingest(
        manager, store, conn.config, list(state.topics), start=state.load_from_text,
        until="end", preset=preset, listing=conn.topics, token=token), key="tl")


def tail_panel(conn: Connected, manager: JobManager, store: EventStore, *,
               read_only: bool) -> None:
    """Topics, refresh, cap, filters; Start/Pause/Resume/Stop; the records; Load from here."""
    st.subheader("Tail topics live")
    names = [t.name for t in conn.topics]
    topics = st.multiselect("Topics to tail", names, key="tl_topics",
                            help="all partitions of each; records produced from Start on")
    c1, c2, c3, c4 = st.columns(4)
    every = c1.select_slider("Refresh every (s)", [1, 2, 3, 4, 5], value=2, key="tl_every")
    keep = c2.number_input("Keep newest", min_value=10, max_value=live_tail.MAX_KEEP,
                           value=live_tail.DEFAULT_KEEP, step=10, key="tl_keep",
                           help="records kept in this browser session")
    c3.number_input("Start N back", min_value=0, max_value=500, value=0, key="tl_back",
                           help="records before the end of each partition to start with")
    preset = c4.selectbox("Mapping preset", PRESETS, key="tl_preset",
                          help="decode as an ingest with this preset would")
    where = _filters()
    _controls(conn, topics)
    if st.session_state.get(STATE) is None or where is None:
        return
    spec = MappingSpec(preset=preset)
    running = not st.session_state.get(PAUSED)

    @st.fragment(run_every=int(every) if running else None)
    def live() -> None:
        state: TailState | None = st.session_state.get(STATE)
        if state is None:
            return
        paused = bool(st.session_state.get(PAUSED))
        if not paused:
            try:
                state = live_tail.poll(conn.config, state, spec=spec, where=where,
                                       keep=int(keep))
            except EventLabError as exc:
                st.error(inert_lines(exc))
            else:
                st.session_state[STATE] = state
        _show(state, paused)

    live()
    state = st.session_state[STATE]
    if state.rows:
        st.caption("Load from here: " + ", ".join(
            f"{inert(t)} partition {p} from offset {o:,}" for (t, p), o in
            state.load_from.items()) + ".")
    if st.button("Load from here", key="tl_load", disabled=read_only or not state.rows,
                 help="disabled in read-only mode" if read_only else
                 "start an ingest job of these topics from the oldest record kept"):
        _load_from_here(conn, manager, store, state, preset)
