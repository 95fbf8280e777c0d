"""AppTest: Time travel's condition bar (`when=` in the URL): the buttons move the position to
where the condition holds or stops holding, the slider caption and the event list mark every
position where it holds, and a condition that does not parse is named by its column."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import hostile
import pytest
from apptest_support import open_page, texts
from streamlit.testing.v1 import AppTest

from eventlab import timetravel
from eventlab.replay import Fold
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import condition
from eventlab.ui.timetravel_widgets import HOLDS

ENTITY = "customer-00001"
WHEN = 'address.country == "FR"'

_page = partial(open_page, "pages/timetravel_page.py")


@pytest.fixture(scope="module")
def holds(demo_db: Path) -> list[bool]:
    """Where WHEN holds, by a refold at every position (the brute force bisect must match)."""
    with EventStore(demo_db) as store:
        events = timetravel.load_events(store.cursor(), ENTITY)
    fold = Fold(events)
    cond = condition.parse(WHEN)
    return [cond.holds(fold.state_at(i)) for i in range(len(events))]


def _position(at: AppTest) -> int:
    return int(at.session_state["tt_index"])


def test_buttons_move_to_where_it_holds_and_stops(app_env: Path, holds: list[bool]) -> None:
    hits = [i for i, h in enumerate(holds) if h]
    stops = [i for i in range(1, len(holds)) if holds[i - 1] and not holds[i]]
    assert len(hits) >= 3 and stops and hits[0] > 0  # the demo entity is a real test of it
    at = _page(entity_id=ENTITY, when=WHEN)
    assert not at.exception
    assert _position(at) == len(holds) - 1  # typing a condition does not move
    at.button(key="tt_when_first").click().run()
    assert not at.exception
    assert _position(at) == hits[0]
    assert at.query_params["when"] == WHEN
    at.button(key="tt_when_next").click().run()
    assert _position(at) == hits[1]
    at.button(key="tt_when_stops").click().run()
    assert _position(at) == next(s for s in stops if s > hits[1])
    after = _position(at)
    at.button(key="tt_when_prev").click().run()
    assert _position(at) == max(i for i in hits if i < after)
    assert at.query_params["seq"] == str(_position(at) + 1)  # the demo's seqs start at 1


def test_slider_caption_and_list_mark_where_it_holds(app_env: Path,
                                                      holds: list[bool]) -> None:
    at = _page(entity_id=ENTITY, when=WHEN, seq="1")
    assert not at.exception
    runs = condition.ranges(holds)
    said = [c for c in texts(at.caption) if "the condition holds at" in c]
    assert said, texts(at.caption)
    assert f"holds at {sum(holds)} of {len(holds)} positions" in said[0]
    for a, b in runs:
        assert (f"#{a + 1}–#{b + 1}" if a != b else f"#{a + 1}") in said[0]
    listed = {int(b.key.removeprefix("tt_event_")): b.label for b in at.button
              if b.key and b.key.startswith("tt_event_")}
    assert listed
    for i, label in listed.items():
        assert (HOLDS in label) == holds[i], (i, label)


def test_a_bad_condition_names_its_column(app_env: Path) -> None:
    at = _page(entity_id=ENTITY, when='address.country == and status')
    assert not at.exception
    errors = texts(at.error)
    assert any("column 20" in e and "expected" in e for e in errors), errors
    assert not any(b.key == "tt_when_first" for b in at.button)
    at.text_input(key="when").input('event.type == "x"').run()
    errors = texts(at.error)
    assert any("column 1" in e and "event.type" in e for e in errors), errors


@pytest.mark.parametrize("when", ["total exists", 'x == "![a](http://www.evil)" or <img',
                                  ":red[RED] exists"])
def test_hostile_entity_with_a_condition(monkeypatch: pytest.MonkeyPatch, hostile_db: Path,
                                         when: str) -> None:
    from test_hostile_app import assert_inert

    monkeypatch.setenv("EVENTLAB_DB", str(hostile_db))
    at = _page(entity_id=hostile.ENTITY, when=when, timeout=90)
    assert_inert(at, f"time travel, when={when}")
    if when == "total exists":
        assert any("the condition holds at" in c for c in texts(at.caption)), (
            texts(at.caption), texts(at.error))
        at.button(key="tt_when_first").click().run()
        assert_inert(at, "time travel, first where it holds")
    else:
        assert any("column" in e for e in texts(at.error)), texts(at.error)
