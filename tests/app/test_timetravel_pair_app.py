"""AppTest: Time travel's "Pin and diff" tab from a link (`pin_a`, `pin_b`, `pin_reducer`):
the state diff from A to B and the events between; a second reducer at the same position."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import open_page
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab import timetravel
from eventlab.replay import Fold, diff
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import reducer_choices

ENTITY = "customer-00001"


def _frame(at: AppTest, column: str) -> object:
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no dataframe with a {column!r} column")


def test_two_pinned_positions_from_a_link(app_env: Path, demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        events = timetravel.load_events(store.cursor(), ENTITY)
    fold = Fold(events)
    at = open_page("pages/timetravel_page.py", entity_id=ENTITY, panel="Pin and diff",
                   pin_a=str(events[0].seq), pin_b=str(events[3].seq))
    assert not at.exception
    between = _frame(at, "event_id")
    assert list(between["seq"]) == [e.seq for e in events[1:4]]
    changed = _frame(at, "at B")
    assert set(changed["path"]) == {c.dotted or "(whole state)"
                                    for c in diff(fold.state_at(0), fold.state_at(3))}


def test_one_position_under_a_second_reducer(monkeypatch: pytest.MonkeyPatch,
                                             app_env: Path) -> None:
    monkeypatch.setenv(reducer_choices.ENV_RULES, str(Path(APP).parent /
                                                      "eventlab/demo/rules.toml"))
    at = open_page("pages/timetravel_page.py", entity_id=ENTITY, panel="Pin and diff")
    assert not at.exception
    labels = at.selectbox(key="pin_reducer").options
    assert len(labels) == 2
    at.selectbox(key="pin_reducer").select(labels[1]).run()
    assert not at.exception
    assert any("B under" in c.value for c in at.caption)
    assert not any("events applied between" in m.value for m in at.markdown)
