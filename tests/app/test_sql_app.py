"""AppTest: the SQL console: a link runs its query, Run runs, ids link to the other pages."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import pytest
from apptest_support import open_page

from eventlab import timetravel
from eventlab.store.eventstore import EventStore

ENTITY = "customer-00001"
QUERY = (f"SELECT entity_id, seq, event_id, event_type FROM events "
         f"WHERE entity_id = '{ENTITY}' ORDER BY seq LIMIT 3")


@pytest.fixture(scope="module")
def events(demo_db: Path) -> tuple:
    with EventStore(demo_db) as store:
        return timetravel.load_events(store.cursor(), ENTITY)


_page = partial(open_page, "pages/sql_page.py")


def test_a_link_restores_the_query_and_runs_it(app_env: Path, events: tuple) -> None:
    at = _page(sql=QUERY)
    assert not at.exception
    assert at.text_area(key="sql").value == QUERY
    (frame,) = at.dataframe
    table = frame.value
    assert list(table.columns) == ["entity_id", "seq", "event_id", "event_type"]
    assert list(table["event_type"]) == [e.event_type for e in events[:3]]
    # ids link to the page that shows them, built per row
    assert list(table["entity_id"]) == [
        "./time-travel?" + urlencode({"entity_id": ENTITY, "seq": e.seq}) for e in events[:3]]
    assert list(table["event_id"]) == [
        "./explore?" + urlencode({"event_id": e.event_id}) for e in events[:3]]
    config = frame.proto.columns  # the column config Streamlit sends: link columns
    assert '"entity_id"' in config and '"event_id"' in config and '"link"' in config


def test_run_submits_the_form_and_a_bad_query_says_why(app_env: Path) -> None:
    at = _page()
    assert not at.exception and not at.dataframe  # the default query waits for Run
    at.text_area(key="sql").input("SELECT count(*) AS n FROM events WHERE event_type = "
                                  "'OrderPlaced'")
    at.button(key="sql_run").click().run()
    assert not at.exception
    (frame,) = at.dataframe
    assert list(frame.value.columns) == ["n"] and int(frame.value["n"][0]) > 0
    at.text_area(key="sql").input("DROP TABLE events")
    at.button(key="sql_run").click().run()
    assert at.error and not at.dataframe


def test_an_unnamed_count_is_headed_as_written(app_env: Path) -> None:
    at = _page(sql="SELECT count(*) FROM events")
    (frame,) = at.dataframe
    assert list(frame.value.columns) == ["count(*)"]
