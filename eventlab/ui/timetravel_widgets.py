"""Widgets of the Time travel page: entity picker, settings, the position controls and panels.

The panels that show a position are in `timetravel_panels`. The position is an index into the
entity's fold, kept in `st.session_state["tt_index"]`; the URL carries `entity_id` and `seq`
(written here after every move) and may carry `at` (a time on the chosen basis) instead.
Everything that depends on the position runs inside one fragment, so moving the slider or
playing reruns only that part.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import streamlit as st

from eventlab import explore, investigations, timetravel
from eventlab.errors import EventLabError, ReducerError
from eventlab.explore.duplicates import CONFLICT, COPY, LABELS
from eventlab.replay import Fold, field_values
from eventlab.timetravel import Loaded, scenario, whatif
from eventlab.timetravel.reducer_choices import MERGE, ReducerChoice, configured, default
from eventlab.timeutil import TIME_BASES, parse_utc
from eventlab.ui import context, links
from eventlab.ui.text import inert, inert_join, inert_lines, plain
from eventlab.ui.timetravel_panels import fmt

LIST_WINDOW = 15  # events listed around the current one
_MARK_ICONS = {COPY: ":material/content_copy:", CONFLICT: ":material/warning:"}
_MARK_HELP = {COPY: "This event id is stored more than once, every copy with the same payload",
              CONFLICT: "This event id is stored more than once with different payloads"}
# The list's buttons read as rows: left-aligned, low, one line (a local style, nothing loaded).
_LIST_CSS = """<style>
.st-key-tt_events button {justify-content: flex-start; min-height: 1.9rem;
  padding: 0.1rem 0.5rem; border-radius: 0.3rem;}
