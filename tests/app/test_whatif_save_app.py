"""AppTest: a what-if is saved from Time travel's What if tab into an investigation, listed on
the Investigations page, and its link reopens Time travel with the same changes applied."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from apptest_support import open_page, shown

from eventlab import investigations as inv_api
from eventlab import timetravel
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import reducer_choices

ENTITY = "customer-00001"


@pytest.fixture()
def app_db(monkeypatch: pytest.MonkeyPatch, demo_db: Path, tmp_path: Path) -> Path:
    """A copy of the demo store (this test writes) holding one investigation."""
    path = Path(shutil.copy(demo_db, tmp_path / "wi.duckdb"))
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_ACTOR", "ann")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    monkeypatch.delenv(reducer_choices.ENV_RULES, raising=False)
    monkeypatch.delenv(reducer_choices.ENV_REDUCER, raising=False)
    with EventStore(path) as store:
        inv_api.save(store, inv_api.new("refund", "ann", inv_api.now()))
    return path


_tt = partial(open_page, "pages/timetravel_page.py")


def _investigation(path: Path) -> inv_api.Investigation:
    with EventStore(path) as store:
        [inv] = inv_api.listing(store.cursor())
        return inv


def test_save_a_what_if_and_reopen_it_from_the_investigation(app_db: Path) -> None:
    with EventStore(app_db) as store:
        events = timetravel.load_events(store.cursor(), ENTITY)
    at = _tt(entity_id=ENTITY, panel="What if")
    assert not at.exception
    at.multiselect(key="wi_skip").select(1).run()
    at.toggle(key="wi_add_on").set_value(True).run()
    at.text_input(key="wi_add_type").input("Refunded").run()
    at.text_area(key="wi_add_payload").input('{"status": "refunded"}').run()
    assert not at.exception and any("2 change(s)" in c.value for c in at.caption)
    inv = _investigation(app_db)
    at.selectbox(key="tt_wi_inv_pick").select(f"{inv.name} ({inv.id})").run()
    at.text_input(key="tt_wi_inv_scenario_name").input("no second event").run()
    at.button(key="tt_wi_inv_add").click().run()
    assert not at.exception, at.exception
    assert any("Added to refund" in s.value for s in at.success)
    [saved] = _investigation(app_db).scenarios
    assert saved.name == "no second event" and saved.entity_id == ENTITY
    n = len(events)
    assert saved.changes == (
        {"op": "skip", "index": 1, "event_id": events[1].event_id},
        {"op": "insert", "at": n, "event_type": "Refunded", "payload": {"status": "refunded"}})

    # The investigation lists it, with a link back to Time travel.
    page = open_page("pages/investigations_page.py", id=inv.id)
    assert not page.exception
    [frame] = [d.value for d in page.dataframe if "changes" in d.value.columns]
    assert list(frame["name"]) == ["no second event"] and list(frame["changes"]) == [2]
    link = urlsplit(frame["open"][0])
    assert link.path == "./time-travel"
    params = {k: v[0] for k, v in parse_qs(link.query).items()}
    assert params["scenario"] == saved.id and params["inv"] == inv.id

    # The link, opened in a fresh session, applies the same changes.
    back = _tt(**params)
    assert not back.exception, back.exception
    assert back.multiselect(key="wi_skip").value == [1]
    assert back.toggle(key="wi_add_on").value is True
    assert back.text_input(key="wi_add_type").value == "Refunded"
    assert any("Saved what-if: no second event" in shown(c.value) for c in back.caption)
    assert any("2 change(s)" in c.value for c in back.caption)
    # Changing it afterwards is the user's: the next rerun does not put the saved one back.
    back.multiselect(key="wi_skip").unselect(1).run()
    assert back.multiselect(key="wi_skip").value == []


def test_a_link_to_a_scenario_that_does_not_fit_says_so(app_db: Path) -> None:
    inv = _investigation(app_db)
    at = _tt(entity_id=ENTITY, panel="What if", inv=inv.id, scenario="nope-123")
    assert not at.exception
    said = [shown(w.value) for w in at.warning]
    assert any("cannot be applied" in w and "no what-if scenario 'nope-123'" in w
               for w in said), said
