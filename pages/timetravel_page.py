"""Time travel: pick an entity, scrub through its events, see its state, changes and blame."""

from __future__ import annotations

import streamlit as st

from eventlab import timetravel
from eventlab.explore import export
from eventlab.republish.selection import Selection
from eventlab.ui import context, export_widgets, investigations_widgets, republish_widgets
from eventlab.ui import timetravel_bisect as when
from eventlab.ui import timetravel_pair as pair
from eventlab.ui import timetravel_panels as panels
from eventlab.ui import timetravel_widgets as w

st.title("Time travel")
st.caption("Rebuild one entity's state at any event: slider, step, play, jump to a time. "
           "The link in the address bar restores this view.")
cur = context.cursor()
choices = w.reducer_choices()

entity = w.entity_picker(cur)
if entity is None:
    st.stop()

choice, basis_slot = w.settings_bar(choices, timetravel.event_types(cur, entity))
with st.spinner("Loading and folding the entity's events…"):
    loaded = w.load(cur, entity, choice)
if loaded is None:
    st.stop()
settings = w.time_basis(basis_slot, loaded, choice)
w.summary(loaded, settings)
c_inv, c_rep, _ = st.columns([1, 1, 3])
with c_inv:
    investigations_widgets.add_popover(entity=entity, position={"entity_id": entity},
                                       key="tt_inv")
with c_rep:
    republish_widgets.republish_button(Selection.entity(entity, label=f"entity {entity}"),
                                       key="tt_republish")
with st.expander("Export"):
    export_widgets.download_buttons(cur, export.entity_events(entity), key="tt_export_events",
                                    label="The entity's events")
    export_widgets.download_buttons(cur, export.state_history(loaded.fold, entity),
                                    key="tt_export_states", label="Its state after each event")
w.sync_position(loaded, settings)
interval = w.player(loaded)


@st.fragment(run_every=interval)
def view() -> None:
    """Everything that follows the position: reruns alone when it moves or plays."""
    w.tick(loaded)
    holding = when.condition_bar(loaded)
    index = w.controls(loaded, settings, holding)
    when.marks_caption(holding, len(loaded.fold))
    pos = timetravel.position(loaded.fold, index)
    panels.position_header(pos, len(loaded.fold), settings.basis)
    panels.timeline_panel(loaded, pos, settings.basis)
    events, left, right = st.columns([1.6, 2, 1.8])
    with events:
        w.event_list(cur, loaded, index, settings.basis, holding)
    with left:
        panels.state_panel(pos)
    with right:
        panels.diff_panel(pos, loaded.fold)
    event_tab, blame_tab, history_tab, whatif_tab, pair_tab = st.tabs(
        ["The event", "Field blame", "Field history", "What if", "Pin and diff"], key="panel",
        bind="query-params")
    with event_tab:
        if event_tab.open:
            panels.event_panel(pos)
    with blame_tab:
        if blame_tab.open:
            panels.blame_panel(loaded, pos)
    with history_tab:
        if history_tab.open:
            panels.history_panel(loaded, pos, settings.basis)
    with whatif_tab:
        if whatif_tab.open:
            changes = w.whatif_controls(loaded)
            alt, rewritten = w.whatif_fold(loaded, changes)
            panels.whatif_panel(loaded.fold, alt, rewritten, index, len(changes))
            if changes:
                investigations_widgets.add_popover(
                    scenario=w.whatif_scenario(loaded, choice, changes), key="tt_wi_inv",
                    label="Save this what-if to an investigation")

    with pair_tab:
        if pair_tab.open:
            pair.pair_tab(loaded, index, choices, choice)


view()
