"""AppTest: the Time travel page, and the way in from Explore."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab import timetravel
from eventlab.replay import Event, Fold
from eventlab.store.eventstore import EventStore
from eventlab.timetravel import reducer_choices
from eventlab.ui.timetravel_widgets import link_index

ENTITY = "customer-00001"


@pytest.fixture(scope="module")
def events(demo_db: Path) -> tuple:
    with EventStore(demo_db) as store:
        return timetravel.load_events(store.cursor(), ENTITY)


_page = partial(open_page, "pages/timetravel_page.py")


def _header(at: AppTest) -> str:
    found = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert found, [m.value for m in at.markdown]
    return found[0]


def _frame(at: AppTest, column: str) -> object:
    """A dataframe by one of its columns (frames without on_select have no key in AppTest)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no dataframe with a {column!r} column")


def _state(at: AppTest) -> object:
    return at.json[0].value


def test_moving_the_slider_changes_the_state_panel(app_env: Path, events: tuple) -> None:
    at = _page(entity_id=ENTITY)
    assert not at.exception
    assert f"seq {events[-1].seq} · event {len(events)} of {len(events)}" in _header(at)
    last = _state(at)
    at.select_slider(key="tt_slider").set_value(0).run()
    assert not at.exception
    assert f"{events[0].event_type} · seq {events[0].seq} · event 1 of" in _header(at)
    first = _state(at)
    assert first != last and '"email_changes"' not in first
    assert at.query_params["seq"] == str(events[0].seq)
    at.button(key="tt_next").click().run()
    assert f"seq {events[1].seq} · event 2 of" in _header(at)
    assert _state(at) != first
    diff = _frame(at, "path")
    assert len(diff) >= 1 and set(diff[""]) <= {"+", "−", "~"}
    at.button(key="tt_last").click().run()
    assert _state(at) == last


def test_a_deep_link_restores_entity_and_position(app_env: Path, events: tuple) -> None:
    at = _page(entity_id=ENTITY, seq=str(events[4].seq))
    assert not at.exception
    assert at.text_input(key="tt_entity").value == ENTITY
    assert f"seq {events[4].seq} · event 5 of" in _header(at)
    assert at.select_slider(key="tt_slider").value == 4
    at = _page(entity_id=ENTITY, at=events[2].ts.isoformat())  # a time instead of a position
    assert f"seq {events[2].seq} · event 3 of" in _header(at)
    assert at.query_params["seq"] == str(events[2].seq) and "at" not in at.query_params


def test_jump_basis_and_panels(app_env: Path, events: tuple) -> None:
    at = _page(entity_id=ENTITY, seq=str(events[0].seq))
    at.text_input(key="tt_jump").input(events[6].ts.isoformat()).run()
    assert f"seq {events[6].seq} · event 7 of" in _header(at)
    at.text_input(key="tt_jump").input("not a time").run()
    assert any("Cannot jump" in w.value for w in at.warning)
    at = _page(entity_id=ENTITY, seq=str(events[3].seq), panel="Field blame")
    blame = _frame(at, "event_id")
    assert "customer_id" in set(blame["path"]) and set(blame["seq"]) <= {
        e.seq for e in events[:4]}
    at = _page(entity_id=ENTITY, panel="Field history", field="email")
    history = _frame(at, "time (UTC)")
    assert len(history) >= 2 and history["value"].iloc[0].startswith('"')
    at = _page(entity_id=ENTITY, basis="offset")
    assert not at.exception and any("offset order" in c.value for c in at.caption)


def test_prefix_search_offers_entities(app_env: Path) -> None:
    at = _page(entity_id="customer-0000")
    assert not at.exception
    box = at.selectbox(key="tt_match")
    assert ENTITY in box.options
    box.select(ENTITY).run()
    assert not at.exception and _header(at).startswith("#### ")


