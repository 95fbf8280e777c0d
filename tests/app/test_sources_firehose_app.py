"""AppTest of the Sources page loading a Firehose archive folder with the `sns` preset: the
job runs, the summary says what was stored and quarantined, the events carry the SNS topic,
and hostile text in a notification's Subject and attributes reaches the page only as data."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest_support import open_page, wait_for
from hostile import DIRECTIVES, HTML, IMAGE, LINK
from repo_paths import APP
from sns_archive import inner_event, notification, write_object
from streamlit.testing.v1 import AppTest
from test_hostile_app import assert_inert

from eventlab.explore import EventKey
from eventlab.store import db
from eventlab.store.eventstore import EventStore

PAGE = "pages/sources_page.py"


@pytest.fixture()
def fresh_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "sources.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    monkeypatch.delenv("EVENTLAB_KAFKA_BOOTSTRAP", raising=False)
    return path


def test_archive_folder_loads_with_the_sns_preset(fresh_db: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "archive"
    evil = notification(9, inner_event(9), Subject=f"{IMAGE} {HTML}",
                        TopicArn=f"arn:aws:sns:eu-west-1:1:{HTML}",
                        MessageAttributes={LINK: {"Type": "String", "Value": DIRECTIVES},
                                           IMAGE: {"Type": "Binary", "Value": "AAEC"}})
    write_object(root, "2026/11/01/10", "orders-1-a", [notification(i, inner_event(i))
                                                       for i in range(3)], zipped=True)
    write_object(root, "2026/11/01/11", "orders-1-b", [evil, notification(4, "not json")])
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(root))
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(PAGE)
    at.run()
    at.text_input(key="f_path").input(str(root)).run()
    at.selectbox(key="f_preset").set_value("sns").run()
    at.button(key="f_go").click().run()
    assert not at.exception
    at = wait_for(at, lambda a: any("stored" in s.value for s in a.success))
    summary = next(s.value for s in at.success if "stored" in s.value).replace("\\", "")
    assert "4 stored" in summary and "1 quarantined" in summary
    assert_inert(at, "sources, after the load")
    with EventStore(fresh_db) as store, store.reading() as cur:
        topics = {t for (t,) in db.rows(cur, "SELECT DISTINCT topic FROM events")}
        entity, seq, offset = db.rows(cur, "SELECT entity_id, seq, \"offset\" FROM events "
                                           "WHERE event_id = 'e-9'")[0]
    assert "orders" in topics and len(topics) == 2
    # The hostile notification's event open in Explore: subject, topic and attributes as data.
    at = open_page("pages/explore_page.py", timeout=90,
                   ev=EventKey(entity, seq, offset).to_param())
    assert_inert(at, "explore, SNS event open")
    assert any(entity in s.value.replace("\\", "") for s in at.subheader)
