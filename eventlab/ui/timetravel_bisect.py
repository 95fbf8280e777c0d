"""Time travel's condition bar: a condition on the state (the invariant grammar, `when` in the
URL), buttons that move the position to the first / previous / next position where it holds
or to the next where it stops holding (`timetravel.bisect` over the fold's snapshots), and the
marks of every position where it holds (one pass, cached with the fold)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from eventlab.invariants.grammar import ParseError
from eventlab.timetravel import Loaded, bisect, condition
from eventlab.ui.text import inert_lines
from eventlab.ui.timetravel_widgets import HOLDS, move

_MESSAGE = "_tt_when_message"
RANGES_SHOWN = 12  # runs of holding positions listed in the caption
# (key, label, what, direction, said when there is none)
BUTTONS = (
    ("tt_when_first", "First where it holds", "holds", "first",
     "The condition holds at no position."),
    ("tt_when_prev", "Previous", "holds", "previous",
     "The condition holds at no position before this one."),
    ("tt_when_next", "Next", "holds", "next",
     "The condition holds at no position after this one."),
    ("tt_when_stops", "Where it stops holding", "stops", "next",
     "The condition stops holding at no position after this one."),
)


def _go(loaded: Loaded, cond: condition.StateCondition, what: str, direction: str,
        none: str) -> None:
    """Move to the position bisect finds from the current one; say so when there is none."""
    fold = loaded.fold
    try:
        hit = bisect.find(fold, cond, what=what, direction=direction,
                          at=st.session_state.get("tt_index", len(fold) - 1))
    except bisect.BisectError as exc:
        st.session_state[_MESSAGE] = ("error", str(exc))
        return
    if hit is None:
        st.session_state[_MESSAGE] = ("info", none)
    else:
        move(hit.index, len(fold))


def _marks(loaded: Loaded, cond: condition.StateCondition) -> list[bool]:
    return loaded.memo(("bisect_marks", cond.tree), lambda: bisect.marks(loaded.fold, cond))


def _found(marks: list[bool], what: str, direction: str, index: int) -> bool:
    """Whether a button has somewhere to go (the same answer bisect gives, from the marks)."""
    if what == "stops":
        return any(marks[i - 1] and not marks[i] for i in range(max(index + 1, 1), len(marks)))
    if direction == "first":
        return any(marks)
    if direction == "previous":
        return any(marks[:index])
    return any(marks[index + 1:])


def condition_bar(loaded: Loaded) -> list[bool] | None:
    """The condition box and its buttons; returns where it holds (one flag per position), or
    None without a usable condition (a parse error is shown with its line and column)."""
    box, *cols = st.columns([3, 1.4, 1, 1, 1.6], vertical_alignment="bottom")
    text = box.text_input(
        "Condition on the state", key="when", bind="query-params",
        placeholder='e.g. status == "shipped" and not paid_at exists',
        help="The invariant grammar (docs/invariants.md) over the state after each event: "
             "paths, comparisons, and / or / not, exists, in, sum(), count(). Positions "
             f"where it holds are marked {HOLDS} on the slider and in the list.") or ""
    message: Any = st.session_state.pop(_MESSAGE, None)
    if not text.strip():
        return None
    try:
        cond = condition.parse(text)
    except ParseError as exc:
        st.error(f"The condition does not parse: {inert_lines(exc)}")
        st.code(f"{text.splitlines()[exc.line - 1] if text.splitlines() else ''}\n"
                f"{' ' * (exc.column - 1)}^", language=None)
        return None
    try:
        marks = _marks(loaded, cond)
    except bisect.BisectError as exc:
        st.error(inert_lines(exc))
        return None
    index = st.session_state.get("tt_index", len(loaded.fold) - 1)
    for col, (key, label, what, direction, none) in zip(cols, BUTTONS, strict=True):
        col.button(label, key=key, on_click=_go, args=(loaded, cond, what, direction, none),
                   disabled=not _found(marks, what, direction, index),
                   help=f"{label}: {'from the start' if direction == 'first' else 'from here'}"
                        " (bisect over the fold's snapshots).")
    if message:
        (st.error if message[0] == "error" else st.info)(inert_lines(message[1]))
    return marks


def marks_caption(marks: list[bool] | None, n: int) -> None:
    """Under the slider: how many positions hold the condition, and which (runs of #)."""
    if marks is None:
        return
    runs = condition.ranges(marks)
    if not runs:
        st.caption(f"The condition holds at none of the {n:,} positions.")
        return
    shown = ", ".join(f"#{a + 1}" if a == b else f"#{a + 1}–#{b + 1}"
                      for a, b in runs[:RANGES_SHOWN])
    more = f" and {len(runs) - RANGES_SHOWN:,} more runs" if len(runs) > RANGES_SHOWN else ""
    st.caption(f"{HOLDS}: the condition holds at {sum(marks):,} of {n:,} positions: "
               f"{shown}{more}.")
