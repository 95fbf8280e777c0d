"""Panels of the Time travel page: what one position shows (state, changes, event, blame,
the timeline and a field's history). Each takes the fold and a position; none changes it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pandas as pd
import streamlit as st

from eventlab import timetravel
from eventlab.charts import timetravel as charts
from eventlab.replay import Fold, FoldError, field_values
from eventlab.replay.jsonvalue import MISSING
from eventlab.timetravel import Loaded, Position, whatif
from eventlab.timeutil import TIME_BASES
from eventlab.ui.text import inert, inert_lines

TIMELINE_WINDOW = 1_500  # events drawn around the current one in the timeline chart
_COLORS = {"add": "#d4f7d4", "remove": "#ffd6d6", "change": "#fff1c2"}
_X_TITLES = {"event_time": "event time (UTC)", "kafka_time": "Kafka time (UTC)",
             "offset": "offset"}


def fmt(value: Any) -> str:
    """A time as UTC text with milliseconds, or the value as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return "—" if value is None else str(value)


def position_header(pos: Position, n: int, basis: str) -> None:
    """Which event this is, when, and on which basis."""
    e = pos.event
    assert e is not None
    st.markdown(f"#### {inert(e.event_type)} · seq {e.seq} · event {pos.index + 1} of {n:,}")
    st.caption(f"event time {fmt(e.ts)} UTC · Kafka time {fmt(e.kafka_ts)} · offset "
               f"{inert(fmt(e.offset))} · id {inert(e.event_id)} · basis: "
               f"{TIME_BASES[basis]}")


def state_panel(pos: Position) -> None:
    """The state after this event (or before the failing one) as a JSON tree."""
    if pos.error is not None:
        st.markdown("**State before the failing event**")
        st.error(f"Reducer failed on event {inert(pos.error.event_id)} (seq {pos.error.seq}, "
                 f"{inert(pos.error.event_type)}): {inert_lines(pos.error)}")
    else:
        st.markdown("**State after this event**")
    if pos.state is None:
        st.info("No state: the entity does not exist here (deleted, or no data yet).")
    else:
        st.json(timetravel.jsonable(pos.state), expanded=3)


def _short(value: Any, limit: int = 120) -> str:
    if value is MISSING:
        return ""
    text = orjson.dumps(timetravel.jsonable(value)).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff_panel(pos: Position, fold: Fold) -> None:
    """What this event changed: added, removed and changed paths, old → new, coloured."""
    st.markdown("**What this event changed**")
    if pos.error is not None:
        st.caption("Nothing: the reducer failed on this or an earlier event.")
        return
    changes = pos.changes
    before = fold.state_at(pos.index - 1)
    if len(changes) == 1 and not changes[0].path and before is None and \
            isinstance(changes[0].new, dict):
        st.caption("The entity comes into existence:")
        changes = timetravel.creation_changes(changes[0].new)
    if not changes:
        st.caption("Nothing: the state after it equals the state before it.")
        return
    counts = {op: sum(1 for c in changes if c.op == op) for op in ("add", "change", "remove")}
    st.caption(f"{counts['add']} added · {counts['change']} changed · {counts['remove']} "
               "removed")
    _changes_table(changes, "old", "→ new", key="tt_diff", marks=True)


def _changes_table(changes: list[Any], old: str, new: str, *, key: str,
                   marks: bool = False) -> None:
    """Changes as a table, one coloured row each (added / changed / removed), the old and
    the new value under the given column names."""
    df = pd.DataFrame([{"": {"add": "+", "remove": "−", "change": "~"}[c.op],
                        "path": c.dotted or "(whole state)",
                        old: "" if c.op == "add" else _short(c.old),
                        new: "" if c.op == "remove" else _short(c.new), "op": c.op}
                       for c in changes])
    styled = df.style.apply(
        lambda row: [f"background-color: {_COLORS[row['op']]}"] * len(row), axis=1)
    st.dataframe(styled, hide_index=True,
                 column_order=[*([""] if marks else []), "path", old, new],
                 key=key, width="stretch")


def event_panel(pos: Position) -> None:
    """The event itself: envelope fields, payload and metadata."""
    e = pos.event
    assert e is not None
    st.json({k: v for k, v in timetravel.event_dict(e).items()
             if k not in ("payload", "metadata")}, expanded=True)
    left, right = st.columns(2)
    with left:
        st.markdown("**Payload**")
        st.json(timetravel.jsonable(e.payload), expanded=3)
    with right:
        st.markdown("**Metadata**")
        st.json(timetravel.jsonable(e.metadata) or {}, expanded=2)


