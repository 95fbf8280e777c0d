"""AppTest of the Republish page against the real broker: a selection from the URL, its
summary, the dry run, the typed-back confirmation for a source topic, the job and the audit
log; read-only mode says why and offers no action."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts, wait_for
from repo_paths import APP, ROOT
from streamlit.testing.v1 import AppTest

from eventlab.ingest.kafka_ingest import ingest_kafka
from eventlab.kafka.broker import BrokerHandle
from eventlab.kafka.config import KafkaConfig
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.ui.text import inert

sys.path.insert(0, str(ROOT / "tests" / "republish"))
from republish_support import read_all, records  # noqa: E402

PAGE = "pages/republish_page.py"


@pytest.fixture()
def loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kafka_broker: BrokerHandle,
           kafka_config: KafkaConfig, topic_factory: Callable, raw_producer: Callable
           ) -> tuple[Path, str]:
    src = topic_factory(1)
    raw_producer(src, 0, records(10))
    path = tmp_path / "republish.duckdb"
    with EventStore(path) as store:
        assert ingest_kafka(store, kafka_config, [src]).rows_stored == 10
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", kafka_broker.bootstrap)
    monkeypatch.setenv("EVENTLAB_KAFKA_TIMEOUT_S", "5")
    monkeypatch.setenv("EVENTLAB_ACTOR", "app-tester")
    for name in ("EVENTLAB_READ_ONLY", "EVENTLAB_REPUBLISH_TOPICS"):
        monkeypatch.delenv(name, raising=False)
    return path, src


republish_page = partial(open_page, PAGE, timeout=30)


def test_republish_into_the_source_topic_needs_its_name_typed_back(
        loaded: tuple[Path, str], kafka_config: KafkaConfig) -> None:
    path, src = loaded
    at = republish_page(entity_id="order-1")
    assert not at.exception
    assert [m.value for m in at.metric][:1] == ["2"]  # order-1: records 1 and 6
    at.text_input(key="rp_target").set_value(src)
    at.text_input(key="rp_reason").set_value("rebuild projection")
    at.button(key="rp_dry").click().run()
    assert not at.exception, at.exception
    assert any(inert(src) in e.value for e in at.error)  # "the target is a source topic"
    assert at.button(key="rp_execute").disabled
    at.text_input(key="rp_confirm").set_value(src + "-typo").run()
    assert at.button(key="rp_execute").disabled
    at.text_input(key="rp_confirm").set_value(src).run()
    assert not at.button(key="rp_execute").disabled
    assert len(read_all(kafka_config, src)) == 10  # the dry run sent nothing
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    got = read_all(kafka_config, src)
    assert len(got) == 12
    assert {dict(r["headers"])["eventlab-reason"] for r in got[10:]} == {b"rebuild projection"}
    assert _audit(path) == [("dry-run", "planned"), ("execute", "done")]


def _audit(path: Path) -> list[tuple[str, str]]:
    store = EventStore(path)  # the same DuckDB instance as the app's (same process)
    with store.reading() as cur:
        return [(a, o) for a, o in db.rows(
            cur, "SELECT action, outcome FROM audit_log ORDER BY logged_at")]


def test_read_only_mode_says_why_and_offers_no_action(
        loaded: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    at = republish_page(dlq=loaded[1])
    assert not at.exception
    assert any("EVENTLAB_READ_ONLY" in w.value for w in at.warning)
    assert at.button(key="rp_dry").disabled


def test_a_selection_handed_over_by_another_page_is_shown(loaded: tuple[Path, str]) -> None:
    from eventlab.republish import Selection
    from eventlab.ui import republish_widgets

    at = AppTest.from_file(APP, default_timeout=30)
    # what republish_button(selection, key) stores before it switches to this page
    at.session_state[republish_widgets.SELECTION] = Selection.ids(["ev-3", "ev-4", "nope"],
                                                                  label="Explore")
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric][:1] == ["2"]
    assert any("Explore: 3 event id(s)" in t for t in texts(at.markdown))


def test_a_job_interrupted_by_an_app_restart_is_resumed_from_the_ledger(
        loaded: tuple[Path, str], kafka_config: KafkaConfig) -> None:
    from eventlab import republish
    from eventlab.republish import Selection

    path, _ = loaded
    store = EventStore(path)  # the app's DuckDB instance (same process, same settings)
    dry = republish.dry_run(store, kafka_config, Selection.entity("order-2"))
    with store.transaction() as cur:  # what a crash right after the write-ahead leaves
        cur.execute("UPDATE republish_log SET status = 'unknown' WHERE job_id = ?",
                    [dry.plan.job_id])
        cur.execute("UPDATE republish_jobs SET status = 'running' WHERE job_id = ?",
                    [dry.plan.job_id])
    at = republish_page()
    at.selectbox(key="rp_pick").set_value(dry.plan.job_id).run()
    assert not at.exception
    assert any("interrupted" in m.value for m in at.markdown)
    assert at.button(key="rp_execute").label == "Resume"
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    assert not any("will be created" in w.value for w in at.warning)  # done: it was created
    got = read_all(kafka_config, dry.plan.target_topics[0])
    assert sorted(r["timestamp_ms"] - 1_700_000_000_000 for r in got) == [2, 7]  # once each


@pytest.mark.parametrize(("page", "params", "button", "where"), [
    ("pages/explore_page.py", {"entity": "order-1"}, "ex_republish", "entity_id LIKE 'order-1%'"),
    ("pages/timetravel_page.py", {"entity_id": "order-1"}, "tt_republish",
     "entity_id = 'order-1'"),
])
def test_other_pages_hand_their_selection_over(loaded: tuple[Path, str], page: str,
                                               params: dict, button: str, where: str) -> None:
    """Explore's filtered set and Time travel's entity reach the Republish page (whose
    widgets are bound to the URL: the switch must not try to clear it)."""
    from eventlab.store import db

    path, _ = loaded
    with EventStore(path) as store:
        expected = db.scalar(store.cursor(), f"SELECT count(*) FROM events WHERE {where}")
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    at.button(key=button).click().run()
    assert not at.exception
    assert [m.value for m in at.metric][:1] == [str(expected)]
    line = next(t for t in texts(at.markdown) if t.startswith("**Selection**"))
    assert "?" not in line and "SELECT" not in line  # the filters in words, not SQL
    if button == "ex_republish":
        assert line.endswith("Explore's filtered set: entity id starting with order-1")
