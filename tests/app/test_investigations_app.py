"""AppTest: start an investigation, open it by its address, save notes, add an event from
Explore, bundle it; read-only mode opens but does not save."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page
from repo_paths import APP
from streamlit.testing.v1 import AppTest

from eventlab import explore, settings
from eventlab import investigations as inv_api
from eventlab.store import db
from eventlab.store.eventstore import EventStore


@pytest.fixture()
def app_db(monkeypatch: pytest.MonkeyPatch, demo_db: Path, tmp_path: Path) -> Path:
    path = Path(shutil.copy(demo_db, tmp_path / "inv.duckdb"))
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_ACTOR", "ann")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


_page = partial(open_page, "pages/investigations_page.py")


def _saved(path: Path) -> list:
    with EventStore(path) as store, store.reading() as cur:
        return inv_api.listing(cur)


def test_start_edit_bookmark_and_bundle(app_db: Path) -> None:
    at = _page()
    assert not at.exception
    at.text_input[0].input("double charge")
    at.button[0].click().run()
    assert not at.exception
    [inv] = _saved(app_db)
    assert (inv.name, inv.author) == ("double charge", "ann")
    at = _page(id=inv.id)
    assert any(s.value == "double charge" for s in at.subheader)
    at.text_area[0].input("two captures for one order")
    at.button[1].click().run()  # Save
    assert _saved(app_db)[0].notes == "two captures for one order"
    # From Explore: bookmark an event (and its entity) into it.
    with EventStore(app_db) as store:
        entity, seq, off, eid = db.rows(store.cursor(), "SELECT entity_id, seq, \"offset\", "
                                                        "event_id FROM events ORDER BY ts "
                                                        "LIMIT 1")[0]
    ex = AppTest.from_file(APP, default_timeout=60)
    ex.query_params["ev"] = explore.EventKey(entity, seq, off).to_param()
    ex.run()
    assert not ex.exception
    ex.button(key="ex_inv_event_add").click().run()
    assert not ex.exception
    got = _saved(app_db)[0]
    assert got.bookmarks == (eid,) and got.entities == (entity,)
    at = _page(id=inv.id)
    at.button(key="inv_bundle").click().run()
    assert not at.exception
    assert any("files" in c.value for c in at.caption)


def test_explore_adds_an_event_to_a_new_investigation(app_db: Path) -> None:
    with EventStore(app_db) as store:
        entity, seq, off, eid = db.rows(store.cursor(), "SELECT entity_id, seq, \"offset\", "
                                                        "event_id FROM events ORDER BY ts "
                                                        "LIMIT 1")[0]
    assert _saved(app_db) == []
    ex = AppTest.from_file(APP, default_timeout=60)
    ex.query_params["ev"] = explore.EventKey(entity, seq, off).to_param()
    ex.run()
    pick = ex.selectbox(key="ex_inv_event_pick")
    assert pick.options == ["+ New investigation"]
    assert ex.button(key="ex_inv_event_add").disabled  # no name yet
    ex.text_input(key="ex_inv_event_new").input("first look").run()
    ex.button(key="ex_inv_event_add").click().run()
    assert not ex.exception
    [got] = _saved(app_db)
    assert (got.name, got.author, got.bookmarks) == ("first look", "ann", (eid,))


def test_read_only_opens_but_does_not_save(app_db: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with EventStore(app_db) as store:
        inv = inv_api.save(store, inv_api.new("kept", "bo", inv_api.now()))
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    monkeypatch.setattr(settings, "_GUARDS", None)  # read once per process: as a new one
    at = _page(id=inv.id)
    assert not at.exception
    assert any("Read-only mode" in i.value for i in at.info)
    assert all(b.disabled for b in at.button if b.label in ("Save", "Start an investigation"))
