"""Widgets of the Investigations page, and the "add to an investigation" popover that Explore
and Time travel show."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from eventlab import investigations as inv_api
from eventlab import quality
from eventlab.errors import EventLabError
from eventlab.investigations import Investigation
from eventlab.timetravel.scenario import Scenario
from eventlab.ui import context, links
from eventlab.ui.text import inert, inert_lines


def _save(inv: Investigation) -> bool:
    try:
        inv_api.save(context.store(), inv)
    except EventLabError as exc:
        st.error(inert_lines(exc))
        return False
    return True


def new_form() -> Investigation | None:
    """Name and author; returns the investigation once saved."""
    with st.form("inv_new", clear_on_submit=True):
        c1, c2 = st.columns([3, 2])
        name = c1.text_input("Name", placeholder="e.g. order-4711 charged twice")
        author = c2.text_input("Your name", value=inv_api.default_author())
        if st.form_submit_button("Start an investigation", disabled=context.read_only()):
            try:
                inv = inv_api.new(name, author, inv_api.now())
            except EventLabError as exc:
                st.error(inert_lines(exc))
                return None
            if _save(inv):
                return inv
    return None


def listing(found: list[Investigation]) -> None:
    """The saved investigations: who and when, each a link that opens it."""
    if not found:
        st.info("No investigation is saved yet: start one above, then add events to it from "
                "Explore and Time travel.")
        return
    df = pd.DataFrame([{"open": links.investigation(i.id).url, "name": i.name,
                        "by": i.author, "created (UTC)": f"{i.created_at:%Y-%m-%d %H:%M}",
                        "updated (UTC)": f"{i.updated_at:%Y-%m-%d %H:%M}",
                        "bookmarks": len(i.bookmarks), "entities": len(i.entities)}
                       for i in found])
    st.dataframe(df, hide_index=True, key="inv_list", column_config={
        "open": st.column_config.LinkColumn("open", display_text="open")})


def editor(inv: Investigation) -> Investigation:
    """Edit notes, filters, entities, bookmarks and findings; Save writes them."""
    st.subheader(inert(inv.name), anchor=False)
    st.caption(f"{inert(inv.id)} · by {inert(inv.author)} · "
               f"created {inv.created_at:%Y-%m-%d %H:%M} UTC · "
               f"updated {inv.updated_at:%Y-%m-%d %H:%M} UTC · this page's address opens it")
    cols = st.columns(3)
    if inv.filters:
        ex = links.explore(inv.explore_params())
        cols[0].page_link(ex.file, label="Its events in Explore", icon=":material/search:",
                          query_params=ex.query)
    if inv.position.get("entity_id"):
        tt = links.to("timetravel", inv.position)
        cols[1].page_link(tt.file, label="Its position in Time travel",
                          icon=":material/history:", query_params=tt.query)
    with st.form(f"inv_edit_{inv.id}"):
        notes = st.text_area("Notes", value=inv.notes, height=160)
        filters = st.text_input("Explore filters (a query string, or paste an Explore address)",
                                value=inv.filters)
        entities = st.text_input("Entities (comma-separated): their state timelines go into "
                                 "the bundle", value=", ".join(inv.entities))
        bookmarks = st.text_area("Bookmarked event ids (one per line)",
                                 value="\n".join(inv.bookmarks))
        findings = st.multiselect("Findings that matter (Quality)", list(quality.KINDS),
                                  default=[f for f in inv.findings if f in quality.KINDS])
        if st.form_submit_button("Save", disabled=context.read_only()):
            updated = inv.with_doc({"notes": notes, "filters": filters,
                                    "entities": entities, "position": inv.position,
                                    "bookmarks": bookmarks.splitlines(),
                                    "findings": findings}, inv_api.now())
            if _save(updated):
                st.success("Saved.")
                return updated
    return inv


def scenarios(inv: Investigation) -> None:
    """The saved what-if scenarios, each a link that reopens Time travel with it applied."""
    if not inv.scenarios:
        return
    st.markdown("**What-if scenarios** (saved from Time travel's What if tab; the bundle "
                "replays each one)")
    df = pd.DataFrame([{"open": links.time_travel_scenario(inv.id, s.id, s.entity_id,
                                                           s.reducer).url,
                        "name": s.name, "entity": s.entity_id,
                        "reducer": str(s.reducer.get("kind", "merge")),
                        "changes": len(s.changes)} for s in inv.scenarios])
    st.dataframe(df, hide_index=True, key="inv_scenarios", column_config={
        "open": st.column_config.LinkColumn("open", display_text="open in Time travel")})


def bundle(inv: Investigation) -> None:
    """Write the incident bundle on the server and offer its zip."""
    st.markdown("**Incident bundle**: the selected events (Parquet and JSON lines), the "
                "entities' state timelines, the findings, the notes and one HTML report that "
                "opens offline.")
    if st.button("Build the bundle", key="inv_bundle"):
        import tempfile

        with st.spinner("Writing the bundle…"), context.store().reading() as cur:
            try:
                made = inv_api.write_bundle(cur, inv, tempfile.mkdtemp(prefix="eventlab-bundle-"))
            except EventLabError as exc:
                st.error(inert_lines(exc))
                return
        st.session_state[f"_bundle::{inv.id}"] = made
    made = st.session_state.get(f"_bundle::{inv.id}")
    if made is not None:
        cut = " (cut at the limit)" if made.truncated else ""
        st.caption(f"{made.events:,} events{cut} · {len(made.files)} files")
        st.download_button("Download the bundle (zip)", data=made.zip_path.read_bytes(),
                           file_name=made.zip_path.name, mime="application/zip",
                           key="inv_bundle_zip")


NEW = "+ New investigation"
"""The popover's choice that starts an investigation with what is being added."""


