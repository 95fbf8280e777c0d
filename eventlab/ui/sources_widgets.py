"""Widgets of the Sources page: the Kafka connection form, topic table, ingest forms, the job
panel and the live tail.

Nothing here is bound to the URL, and no secret is ever typed into or rendered by a widget:
passwords come from EVENTLAB_KAFKA_* or `st.secrets["kafka"]` and are shown as set / not set.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from eventlab.errors import EventLabError
from eventlab.ingest import background, tail
from eventlab.ingest.formats import FORMATS
from eventlab.ingest.mapping import FILE_PRESETS, PRESETS, MappingSpec
from eventlab.ingest.precheck import precheck_paths, precheck_typed_path
from eventlab.jobs import JobManager, JobView
from eventlab.kafka import config_sources
from eventlab.kafka.admin import list_topics
from eventlab.kafka.config import PROTOCOLS, SASL_MECHANISMS
from eventlab.kafka.positions import TP, tp_order
from eventlab.lag.topics import TopicLag, lag_by_topic, topic_lag_text
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.ui import context, kafka_cluster, links
from eventlab.ui.kafka_cluster import Connected
from eventlab.ui.precheck_widgets import check_before_load
from eventlab.ui.text import inert, inert_lines

NONE = "(none)"
AUTO = "(detect from the file names)"
STARTS = {"earliest": "earliest", "latest": "latest", "a date-time (UTC)": "time",
          "offsets per partition": "offsets", "resume": "resume"}
STOPS = {"at the end offsets taken at the start": "end", "after a number of records": "count",
         "follow (until cancelled)": "follow"}
SHOWN_FINISHED = 3
_BADGE = {"running": "blue", "done": "green", "failed": "red", "cancelled": "orange"}




def _new_token(key: str = "src") -> None:
    st.session_state[f"{key}_token"] = uuid.uuid4().hex


def start_job(action: Callable[[str], JobView], key: str = "src") -> None:
    """Run a start action with this session's idempotency token (`<key>_token`), keep the
    job's id in `<key>_started`, and rerun to show it; an error is said on the page."""
    if f"{key}_token" not in st.session_state:
        _new_token(key)
    try:
        view = action(st.session_state[f"{key}_token"])
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    _new_token(key)
    st.session_state[f"{key}_started"] = view.id
    st.rerun()


# -- Kafka connection -------------------------------------------------------------------------

def kafka_connection() -> Connected | None:
    """The connection form; Connect lists the topics. Returns the last successful listing."""
    try:
        base = kafka_cluster.configured()
    except EventLabError as exc:
        st.error(f"Kafka settings: {inert_lines(exc)}")
        return None
    d = config_sources.form_defaults(base)
    with st.form("kafka_form", border=True):
        c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
        bootstrap = c1.text_input("Bootstrap servers", value=d.bootstrap, key="k_bootstrap",
                                  placeholder="host:port[,host:port]")
        protocol = c2.selectbox("Security protocol", PROTOCOLS, key="k_protocol",
                                index=PROTOCOLS.index(d.security_protocol))
        mechs = [NONE, *SASL_MECHANISMS]
        mech = c3.selectbox("SASL mechanism", mechs, key="k_mechanism",
                            index=mechs.index(d.sasl_mechanism or NONE))
        user = c4.text_input("SASL user name", value=d.sasl_username or "", key="k_user")
        secrets = config_sources.secret_status(base)
        st.caption("Secrets are never typed or shown here: they come from the environment "
                   "(EVENTLAB_KAFKA_SASL_PASSWORD, EVENTLAB_KAFKA_SSL_PASSWORD) or the `[kafka]` "
                   "section of the Streamlit secrets. " + " · ".join(
                       f"{inert(k)}: **{inert(v)}**" for k, v in secrets.items()))
        clicked = st.form_submit_button("Connect", key="k_connect", type="primary")
    if clicked:
        form = config_sources.FormValues(bootstrap, protocol,
                                         None if mech == NONE else mech, user)
        try:
            config = config_sources.with_form(base, form)
            with st.spinner(f"Listing the topics of {config.bootstrap} ..."):
                topics = list_topics(config)
        except EventLabError as exc:
            kafka_cluster.remember(None)
            st.error(inert_lines(exc))
            return None
        kafka_cluster.remember(Connected(config, topics, datetime.now(UTC)))
    return kafka_cluster.connected()