.st-key-tt_events button > div {width: 100%; justify-content: flex-start;}
.st-key-tt_events button * {text-align: left;}
.st-key-tt_events button p {font-size: 0.85rem; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis;}
</style>"""
SELECT_SLIDER_MAX = 2_000  # above this, a numeric slider (labels would weigh too much)
URL_MEMORY = 64  # values of a URL parameter this session wrote (not deep links)
SPEEDS: dict[str, float | None] = {"1 event/s": 1.0, "2 events/s": 2.0, "5 events/s": 5.0,
                                   "10 events/s": 10.0, "original gaps, compressed": None}
HOLDS = "◆ holds"  # the mark on slider labels and list rows where the condition holds
_SHORT_BASIS = {"event_time": "event time", "kafka_time": "Kafka time", "offset": "offset"}


@dataclass(frozen=True)
class Settings:
    """The reducer and the time basis the page uses."""

    choice: ReducerChoice
    basis: str


@st.cache_resource(show_spinner=False)
def fold_cache() -> timetravel.FoldCache:
    """Folds shared by every session of this process."""
    return timetravel.FoldCache()


def _from_url(param: str, state_key: str) -> str | None:
    """Apply a URL value to session state when it changed outside the page (a deep link).

    Values this page wrote itself are not deep links: while playing, the browser may send a
    rerun with a URL one step behind, which must not move the position back.
    """
    raw = st.query_params.get(param)
    written: list[str] = st.session_state.setdefault(f"_url_{param}", [])
    if raw is not None and raw not in written:
        written[:] = [raw]
        st.session_state[state_key] = raw
        return raw
    return None


def _to_url(param: str, value: str) -> None:
    written: list[str] = st.session_state.setdefault(f"_url_{param}", [])
    if not written or written[-1] != value:
        written.append(value)
        del written[:-URL_MEMORY]
    if st.query_params.get(param) != value:
        st.query_params[param] = value


def _pick(key: str) -> None:
    st.session_state["tt_entity"] = st.session_state[key]


def entity_picker(cur: Any) -> str | None:
    """The entity id box (prefix search); returns an existing entity id, or None."""
    if "tt_entity" not in st.session_state:  # arriving on the page: follow the URL
        st.session_state.pop("_url_entity_id", None)
        st.session_state.pop("_url_seq", None)
    if _from_url("entity_id", "tt_entity") is not None:
        st.session_state.pop("_url_seq", None)  # a link to an entity: its seq is a link too
    left, right = st.columns([2, 3])
    text = (left.text_input("Entity id", key="tt_entity",
                            placeholder="an id or its beginning, e.g. customer-00001") or "")
    text = text.strip()
    if text and timetravel.entity_version(cur, text)[0] > 0:
        _to_url("entity_id", text)
        return text
    matches = explore.entity_ids(cur, text, limit=25)
    if not matches:
        right.warning(f"No entity id starts with {inert(text)}.")
        return None
    right.selectbox(f"{len(matches)}{'+' if len(matches) == 25 else ''} matching entities",
                    matches, index=None, key="tt_match", placeholder="pick one",
                    on_change=_pick, args=("tt_match",))
    return None


def reducer_choices() -> list[ReducerChoice]:
    """What the operator configured (EVENTLAB_RULES / EVENTLAB_REDUCER), plus merge."""
    try:
        return configured()
    except ReducerError as exc:
        st.error(f"Reducer configuration: {inert_lines(exc)}. Only the merge reducer is offered.")
        return [MERGE]


def settings_bar(choices: list[ReducerChoice],
                 event_types: list[str]) -> tuple[ReducerChoice, Any]:
    """Reducer and deletes (merge only), kept in the URL; returns the choice and the slot
    where `time_basis` puts the basis control once the entity is loaded."""
    c1, c2, c3 = st.columns([2, 2, 2])
    labels = [c.label for c in choices]
    label = c1.selectbox("Reducer", labels, key="reducer", bind="query-params",
                         help="Configured by whoever runs EventLab: --rules / --reducer or "
                              "EVENTLAB_RULES / EVENTLAB_REDUCER. Files are never uploaded.")
    choice = choices[labels.index(label)] if label in labels else default(choices)
    if choice.kind == "merge":
        kept = [t for t in st.session_state.get("deletes", []) if t in event_types]
        if kept != st.session_state.get("deletes", []):
            st.session_state["deletes"] = kept  # another entity: drop types it does not have
        deletes = c2.multiselect("Event types that delete the entity", event_types,
                                 key="deletes", bind="query-params",
                                 help="Besides tombstones (is_delete), these make the state "
                                      "None.")
        choice = choice.with_deletes(deletes)
    else:
        c2.caption(f"Reducer file: `{choice.path}`")
    return choice, c3.container()


def time_basis(slot: Any, loaded: Loaded, choice: ReducerChoice) -> Settings:
    """The time basis, offering only the bases this entity's events have (kept in the URL).

    Events loaded from files have no Kafka timestamp: offering Kafka time for them would give
    empty labels and a timeline without times, so it is left out and the page says why.
    """
    offered = timetravel.available_bases(loaded.fold)
    if st.session_state.get("basis") not in (None, *offered):
        del st.session_state["basis"]  # the previous entity's basis, which this one lacks
    with slot:
        basis = st.segmented_control("Time basis", offered, format_func=_SHORT_BASIS.get,
                                     key="basis", bind="query-params", default="event_time",
                                     required=True,
                                     help="What times on the slider, in the chart and in "
                                          "'jump to' mean. Positions always follow the "
                                          "stream (seq).")
        if "kafka_time" not in offered:
            st.caption("Kafka time is not offered: no event of this entity has a Kafka "
                       "timestamp (it was loaded from files).")
    return Settings(choice, basis if basis in offered else "event_time")


def load(cur: Any, entity_id: str, choice: ReducerChoice) -> Loaded | None:
    """The entity's fold (cached); shows what went wrong and returns None on failure."""
    try:
        return fold_cache().get(cur, context.db_path(), entity_id, choice.key, choice.load)
    except ReducerError as exc:
        st.error(f"The reducer could not be loaded: {inert_lines(exc)}\n\nPick another reducer "
                 "above, or fix the file and reload the page.")
    except EventLabError as exc:
        st.error(inert_lines(exc))
    return None