def test_a_failing_reducer_shows_its_error_and_the_page_survives(
        app_env: Path, events: tuple, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken_reducer.py"
    broken.write_text(f"def apply(state, event):\n"
                      f"    if event.seq == {events[3].seq}:\n"
                      f"        raise ValueError('no street in ' + event.event_type)\n"
                      f"    return {{**(state or {{}}), **(event.payload or {{}})}}\n")
    monkeypatch.setenv(reducer_choices.ENV_REDUCER, str(broken))
    at = _page(entity_id=ENTITY)
    assert not at.exception
    bad = events[3]
    errors = " ".join(texts(at.error))
    assert bad.event_id in errors and f"seq {bad.seq}" in errors and bad.event_type in errors
    assert any("State before the failing event" in m.value for m in at.markdown)
    assert _state(at)  # the state before the failing event is shown
    at.button(key="tt_goto_failed").click().run()
    assert f"seq {bad.seq} · event 4 of" in _header(at)
    at.button(key="tt_first").click().run()
    assert not at.exception and "seq 1 · event 1 of" in _header(at)
    at.selectbox(key="reducer").select(reducer_choices.MERGE.label).run()  # another reducer works
    at.button(key="tt_last").click().run()
    assert not at.exception and not any("failed on event" in e.value for e in at.error)
    broken.write_text("def apply(state, event)\n    return state\n")  # a syntax error
    at = _page(entity_id=ENTITY)
    assert not at.exception
    assert any("could not be loaded" in e.value and "syntax" in e.value for e in at.error)


def test_explore_links_an_event_to_time_travel(app_env: Path, events: tuple) -> None:
    from eventlab.explore import EventKey

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ev"] = EventKey(ENTITY, events[2].seq, events[2].offset).to_param()
    at.run()
    assert not at.exception
    links = [e.proto for e in at.get("page_link") if "Time Travel" in e.proto.label]
    assert links, "no Time Travel link on the event panel"
    link = links[0]
    assert "Time Travel" in link.label and "time-travel" in link.page
    assert f"entity_id={ENTITY}" in link.query_string and f"seq={events[2].seq}" in (
        link.query_string) and f"offset={events[2].offset}" in link.query_string  # the copy


def test_file_data_offers_no_kafka_time_and_says_why(app_env: Path, events: tuple) -> None:
    at = _page(entity_id=ENTITY, basis="kafka_time")  # a link asking for a basis it lacks
    assert not at.exception
    assert at.segmented_control(key="basis").options == ["event time", "offset"]
    assert any("Kafka time is not offered" in c.value and "files" in c.value
               for c in at.caption)
    # heading, slider label and the timeline all use event time
    assert any("basis: event time (ts)" in c.value for c in at.caption)
    label = at.select_slider(key="tt_slider").format_func(len(events) - 1)
    assert events[-1].ts.strftime("%Y-%m-%d %H:%M:%S") in label


def test_the_jump_box_empties_when_the_position_moves_elsewhere(app_env: Path,
                                                                events: tuple) -> None:
    at = _page(entity_id=ENTITY, seq=str(events[0].seq))
    typed = events[6].ts.isoformat()
    at.text_input(key="tt_jump").input(typed).run()
    assert f"seq {events[6].seq} · event 7 of" in _header(at)
    assert at.text_input(key="tt_jump").value == typed  # still true here
    at.button(key="tt_next").click().run()
    assert f"seq {events[7].seq} · event 8 of" in _header(at)
    assert at.text_input(key="tt_jump").value == ""  # no longer where the box says


def test_the_event_list_moves_there_and_marks_duplicated_ids(app_env: Path,
                                                             events: tuple) -> None:
    at = _page(entity_id=ENTITY, seq=str(events[0].seq))
    first = at.button(key="tt_event_0")
    assert first.proto.type == "primary"  # the current event is highlighted
    assert first.label == (f"seq {events[0].seq} · {events[0].event_type} · "
                           f"{events[0].ts:%m-%d %H:%M:%S}")
    assert at.button(key="tt_event_4").proto.type == "tertiary"
    at.button(key="tt_event_4").click().run()
    assert f"seq {events[4].seq} · event 5 of" in _header(at)
    assert at.button(key="tt_event_4").proto.type == "primary"
    assert at.button(key="tt_prev").proto.shortcut == "left"  # the arrow keys step
    assert at.button(key="tt_next").proto.shortcut == "right"
    # An entity with an event id stored twice (payloads differ: a conflict).
    with EventStore(app_env) as store:
        entity, event_id = store.cursor().execute(
            "SELECT entity_id, event_id FROM events WHERE event_id IN (SELECT event_id FROM "
            "events GROUP BY 1 HAVING count(DISTINCT payload::VARCHAR) > 1) "
            "ORDER BY entity_id LIMIT 1").fetchone()
        dup = timetravel.load_events(store.cursor(), entity)
    at = _page(entity_id=entity)
    marked = [i for i, e in enumerate(dup) if e.event_id == event_id]
    assert len(marked) >= 1
    listed = range(max(0, len(dup) - 15), len(dup))  # the list around the last event
    assert set(marked) <= set(listed)
    for i in listed:
        icon = at.button(key=f"tt_event_{i}").proto.icon
        assert icon == (":material/warning:" if i in marked else ""), (i, icon)
    assert any("stored more than once" in c.value for c in at.caption)


def test_what_if_skipping_the_planted_conflicting_copy(app_env: Path) -> None:
    from eventlab.explore.duplicates import duplicate_map
    from eventlab.store import db

    with EventStore(app_env) as store:
        cur = store.cursor()
        conflict = next(e for e, m in sorted(duplicate_map(cur).items()) if m == "conflict")
        entity = db.scalar(cur, "SELECT entity_id FROM events WHERE event_id = ?", [conflict])
        events = timetravel.load_events(cur, entity)
    copies = [i for i, e in enumerate(events) if e.event_id == conflict]
    assert len(copies) == 2
    at = _page(entity_id=entity, panel="What if")
    assert not at.exception
    assert any("Choose events to skip" in c.value for c in at.caption)
    at.multiselect(key="wi_skip").select(copies[1]).run()  # the later, conflicting copy
    assert not at.exception
    assert any("1 change(s)" in c.value for c in at.caption)
    diffs = [d.value for d in at.dataframe if "what if" in d.value.columns]
    assert diffs and len(diffs[0]) > 0  # its payload differed, so skipping it shows
    # A hypothetical event on top, with bad JSON first: a clear error, no exception.
    at.toggle(key="wi_add_on").set_value(True).run()
    at.text_area(key="wi_add_payload").input("{nope").run()
    assert not at.exception and any("not JSON" in e.value for e in at.error)


def _copies() -> Fold:
    """seq 1, two copies of seq 2 (offsets 11 and 40), seq 4."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [("a", "Made", 1, 10), ("b", "Set", 2, 11), ("b", "Set", 2, 40), ("c", "Set", 4, 12)]
    return Fold([Event(event_id=i, entity_type="t", entity_id="x", event_type=t, seq=s, ts=base,
                       payload={"v": o}, offset=o) for i, t, s, o in rows])


def test_a_link_opens_the_copy_it_names() -> None:
    fold = _copies()
    assert link_index(fold, "2", "40") == (2, None)
    assert link_index(fold, "2", "11") == (1, None)
    assert link_index(fold, "2", None) == (2, None)
    assert link_index(fold, "2", "99") == (2, "offset=99: no copy of seq 2 at this offset; "
                                               "showing the last copy.")


def test_a_seq_the_entity_lacks_is_said() -> None:
    fold = _copies()
    assert link_index(fold, "99", None) == (3, "seq=99: beyond this entity's last event (seq "
                                               "4); showing the last event.")
    assert link_index(fold, "3", None) == (2, "seq=3: this entity has no event with it; "
                                              "showing seq 2.")
    assert link_index(fold, "x", None) == (None, "seq=x in the link is not a number.")


def test_seq_beyond_the_entity_shows_a_message(app_env: Path, events: tuple) -> None:
    at = _page(entity_id=ENTITY, seq="99999")
    assert not at.exception
    assert any("seq=99999: beyond this entity's last event" in w for w in texts(at.warning))
    assert f"event {len(events)} of {len(events)}" in _header(at)


def test_play_and_pause_set_what_the_button_shows(app_env: Path, events: tuple) -> None:
    """The button carries its intent (Play or Pause), so a click delivered twice cannot undo
    itself; each click shows the other button."""
    at = _page(entity_id=ENTITY, seq=str(events[2].seq))
    assert at.button(key="tt_play").label == "Play"
    at.button(key="tt_play").click().run()
    assert not at.exception and at.session_state["tt_playing"]
    assert at.button(key="tt_play").label == "Pause"
    at.button(key="tt_play").click().run()
    assert not at.session_state["tt_playing"] and at.button(key="tt_play").label == "Play"
    stopped = _header(at)
    at.run()
    assert _header(at) == stopped