def topic_table(conn: Connected, stored: Mapping[TP, int]) -> None:
    """The topics with their offsets next to what EventLab has stored of each."""
    st.caption(f"{len(conn.topics)} topic(s) on {inert(conn.config.describe())}, offsets as of "
               f"{conn.listed_at:%H:%M:%S} UTC (Connect again to refresh).")
    if not conn.topics:
        st.info("The cluster has no topics yet.")
        return
    rows = tail.status_rows(tail.topic_status(conn.topics, stored))
    lags = _topic_lags(conn)
    for row in rows:
        row["consumer lag"] = (topic_lag_text(lags.get(row["topic"])) if lags is not None
                               else "unavailable")
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="k_topics_table",
                 column_config={"behind": st.column_config.NumberColumn(
                     "behind the end", help="records on the cluster after what EventLab stored"),
                     "EventLab stored up to": st.column_config.TextColumn(
                         "EventLab stored up to", width="medium"),
                     "consumer lag": st.column_config.TextColumn(
                         "consumer lag", width="large",
                         help="records behind per consumer group (admin API; EventLab never "
                              "joins a group). Consumers page: lag in seconds, history, "
                              "verdicts")})
    if any(lags or {}):
        st.page_link(links.page("consumers").file, label="Consumer groups and their lag",
                     icon=":material/speed:")


def _topic_lags(conn: Connected) -> dict[str, TopicLag] | None:
    """Lag per topic as of this listing (taken once per Connect), None when unavailable."""
    key = f"_topic_lags::{conn.config.bootstrap}::{conn.listed_at.isoformat()}"
    if key not in st.session_state:
        try:
            st.session_state[key] = lag_by_topic(conn.config)
        except EventLabError:
            st.session_state[key] = None
    return st.session_state[key]


def _start_value(kind: str, key: str) -> str:
    """The start position as `ingest-kafka --from` text."""
    if kind == "time":
        c1, c2 = st.columns(2)
        day = c1.date_input("Date (UTC)", value=date.today(), key=f"{key}_date")
        at = c2.time_input("Time (UTC)", value=time(0, 0), key=f"{key}_time", step=60)
        return datetime.combine(day, at, tzinfo=UTC).isoformat()
    if kind == "offsets":
        return st.text_input("Offsets", key=f"{key}_offsets", placeholder="0:100,1:250",
                             help="P:OFFSET for every chosen topic, or TOPIC:P:OFFSET")
    return kind


def kafka_ingest_form(conn: Connected, manager: JobManager, store: EventStore, *,
                      read_only: bool) -> None:
    """Topics, start, stop and mapping; Start runs the ingest as a background job."""
    st.subheader("Load topics")
    names = st.multiselect("Topics", [t.name for t in conn.topics], key="k_topics",
                           placeholder="choose one or more topics")
    c1, c2, c3 = st.columns(3)
    with c1:
        start_kind = STARTS[st.radio("Start", list(STARTS), key="k_start")]
        start = _start_value(start_kind, "k_start")
    with c2:
        stop_kind = STOPS[st.radio("Stop", list(STOPS), key="k_stop")]
        until = stop_kind
        if stop_kind == "count":
            until = str(st.number_input("Records", min_value=1, value=10_000, step=1_000,
                                        key="k_count"))
    with c3:
        preset = st.selectbox("Mapping preset", PRESETS, key="k_preset",
                              help="auto detects CloudEvents (structured or binary), envelope "
                                   "or flat documents")
    st.caption("Stored positions always win: a partition EventLab has read before continues "
               "right after its last stored offset, whatever the start says (resume = only "
               "that; partitions never read start at their earliest offset).")
    busy = sorted({t for v in manager.running(background.KAFKA)
                   for t in v.params.get("topics", ()) if t in names})
    if busy:
        st.warning(f"Already being read by a running job: {inert(', '.join(busy))}. Cancel that "
                   "job first to start another read of it.")
    if st.button("Start ingest", key="k_go", type="primary",
                 disabled=read_only or not names or bool(busy),
                 help="disabled in read-only mode" if read_only else None):
        start_job(lambda token: background.start_kafka_ingest(
            manager, store, conn.config, names, start=start, until=until, preset=preset,
            listing=conn.topics, token=token))