def summary(loaded: Loaded, settings: Settings) -> None:
    """One line on the entity, the basis, the reducer; warnings about order and coverage."""
    fold = loaded.fold
    first, last = fold.events[0], fold.events[-1]
    st.caption(
        f"**{inert(loaded.entity_id)}** ({inert(first.entity_type)}) · {len(fold):,} events · "
        f"{fmt(first.ts)} → {fmt(last.ts)} UTC · reducer **{inert(fold.reducer.name)}** · "
        f"time basis **{TIME_BASES[settings.basis]}** · "
        f"loaded and folded in {loaded.load_ms:.0f} ms")
    back = timetravel.out_of_order(fold, settings.basis)
    if back:
        st.info(f"On this basis the times go back {back} time(s) in stream order. 'At time "
                "T' means the last event in stream order whose time is at or before T; the "
                "state there includes earlier events stamped later.")
    unhandled = getattr(fold.reducer, "unhandled_in", None)
    if unhandled:
        missing = unhandled(set(field_values(fold.events, "event_type")))
        if missing:
            st.info(f"The rules have no table for {inert_join(missing)}: these events are "
                    f"{'merged' if fold.reducer.unknown == 'merge' else 'ignored'}.")
    if fold.error is not None:
        st.error(f"{inert_lines(fold.error)}\n\nStates up to the event before it are shown; from "
                 "it on, the page shows the state just before the failing event.")
        st.button("Go to the failing event", key="tt_goto_failed", icon=":material/error:",
                  on_click=move, args=(fold.error.index, len(fold)))


def _holds(marks: list[bool] | None, index: int) -> bool:
    return marks is not None and index < len(marks) and marks[index]


def _labeller(fold: Fold, basis: str, marks: list[bool] | None) -> Callable[[int], str]:
    """Slider labels: position, time (or offset) on the basis, event type, and HOLDS where
    the Time travel condition holds. Streamlit renders a select_slider's labels as Markdown:
    the event type goes through the escape helper."""
    values = timetravel.basis_values(fold, basis)
    prefix = "offset " if basis == "offset" else ""

    def label(index: int) -> str:
        return f"#{index + 1} · {prefix}{fmt(values[index])[:19]} · " \
               f"{inert(fold.events[index].event_type, 60)}" + \
               (f" · {HOLDS}" if _holds(marks, index) else "")
    return label


def sync_position(loaded: Loaded, settings: Settings) -> None:
    """Set the position for a new entity (its last event) or from `seq` / `at` in the URL."""
    fold = loaded.fold
    n = len(fold)
    if st.session_state.get("_tt_for") != loaded.entity_id:
        st.session_state["_tt_for"] = loaded.entity_id
        st.session_state["tt_index"] = n - 1
        st.session_state["tt_playing"] = False
    seq = _from_url("seq", "_tt_seq_raw")
    if seq is not None:
        index, problem = link_index(fold, seq, st.query_params.get("offset"))
        if problem:
            st.warning(inert(problem))
        if index is not None:
            st.session_state["tt_index"] = index
    at = st.query_params.get("at")
    if at is not None:
        del st.query_params["at"]
        _jump_to(fold, settings.basis, at)
    st.session_state["tt_index"] = min(max(0, st.session_state.get("tt_index", n - 1)), n - 1)


def link_index(fold: Fold, seq: str, offset: str | None) -> tuple[int | None, str | None]:
    """The event a link's `seq` (and `offset`, naming the copy when a seq is stored twice)
    points at, and what the page must say when the link cannot be followed exactly."""
    try:
        wanted = int(seq)
        at_offset = int(offset) if offset not in (None, "") else None
    except ValueError:
        bad = f"offset={offset}" if seq.strip().lstrip("-").isdigit() else f"seq={seq}"
        return None, f"{bad} in the link is not a number."
    seqs = field_values(fold.events, "seq")  # no Event built
    if not seqs:
        return None, None
    same = [i for i, s in enumerate(seqs) if s == wanted]
    if not same:
        last = seqs[-1]
        if wanted > last:
            return len(seqs) - 1, (f"seq={wanted}: beyond this entity's last event (seq "
                                   f"{last}); showing the last event.")
        index = max(0, fold.index_of_seq(wanted))
        return index, (f"seq={wanted}: this entity has no event with it; showing seq "
                       f"{seqs[index]}.")
    if at_offset is None:
        return same[-1], None
    offsets = field_values(fold.events, "offset")
    copy = [i for i in same if offsets[i] == at_offset]
    if not copy:
        return same[-1], (f"offset={at_offset}: no copy of seq {wanted} at this offset; "
                          "showing the last copy.")
    return copy[0], None