def blame_panel(loaded: Loaded, pos: Position) -> None:
    """For each field of the state, the event that last set it."""
    if pos.error is not None:
        st.caption(f"Blame stops before the failing event (seq {pos.error.seq}).")
        return
    rows = timetravel.blame_rows(loaded, pos.index)
    if not rows:
        st.caption("No fields.")
        return
    current = pos.event.event_id if pos.event else None
    df = pd.DataFrame([{**r, "value": _short(r["value"]), "ts": fmt(r["ts"]),
                        "now": "●" if r["event_id"] == current else ""} for r in rows])
    st.caption(f"{len(df)} fields · ● set by the current event")
    st.dataframe(df, hide_index=True, key="tt_blame", width="stretch",
                 column_order=["now", "path", "value", "seq", "event_type", "ts", "event_id"],
                 column_config={"ts": "time (UTC)", "event_type": "set by"})


def timeline_panel(loaded: Loaded, pos: Position, basis: str) -> None:
    """The entity's events by type over time (or offset), current position marked."""
    fold = loaded.fold
    n = len(fold)
    lo = max(0, min(pos.index - TIMELINE_WINDOW // 2, n - TIMELINE_WINDOW))
    hi = min(n, lo + TIMELINE_WINDOW)
    xs = timetravel.basis_values(fold, basis)
    kinds, seqs, ids = (field_values(fold.events, name)
                        for name in ("event_type", "seq", "event_id"))
    rows = [{"index": i, "x": xs[i], "event_type": kinds[i], "seq": seqs[i],
             "event_id": ids[i]} for i in range(lo, hi)]
    title = _X_TITLES[basis]
    st.plotly_chart(charts.entity_timeline(rows, pos.index, x_title=title,
                                           failed=fold.failed_at), key="tt_timeline")
    if hi - lo < n:
        st.caption(f"Showing events {lo + 1:,} to {hi:,} of {n:,} around the current one.")


def history_panel(loaded: Loaded, pos: Position, basis: str) -> None:
    """Pick a field; chart and table of its value after each event that changed it."""
    paths = timetravel.seen_paths(loaded)
    if not paths:
        st.caption("The payloads have no fields.")
        return
    if st.session_state.get("field") not in paths:
        st.session_state["field"] = "status" if "status" in paths else paths[0]
    path = st.selectbox("Field", paths, key="field", bind="query-params")
    fold = loaded.fold
    entries = timetravel.history(loaded, path)
    xs = timetravel.basis_values(fold, basis)
    rows = [{"x": xs[max(0, fold.index_of_seq(h.seq))],
             "value": None if h.value is MISSING else h.value,
             "seq": h.seq, "event_type": h.event_type} for h in entries]
    current_x = xs[pos.index] if pos.event else None
    title = _X_TITLES[basis]
    st.plotly_chart(charts.field_history(rows, path, current_x, x_title=title),
                    key="tt_history_chart")
    st.caption(f"{len(entries)} change(s) of {inert(path)}"
               + (" (stops before the failing event)" if fold.error else ""))
    st.dataframe(pd.DataFrame([{"seq": h.seq, "time (UTC)": fmt(h.ts),
                                "event_type": h.event_type,
                                "value": _short(h.value) or "(absent)"} for h in entries]),
                 hide_index=True, key="tt_history", width="stretch")


def whatif_panel(real: Fold, alt: Fold, rewritten: whatif.Rewritten, index: int,
                 n_changes: int) -> None:
    """At the current position: the real state beside the what-if one, differences coloured.
    Moving the slider moves both; the store is never changed."""
    if not n_changes:
        st.caption("Choose events to skip, move one, or add a hypothetical event: the state is "
                   "replayed with the change and shown beside the real one at every position.")
        return
    try:
        side = whatif.compare(real, alt, rewritten.origin, index)
    except FoldError as exc:
        st.error(f"The what-if replay fails at event {inert(exc.event_id)} (seq {exc.seq}, "
                 f"{inert(exc.event_type)}): {inert_lines(exc)}")
        return
    st.caption(f"Real: after event {index + 1} of {len(real):,} · what if: after "
               f"{side.whatif_index + 1} of {len(alt):,} events · {n_changes} change(s)")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Real state**")
        st.json(timetravel.jsonable(side.real), expanded=2)
    with c2:
        st.markdown("**What-if state**")
        st.json(timetravel.jsonable(side.whatif), expanded=2)
    if not side.differences:
        st.success("Here the what-if state equals the real one.")
        return
    st.markdown(f"**{len(side.differences)} difference(s)**")
    _changes_table(list(side.differences), "real", "what if", key="tt_whatif_diff")