# -- files ------------------------------------------------------------------------------------

def path_ingest_form(manager: JobManager, store: EventStore, *, read_only: bool) -> None:
    """Load a file, folder or glob that is on the server, as a background job."""
    st.subheader("A path on the server")
    path = st.text_input("File, folder or glob", key="f_path",
                         placeholder="/data/exports/2026-11/  or  exports/**/*.parquet")
    fmt, preset = _format_and_preset("f")
    duplicates = _duplicates("f")
    check_before_load("f", (path.strip(), fmt, preset), lambda: precheck_typed_path(
        store, path, db_path=context.db_path(), fmt=fmt, preset=preset),
        disabled=not path.strip())
    if st.button("Load path", key="f_go", type="primary",
                 disabled=read_only or not path.strip()):
        start_job(lambda token: background.start_path_ingest(
            manager, store, path, db_path=context.db_path(), fmt=fmt, preset=preset,
            token=token, duplicates=duplicates))


def upload_form(manager: JobManager, store: EventStore, *, read_only: bool) -> None:
    """Upload one export (size-capped), keep it under uploads/ and load it as a job."""
    st.subheader("Upload an export")
    try:
        limit = background.upload_limit_mb()
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return
    up = st.file_uploader(f"Parquet, JSONL or CSV, up to {limit} MB", key="u_file",
                          type=list(background.UPLOAD_TYPES), max_upload_size=limit,
                          disabled=read_only)
    fmt, preset = _format_and_preset("u")
    duplicates = _duplicates("u")
    if up is not None:
        check_before_load("u", (up.file_id, fmt, preset), lambda: precheck_paths(
            store, [str(_saved(up, limit))], fmt=fmt, spec=MappingSpec(preset=preset)),
            disabled=read_only)
    if st.button("Load upload", key="u_go", type="primary", disabled=read_only or up is None):
        assert up is not None

        def action(token: str) -> JobView:
            saved = _saved(up, limit)
            return background.start_files_ingest(manager, store, [str(saved)], fmt=fmt,
                                                  preset=preset, token=token,
                                                  title=f"Upload {up.name}",
                                                  duplicates=duplicates)
        start_job(action)


def _saved(up: UploadedFile, limit: int) -> Path:
    """The upload kept under uploads/ (named by content: checking, then loading, keeps one
    file, so the check sees the path the load reads)."""
    folder = background.upload_dir(context.db_path())
    return background.save_upload(up.name, up.getbuffer(), folder, limit)


_DUPLICATES = {"skip ids already stored": "skip", "load as copies": "copy"}


def _duplicates(key: str) -> str:
    """What to do with rows whose event id is already stored (an export loaded back)."""
    label = st.radio("Event ids already stored", list(_DUPLICATES), key=f"{key}_duplicates",
                     horizontal=True,
                     help="A file whose events are already stored under other positions (an "
                          "export loaded back) would store each event twice. The job's report "
                          "says how many there were.")
    return _DUPLICATES[label]


def _format_and_preset(key: str) -> tuple[str | None, str]:
    c1, c2 = st.columns(2)
    fmt = c1.selectbox("Format", [AUTO, *FORMATS], key=f"{key}_format")
    preset = c2.selectbox("Mapping preset", FILE_PRESETS, key=f"{key}_preset",
                          help="sns / sqs: archived SNS notifications or SQS messages (Firehose)")
    return (None if fmt == AUTO else fmt), preset


# -- jobs and live tail -----------------------------------------------------------------------

def jobs_panel(manager: JobManager) -> None:
    """Running jobs with progress and Cancel, then the latest finished ones; refreshes itself
    every second while a job runs and reruns the page once when one finishes. While none
    runs, it still looks every few seconds for a job started elsewhere (another tab, the
    same database from another session)."""
    with st.container():  # always there, so what follows keeps its place (and tab)
        if manager.jobs():
            st.subheader("Jobs")
            _jobs_fragment(manager)
        if not manager.running():
            _watch_for_jobs(manager)


def _watch_for_jobs(manager: JobManager, every: str = "3s") -> None:
    def watch() -> None:
        if manager.running():
            st.rerun(scope="app")

    st.fragment(run_every=every)(watch)()