def _jump_to(fold: Fold, basis: str, raw: str) -> None:
    """Move to the last event at or before a time (or offset) typed by the user."""
    try:
        target: datetime | int = int(raw.strip()) if basis == "offset" else parse_utc(raw)
        index = timetravel.index_at(fold, target, basis)
    except (ValueError, EventLabError) as exc:
        st.session_state["_tt_jump_error"] = f"Cannot jump to {raw!r}: {exc}"
        st.session_state["_tt_jumped_to"] = st.session_state.get("tt_index")  # keep the text
        return
    if index < 0:
        st.session_state["_tt_jump_error"] = (f"No event at or before {raw} on this basis: "
                                              "showing the first event.")
    st.session_state["tt_index"] = max(0, index)
    st.session_state["_tt_jumped_to"] = max(0, index)
    st.session_state["tt_playing"] = False


def event_list(cur: Any, loaded: Loaded, index: int, basis: str,
               holding: list[bool] | None = None) -> None:
    """The entity's events around the current one, like Redux DevTools' action list: type,
    seq and time on the basis; a click moves there; the current one highlighted; events whose
    id is stored more than once marked (identical copy or conflicting payload), and HOLDS on
    those where the condition holds (`holding`, one flag per position)."""
    fold = loaded.fold
    n = len(fold)
    lo = max(0, min(index - LIST_WINDOW // 2, n - LIST_WINDOW))
    hi = min(n, lo + LIST_WINDOW)
    marks = context.duplicates()
    values = timetravel.basis_values(fold, basis)
    st.markdown("**Events**")
    st.caption(f"{lo + 1:,}–{hi:,} of {n:,} · click one to go there · ← → step")
    st.html(_LIST_CSS)
    with st.container(key="tt_events", gap="xxsmall"):
        for i in range(lo, hi):
            e = fold.events[i]
            mark = marks.get(e.event_id)
            holds = _holds(holding, i)
            st.button(f"seq {e.seq} · {inert(e.event_type, 60)} · {_list_time(values[i])}"
                      + (f" · {HOLDS}" if holds else ""),
                      key=f"tt_event_{i}", type="primary" if i == index else "tertiary",
                      width="stretch", on_click=move, args=(i, n),
                      icon=_MARK_ICONS.get(mark or ""),
                      help=f"Go to event {i + 1}: {inert(fmt(values[i]))} · id {inert(e.event_id)}"
                           + (f". {_MARK_HELP[mark]}." if mark else "")
                           + (". The condition holds here." if holds else ""))
    duplicated = sum(1 for i in field_values(fold.events, "event_id") if i in marks)
    if duplicated:
        st.caption(f"{duplicated:,} event(s) of this entity have an id stored more than once: "
                   ":material/content_copy: identical copies, :material/warning: conflicting "
                   "payloads.")


def _list_time(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%m-%d %H:%M:%S")
    return "—" if value is None else f"offset {value}"


def move(to: int, n: int) -> None:
    """Go to position `to` (clamped), as the slider, the list and the buttons do; stops play."""
    st.session_state["tt_index"] = min(max(0, to), n - 1)
    st.session_state["tt_playing"] = False


def _slid(key: str, n: int) -> None:
    if st.session_state.get("tt_playing"):
        return  # a stale value from the browser while the fragment moves the slider
    move(int(st.session_state[key]), n)


def _slid_n(n: int) -> None:
    if not st.session_state.get("tt_playing"):
        move(int(st.session_state["tt_slider_n"]) - 1, n)


def _jumped(fold: Fold, basis: str) -> None:
    raw = st.session_state.get("tt_jump") or ""
    if raw.strip():
        _jump_to(fold, basis, raw)


def _set_playing(n: int, playing: bool) -> None:
    """What the button showed (Play or Pause), not a toggle: a click Streamlit delivers twice
    (a full rerun racing the player's fragment rerun) must not undo itself."""
    if playing and st.session_state.get("tt_index", 0) >= n - 1:
        st.session_state["tt_index"] = 0  # play from the start
    st.session_state["tt_playing"] = playing
    st.session_state["tt_due"] = 0.0


def player(loaded: Loaded) -> float | None:
    """Play / pause and the speed; returns the fragment's refresh interval while playing."""
    n = len(loaded.fold)
    playing = bool(st.session_state.get("tt_playing"))
    c1, c2, _ = st.columns([1, 2, 3])
    c1.button("Pause" if playing else "Play", key="tt_play", on_click=_set_playing,
              args=(n, not playing),
              icon=":material/pause:" if playing else ":material/play_arrow:",
              type="primary" if playing else "secondary", disabled=n < 2)
    speed = c2.selectbox("Speed", list(SPEEDS), key="tt_speed", label_visibility="collapsed")
    st.session_state["_tt_timer"] = playing
    if not playing:
        return None
    eps = SPEEDS.get(speed)
    return 1.0 / eps if eps else 0.2


def _gap_delay(fold: Fold, index: int) -> float:
    """Seconds to wait before the next event when playing original gaps (log-compressed)."""
    if index + 1 >= len(fold):
        return 0.0
    gap = (fold.events[index + 1].ts - fold.events[index].ts).total_seconds()
    return min(2.0, max(0.1, 0.25 * math.log2(1.0 + max(gap, 0.0))))


def tick(loaded: Loaded) -> None:
    """While playing, advance one event when it is due; stop at the end (or when paused)."""
    if st.session_state.get("_tt_timer") and not st.session_state.get("tt_playing"):
        st.rerun(scope="app")  # paused from inside the fragment: drop the timer
    if not st.session_state.get("tt_playing"):
        return
    n = len(loaded.fold)
    now = time.monotonic()
    if now < st.session_state.get("tt_due", 0.0):
        return
    index = st.session_state.get("tt_index", 0) + 1
    if index >= n:
        st.session_state["tt_playing"] = False
        st.rerun(scope="app")
    st.session_state["tt_index"] = index
    compressed = SPEEDS.get(st.session_state.get("tt_speed", "")) is None
    st.session_state["tt_due"] = now + (_gap_delay(loaded.fold, index) if compressed else 0)
    if index == n - 1:
        st.session_state["tt_playing"] = False


def controls(loaded: Loaded, settings: Settings, marks: list[bool] | None = None) -> int:
    """The slider over the events (labels marked where the condition holds), step buttons
    and jump-to; returns the current index."""
    fold = loaded.fold
    n = len(fold)
    index = st.session_state["tt_index"]
    label = _labeller(fold, settings.basis, marks)
    playing = bool(st.session_state.get("tt_playing"))
    # Set the slider only when something else moved the position (a button, a jump, play):
    # writing its value on every run would overwrite a key press made during the rerun.
    if n <= SELECT_SLIDER_MAX:
        if st.session_state.get("tt_slider") != index:
            st.session_state["tt_slider"] = index
        st.select_slider("Event", options=list(range(n)), key="tt_slider", format_func=label,
                         on_change=_slid, args=("tt_slider", n), disabled=n < 2 or playing)
    else:
        if st.session_state.get("tt_slider_n") != index + 1:
            st.session_state["tt_slider_n"] = index + 1
        st.slider("Event (position in the stream)", 1, n, key="tt_slider_n",
                  on_change=_slid_n, args=(n,), disabled=playing)
        st.caption(label(index))
    cols = st.columns([1, 1.2, 1.4, 1, 3.4], vertical_alignment="bottom")
    cols[0].button("First", key="tt_first", icon=":material/first_page:",
                   on_click=move, args=(0, n), disabled=index == 0)
    # The arrow keys step (Streamlit's button shortcuts; they stay quiet while the focus is
    # in a text box, and the slider takes them itself while it has the focus).
    cols[1].button("Back", key="tt_prev", icon=":material/chevron_left:", shortcut="Left",
                   on_click=move, args=(index - 1, n), disabled=index == 0,
                   help="Step back one event (← key)")
    cols[2].button("Forward", key="tt_next", icon=":material/chevron_right:",
                   shortcut="Right", on_click=move, args=(index + 1, n),
                   disabled=index >= n - 1, help="Step forward one event (→ key)")
    cols[3].button("Last", key="tt_last", icon=":material/last_page:",
                   on_click=move, args=(n - 1, n), disabled=index >= n - 1)
    what = "offset" if settings.basis == "offset" else "date-time (UTC)"
    if st.session_state.get("_tt_jumped_to") != index and st.session_state.get("tt_jump"):
        st.session_state["tt_jump"] = ""  # the position moved on: the typed time is stale
    cols[4].text_input(f"Jump to {what}", key="tt_jump", on_change=_jumped,
                       args=(fold, settings.basis),
                       placeholder="12345" if settings.basis == "offset"
                       else "e.g. 2025-03-05 14:03:00",
                       help=f"Press Enter: go to the last event at or before this {what}.")
    error = st.session_state.pop("_tt_jump_error", None)
    if error:
        st.warning(inert_lines(error))
    _position_to_url(fold, index)
    return index


def _position_to_url(fold: Fold, index: int) -> None:
    """`seq` in the URL, and `offset` too when another copy shares that seq (a link must
    reopen this copy, not the other)."""
    ev = fold.events[index]
    _to_url("seq", str(ev.seq))
    shared = fold.index_of_seq(ev.seq) != index or (index > 0
                                                   and fold.events[index - 1].seq == ev.seq)
    if shared and ev.offset is not None:
        if st.query_params.get("offset") != str(ev.offset):
            st.query_params["offset"] = str(ev.offset)
    elif "offset" in st.query_params:
        del st.query_params["offset"]


WHATIF_LIST_MAX = 2_000  # entities up to this many events get a pick list; larger, typed ids


def _saved_scenario(loaded: Loaded) -> None:
    """A link to a saved scenario (`inv` and `scenario` in the URL): load it from its
    investigation once and set the What if widgets to it; what cannot be shown is said."""
    inv_id, sid = st.query_params.get(links.SCENARIO_INV), st.query_params.get(links.SCENARIO)
    if not inv_id or not sid:
        return
    token = f"{loaded.entity_id}\x00{inv_id}\x00{sid}"
    if st.session_state.get("_wi_applied") == token:
        return
    st.session_state["_wi_applied"] = token
    try:
        with context.store().reading() as cur:
            saved = investigations.load(cur, inv_id).scenario(sid)
        if saved.entity_id != loaded.entity_id:
            raise whatif.WhatIfError(f"scenario {sid} is about entity {saved.entity_id}, not "
                                     f"{loaded.entity_id}")
        changes = saved.to_changes(loaded.fold.events)
    except EventLabError as exc:
        st.session_state["_wi_problem"] = f"The saved what-if cannot be applied: {exc}"
        return
    left = _set_whatif_widgets(loaded, changes)
    st.session_state["_wi_name"] = saved.name
    if left:
        st.session_state["_wi_problem"] = (f"{left} change(s) of the saved what-if have no "
                                           "control on this tab (one move and one insert "
                                           "are shown): they are not applied here.")


def _set_whatif_widgets(loaded: Loaded, changes: list[whatif.Change_]) -> int:
    """Put `changes` into the What if widgets; returns how many did not fit."""
    events = loaded.fold.events
    skips = [c.index for c in changes if isinstance(c, whatif.Skip)]
    if len(events) <= WHATIF_LIST_MAX:
        st.session_state["wi_skip"] = skips
    else:
        st.session_state["wi_skip_ids"] = ", ".join(whatif.skip_tokens(events, skips))
    moves = [c for c in changes if isinstance(c, whatif.Move)]
    inserts = [c for c in changes if isinstance(c, whatif.Insert)]
    st.session_state["wi_move_on"] = bool(moves)
    if moves:
        st.session_state["wi_move_from"] = moves[0].index + 1
        st.session_state["wi_move_to"] = moves[0].to + 1
    st.session_state["wi_add_on"] = bool(inserts)
    if inserts:
        st.session_state["wi_add_type"] = inserts[0].event_type
        st.session_state["wi_add_payload"] = orjson.dumps(
            inserts[0].payload, option=orjson.OPT_INDENT_2, default=str).decode()
        st.session_state["wi_add_at"] = inserts[0].at + 1
    return max(0, len(moves) - 1) + max(0, len(inserts) - 1)


def whatif_controls(loaded: Loaded) -> list[whatif.Change_]:
    """What to change, Redux DevTools style: skip events, move one, add a hypothetical one
    (or a saved scenario a link names)."""
    fold = loaded.fold
    n = len(fold)
    _saved_scenario(loaded)
    if st.session_state.get("_wi_name") and st.session_state.get("_wi_applied"):
        st.caption(f"Saved what-if: {inert(st.session_state['_wi_name'])}")
    problem = st.session_state.pop("_wi_problem", None)
    if problem:
        st.warning(inert_lines(problem))
    marks = context.duplicates()
    changes: list[whatif.Change_] = []

    def label(i: int) -> str:
        e = fold.events[i]
        mark = LABELS.get(marks.get(e.event_id, ""))
        return f"#{i + 1} · seq {e.seq} · {plain(e.event_type, 60)}" + (f" {mark}" if mark else "")

    if n <= WHATIF_LIST_MAX:
        skipped = st.multiselect("Skip these events", list(range(n)), format_func=label,
                                 key="wi_skip", placeholder="e.g. a planted duplicate (⚠)")
        changes += [whatif.Skip(i) for i in skipped]
    else:
        typed = st.text_input("Skip these event ids (comma-separated; ID:K for the K-th copy)",
                              key="wi_skip_ids")
        ids = [t.strip() for t in typed.split(",") if t.strip()]
        try:
            changes += whatif.changes_from_ids(fold.events, ids)
        except EventLabError as exc:
            st.error(inert_lines(exc))
    c1, c2 = st.columns(2)
    with c1.expander("Move an event"):
        if st.toggle("Move", key="wi_move_on"):
            src = st.number_input("Event #", 1, n, 1, key="wi_move_from")
            dst = st.number_input("to just before event # (n + 1 = last)", 1, n + 1, n + 1,
                                  key="wi_move_to")
            changes.append(whatif.Move(int(src) - 1, int(dst) - 1))
    with c2.expander("Add a hypothetical event"):
        if st.toggle("Add", key="wi_add_on"):
            etype = st.text_input("Event type", key="wi_add_type", value="Hypothetical")
            raw = st.text_area("Payload (JSON)", key="wi_add_payload", value="{}")
            at = st.number_input("just before event # (n + 1 = at the end)", 1, n + 1, n + 1,
                                 key="wi_add_at")
            try:
                payload = orjson.loads(raw or "null")
            except orjson.JSONDecodeError as exc:
                st.error(f"The payload is not JSON: {inert_lines(exc)}")
            else:
                changes.append(whatif.Insert(int(at) - 1, etype or "Hypothetical", payload))
    return changes


def whatif_scenario(loaded: Loaded, choice: ReducerChoice,
                    changes: list[whatif.Change_]) -> scenario.Scenario:
    """These changes as a scenario to save (named from the changes until the user names it)."""
    return scenario.make("", loaded.entity_id, choice, loaded.fold.events, changes)


def whatif_fold(loaded: Loaded, changes: list[whatif.Change_]) -> tuple[Fold, whatif.Rewritten]:
    """The what-if fold for these changes (cached with the real fold), same reducer."""
    key = ("whatif", orjson.dumps([[type(c).__name__, *c.__dict__.values()] for c in changes],
                                  default=str))

    def build() -> tuple[Fold, whatif.Rewritten]:
        new = whatif.rewrite(loaded.fold.events, changes)
        return Fold(new.events, loaded.fold.reducer,
                    snapshot_every=timetravel.SNAPSHOT_EVERY), new

    return loaded.memo(key, build)