def add_popover(*, bookmark: str | None = None, entity: str | None = None,
                filters: str | None = None, position: dict[str, str] | None = None,
                invariant: str | None = None, scenario: Scenario | None = None, key: str,
                label: str = "Add to an investigation") -> None:
    """'Add to an investigation': pick one and add this event / entity / filters / position /
    invariant (its findings go into the bundle) / what-if scenario (named here)."""
    with st.popover(label, icon=":material/bookmark_add:"):
        with context.store().reading() as cur:
            found = inv_api.listing(cur)
        names = {f"{i.name} ({i.id})": i for i in found}
        picked = st.selectbox("Investigation", [*names, NEW], key=f"{key}_pick")
        new_name = st.text_input("Name of the new investigation", key=f"{key}_new",
                                 placeholder="e.g. order-4711 charged twice") \
            if picked == NEW else ""
        what = []
        if scenario is not None:
            named = st.text_input("Name of the what-if", key=f"{key}_scenario_name",
                                  placeholder="e.g. without the duplicate", max_chars=200)
            st.caption(f"Left blank: {inert(scenario.name, 200)}")
            scenario = replace(scenario, name=named.strip() or scenario.name)
            what.append("this what-if")
        if bookmark:
            what.append("this event")
        if entity:
            what.append("its entity")
        if filters is not None:
            what.append("these filters")
        if position:
            what.append("this position")
        if invariant:
            what.append("this invariant's findings")
        if st.button("Add " + " and ".join(what), key=f"{key}_add",
                     disabled=context.read_only() or (picked == NEW and not new_name.strip())):
            if picked == NEW:
                try:
                    chosen = inv_api.new(new_name, inv_api.default_author(), inv_api.now())
                except EventLabError as exc:
                    st.error(inert_lines(exc))
                    return
            else:
                chosen = names[picked]
            doc: dict[str, Any] = chosen.doc()
            if bookmark:
                doc["bookmarks"] = [*doc["bookmarks"], bookmark]
            if entity:
                doc["entities"] = [*doc["entities"], entity]
            if filters is not None:
                doc["filters"] = filters
            if position:
                doc["position"] = position
            if invariant and invariant not in doc["invariants"]:
                doc["invariants"] = [*doc["invariants"], invariant]
            updated = chosen.with_doc(doc, inv_api.now())
            if scenario is not None:
                updated = updated.with_scenario(scenario, inv_api.now())
            if _save(updated):
                st.success(f"Added to {inert(chosen.name)}.")


def url_filters() -> str:
    """This page's query string without the selected event and page (Explore's filters)."""
    return inv_api.clean_query(urlencode({k: st.query_params.get_all(k) for k in st.query_params},
                                         doseq=True))