def _jobs_fragment(manager: JobManager) -> None:
    run_every = "1s" if manager.running() else None

    def panel() -> None:
        views = manager.jobs()
        now = {v.id for v in views if v.running}
        before = st.session_state.get("src_running", set())
        st.session_state["src_running"] = now
        if before - now:  # a job finished since the last draw: refresh the whole page
            st.rerun(scope="app")
        for view in [v for v in views if v.running] + [v for v in views
                                                         if not v.running][:SHOWN_FINISHED]:
            job_card(manager, view)

    st.fragment(run_every=run_every)(panel)()


def job_card(manager: JobManager, view: JobView) -> None:
    """One job: status, progress (records, rate, positions or files) or its outcome."""
    with st.container(border=True, key=f"job_{view.id}"):
        st.markdown(f":{_BADGE[view.status]}-badge[{view.status}] **{inert(view.title)}** · "
                    f"job {view.id} · started {view.started:%H:%M:%S} UTC · "
                    f"{view.seconds:,.1f} s")
        if view.running:
            _progress(view)
            st.button("Cancel", key=f"cancel_{view.id}", disabled=view.cancel_requested,
                      on_click=manager.cancel, args=(view.id,))
            return
        summary = getattr(view.report, "summary", None)
        failed = getattr(view.report, "files_failed", None)
        text = "\n".join(line for line in (summary() if summary else "").splitlines()
                         if not line.startswith(("FAILED ", "ERROR: ")))
        if view.status == "done" and failed:
            st.warning(inert_lines(f"{text}\n{len(failed)} file(s) could not be loaded (below); "
                                   "the others were. Fix or remove them and load again: loaded "
                                   "files are skipped."))
        elif view.status == "done":
            st.success(inert_lines(text or "Done."))
        elif view.status == "cancelled":
            st.warning(inert_lines("Cancelled. " + (text or "What was stored before stays; "
                                            "start again to continue.")))
        else:
            st.error(inert_lines(view.error or "failed"))
            if text:
                st.caption(inert_lines(text))
        if failed:
            st.dataframe(pd.DataFrame([{"file": f["file"], "error": f["error"].removeprefix(
                f"{f['file']}: ")} for f in failed]), hide_index=True, key=f"failed_{view.id}")


def _progress(view: JobView) -> None:
    p = view.progress
    if view.kind == background.FILES:
        label = f"{p.stage}: {p.done} of {p.total} file(s)" if p.total else p.stage
    else:
        label = (f"{p.stage}: {p.records:,} records read ({p.stored:,} stored, "
                 f"{p.quarantined:,} quarantined) · {p.rate:,.0f} records/s")
        if p.total is not None:
            label += f" · about {p.total:,} to read"
    fraction = p.fraction
    if fraction is None:
        st.caption(inert(label))
    else:
        st.progress(fraction, text=inert(label))
    if p.positions:
        st.caption("next offset per partition: " + inert(" · ".join(
            f"{k}={v:,}" for k, v in sorted(p.positions.items(), key=lambda kv: tp_order(kv[0])))))


def live_tail(manager: JobManager, con_fn: Callable[[], db.Connection],
              limit: int = tail.TAIL_LIMIT) -> None:
    """While a follow job runs: the newest stored events, redrawn every two seconds."""
    following = manager.running(tag=background.FOLLOW)
    with st.container():  # always there, so what follows keeps its place (and tab)
        if following:
            st.subheader("Live tail")
            _tail_fragment(following, con_fn, limit)


def _tail_fragment(following: Sequence[JobView], con_fn: Callable[[], db.Connection],
                   limit: int) -> None:
    topics: Sequence[str] = sorted({t for v in following for t in v.params.get("topics", ())})

    def draw() -> None:
        df = tail.newest_events(con_fn(), topics, limit).to_pandas()
        for col, fmt in (("ingested_at", "%H:%M:%S"), ("ts", "%Y-%m-%d %H:%M:%S")):
            df[col] = pd.to_datetime(df[col], utc=True).dt.strftime(fmt)
        st.caption(f"The {limit} newest events stored from {inert(', '.join(topics))}, "
                   f"refreshed every 2 s (last {datetime.now(UTC):%H:%M:%S} UTC).")
        st.dataframe(df, hide_index=True, key="tail_table", column_config={
            "ingested_at": "stored at (UTC)", "ts": "event time (UTC)"})

    st.fragment(run_every="2s")(draw)()
