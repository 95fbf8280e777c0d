"""Widgets of the Divergence page: the read model (a path below the data folders, or an
upload), the comparison's settings, the counts, the differing fields with links to Time travel
at the event that last set each, and the ids missing or extra. The path and the id column are
in the URL."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import streamlit as st

from eventlab import diverge
from eventlab.errors import EventLabError
from eventlab.ingest.roots import check_typed_path, data_roots
from eventlab.store.eventstore import data_version
from eventlab.timetravel import fold_each
from eventlab.timetravel.reducer_choices import MERGE, ReducerChoice, default
from eventlab.ui import context, links
from eventlab.ui.text import inert, inert_lines
from eventlab.ui.timetravel_widgets import reducer_choices

_LABELS = {"match": "match", "differ": "differ", "missing": "missing from the read model",
           "only_in_read_model": "only in the read model"}


@dataclass(frozen=True)
class Loaded:
    """A read model read into Arrow, and what it was called."""

    name: str
    table: pa.Table
    digest: str


def _to_url(name: str, value: str) -> None:
    """Keep a setting in the URL (dropped when empty)."""
    if value:
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


def _digest(table: pa.Table, name: str) -> str:
    return hashlib.sha1(f"{name}:{table.num_rows}:{table.nbytes}:{table.schema}".encode()
                        ).hexdigest()[:16]


def read_model_input() -> Loaded | None:
    """The read model: a path typed (below the data folders; `?readmodel=`) or an upload."""
    roots = data_roots(context.db_path())
    path = st.text_input("Read model file on the server", key="dv_path",
                         value=st.query_params.get("readmodel", ""),
                         help="A .csv, .jsonl or .parquet file below the data folders: "
                              + ", ".join(roots))
    _to_url("readmodel", path)
    upload = st.file_uploader("…or upload one", type=["csv", "jsonl", "ndjson", "json",
                                                      "parquet"], key="dv_upload")
    try:
        if upload is not None:
            table = diverge.read_model_bytes(upload.getvalue(), upload.name)
            return Loaded(upload.name, table, _digest(table, upload.name))
        if path.strip():
            check_typed_path(path, roots)
            table = diverge.read_model(path.strip())
            return Loaded(path.strip(), table, _digest(table, path.strip()))
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None
    st.info("Type a path or upload a file. `eventlab demo-readmodel data/orders.csv` writes "
            "the demo shop's order read model with planted faults.")
    return None


def settings(loaded: Loaded) -> tuple[diverge.ReadModelSpec, str | None]:
    """The id column (`?id_column=`), the optional position column, the tolerance, the type."""
    columns = loaded.table.column_names
    wanted = st.query_params.get("id_column", "id")
    cols = st.columns(4)
    id_column = cols[0].selectbox("Entity id column", columns, key="dv_id",
                                  index=columns.index(wanted) if wanted in columns else 0)
    _to_url("id_column", id_column)
    at = cols[1].selectbox("Position / time column", ["(none: latest state)", *columns],
                           key="dv_at")
    tolerance = cols[2].number_input("Number tolerance", min_value=0.0, value=1e-9,
                                     format="%g", key="dv_tol")
    entity_type = cols[3].text_input("Entity type", key="dv_type",
                                     help="Default: the type most of the ids have events of")
    at_column = None if at.startswith("(none") else at
    return diverge.ReadModelSpec(id_column=id_column, at_column=at_column,
                                 tolerance=float(tolerance)), entity_type.strip() or None


def reducer_bar() -> tuple[ReducerChoice, int | None]:
    """The reducer (as Time travel offers it; `?dv_reducer=`) and, for a fold, its bound."""
    choices = reducer_choices()
    labels = [c.label for c in choices]
    cols = st.columns([3, 2])
    label = cols[0].selectbox(
        "Reducer", labels, key="dv_reducer", bind="query-params",
        help="merge compares inside DuckDB; rules and Python reducers (configured by whoever "
             "runs EventLab: EVENTLAB_RULES / EVENTLAB_REDUCER) fold every entity in Python.")
    choice = choices[labels.index(label)] if label in labels else default(choices)
    if choice.kind == "merge":
        return choice, None
    bound = cols[1].number_input("Fold at most (events)", min_value=1,
                                 value=fold_each.MAX_EVENTS, step=100_000, key="dv_max",
                                 help="A fold over more events than this is refused, with "
                                      "its size: one reducer call per event.")
    return choice, int(bound)


def compare(loaded: Loaded, spec: diverge.ReadModelSpec, entity_type: str | None,
            choice: ReducerChoice = MERGE, max_events: int | None = None
            ) -> diverge.Divergence | None:
    """Run the comparison, kept for this session until the read model, the settings, the
    reducer or the data change (a rerun for another widget does not compare again); a fold
    shows its progress; errors said, None."""
    cur = context.cursor()
    key = (loaded.digest, spec, entity_type, choice.key, max_events, data_version(cur))
    kept = st.session_state.get("_dv_result")
    if kept is not None and kept[0] == key:
        return kept[1]
    bar, shown = None, 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, shown
        if bar is None or done == total or done - shown >= total / 50:  # not every entity
            shown, text = done, f"Folding: {done:,} of {total:,} events"
            if bar is None:
                bar = st.progress(0.0, text=text)
            bar.progress(min(done / max(total, 1), 1.0), text=text)

    try:
        reducer = choice.load()
        with st.spinner("Comparing inside DuckDB…" if choice.kind == "merge" else
                        f"Folding every entity with {inert(choice.label)}…"):
            report = diverge.compare(cur, loaded.table, spec, entity_type=entity_type,
                                     limit=1000, reducer=reducer, max_events=max_events,
                                     progress=progress)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None
    finally:
        if bar is not None:
            bar.empty()
    st.session_state["_dv_result"] = (key, report)
    return report


def summary(report: diverge.Divergence) -> None:
    """One metric per status, and which fields differ how often."""
    cols = st.columns(4)
    for col, status in zip(cols, diverge.STATUSES, strict=True):
        col.metric(_LABELS[status], f"{report.counts[status]:,}")
    fields = ", ".join(f"{inert(c)} → {inert(p)}" for c, p in report.fields)
    how = ("rebuilt inside DuckDB (merge reducer)" if report.path == "duckdb" else
           f"rebuilt through the fold with {inert(report.reducer)}")
    st.caption(f"Entity type {inert(report.entity_type)}; state at: {report.cut}; "
               f"{how}; fields: {fields or '(none)'}")
    by_field = [{"column": c, "rows that differ": n} for c, n in report.by_field.items()]
    if by_field:
        st.dataframe(pd.DataFrame(by_field), hide_index=True, key="dv_by_field")


def differences(report: diverge.Divergence) -> None:
    """Each differing field: both values and the event that last set it, linked."""
    rows = report.differences.to_pylist()
    if not rows:
        return
    st.subheader("Differing fields")
    df = pd.DataFrame([{k: r.get(k) for k in ("entity_id", "column", "state_value",
                                              "read_value", "event_type", "seq", "ts",
                                              "event_id")} for r in rows])
    df.insert(0, "time travel", [
        links.time_travel(str(r["entity_id"])).url if r.get("seq") is None else
        links.time_travel(str(r["entity_id"]), copy=links.EventCopy(
            str(r["entity_id"]), int(r["seq"]), r.get("offset"), r.get("source"),
            r.get("topic"), r.get("partition"))).url
        for r in rows])
    st.dataframe(df, hide_index=True, key="dv_diffs", column_config={
        "time travel": st.column_config.LinkColumn("time travel", display_text="open")})
    if len(rows) < report.counts["differ"]:
        st.caption(f"The first {len(rows):,} differing fields are listed; the counts above are "
                   "exact.")


def missing_and_extra(report: diverge.Divergence) -> None:
    """The ids the read model lacks (with Time travel links) and the ids only it has."""
    if report.missing:
        st.subheader("Missing from the read model")
        st.dataframe(pd.DataFrame({
            "time travel": [links.time_travel(e).url for e in report.missing],
            "entity_id": report.missing}), hide_index=True, key="dv_missing",
            column_config={"time travel": st.column_config.LinkColumn(
                "time travel", display_text="open")})
    if report.only_in_read_model:
        st.subheader("Only in the read model")
        st.dataframe(pd.DataFrame({"entity_id": report.only_in_read_model}),
                     hide_index=True, key="dv_extra")
