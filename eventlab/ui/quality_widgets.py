"""Widgets of the Quality page: the findings as badges, explanations, examples with links."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from eventlab import quality, settings
from eventlab.errors import EventLabError
from eventlab.explore.filters import Filters
from eventlab.quality.known_types import handled_types, rules_file
from eventlab.store.eventstore import data_version
from eventlab.ui import context, links
from eventlab.ui.text import inert, inert_lines

# Material icons: Streamlit serves their font itself (emoji need a font the machine may lack).
_BADGE = {"error": ":red[:material/error: error]", "warning": ":orange[:material/warning: warning]",
          "info": ":blue[:material/info: info]", "ok": ":green[:material/check_circle: ok]"}


@st.cache_data(show_spinner="Checking the whole store in DuckDB…", max_entries=8)
def _report(db_path: str, version: tuple, rules: str | None, late: float) -> dict[str, Any]:
    types, label = handled_types(rules)
    with context.store().reading() as cur:
        return quality.run_checks(cur, handled_types=types, reducer=label,
                                  late_seconds=late).to_dict()


def report() -> dict[str, Any] | None:
    """The findings of the app's database (cached until data changes); None after an error."""
    try:
        late = settings.late_event_seconds()
        rules = rules_file()
        return _report(context.db_path(), data_version(context.cursor()), rules, late)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return None


def summary(rep: dict[str, Any]) -> None:
    """One metric per severity and the run's size and time."""
    counts = {s: 0 for s in quality.SEVERITIES}
    for f in rep["findings"]:
        counts[f["severity"]] += 1
    cols = st.columns(4)
    for col, sev in zip(cols, quality.SEVERITIES, strict=True):
        col.metric(_BADGE[sev], counts[sev])
    st.caption(f"{rep['events']:,} events checked in {rep['seconds']:.2f} s, inside DuckDB.")


def _examples(f: dict[str, Any]) -> None:
    if not f["examples"]:
        return
    df = pd.DataFrame(f["examples"])
    config: dict[str, Any] = {}
    if "event_id" in df:
        df.insert(0, "explore", [links.explore_event(str(e)).url for e in df["event_id"]])
        config["explore"] = st.column_config.LinkColumn("explore", display_text="open")
    if "entity_id" in df:
        seqs = df["seq"] if "seq" in df else [None] * len(df)
        offsets = df["offset"] if "offset" in df else [None] * len(df)
        df.insert(1 if "explore" in df else 0, "time travel", [
            links.time_travel(str(e)).url if s is None or pd.isna(s) else
            links.time_travel(str(e), copy=links.EventCopy(
                str(e), int(s), None if o is None or pd.isna(o) else int(o))).url
            for e, s, o in zip(df["entity_id"], seqs, offsets, strict=True)])
        config["time travel"] = st.column_config.LinkColumn("time travel",
                                                            display_text="open")
    if f["kind"] == "schema_drift":
        df.insert(0, "explore", [links.explore(Filters(
            event_types=(r["event_type"],), json_path=r["field"], json_op="exists")).url
            for r in f["examples"]])
        config["explore"] = st.column_config.LinkColumn("explore", display_text="open")
    st.dataframe(df, hide_index=True, column_config=config, key=f"ex_{f['kind']}")


def finding(f: dict[str, Any]) -> None:
    """One finding: badge, count, explanation, details, examples and the Explore link."""
    title = f"{_BADGE[f['severity']]} · **{f['kind']}** · {f['count']:,}"
    with st.expander(title, expanded=f["severity"] in ("error", "warning")):
        st.markdown(inert_lines(f["explanation"]))
        if f["explore"]:
            target = links.explore(f["explore"])
            st.page_link(target.file, label="Show these events in Explore",
                         icon=":material/search:", query_params=target.query)
        if f["kind"] == "quarantine" and f["count"]:
            st.page_link(links.page("quarantine").file, label="Open the quarantine",
                         icon=":material/report:")
        _examples(f)
        details = {k: v for k, v in f["details"].items() if k != "fields"}
        if details:
            st.caption(" · ".join(f"{k.replace('_', ' ')}: {v:,}" if isinstance(v, int)
                                  else f"{k.replace('_', ' ')}: {inert(v)}"
                                  for k, v in details.items()))
        if f["kind"] == "schema_drift" and f["details"].get("fields"):
            st.markdown("**Payload fields per event type and version**")
            st.dataframe(pd.DataFrame(f["details"]["fields"]), hide_index=True,
                         key="drift_fields")
        st.caption(f"computed in {f['seconds']:.2f} s")
