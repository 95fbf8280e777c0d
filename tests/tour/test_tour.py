"""The tour: its steps file is valid, every step opens a page the app has, every example is
found in the demo data, and the page walks from the first step to the last."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_paths import APP, ROOT, url_paths
from streamlit.testing.v1 import AppTest

from eventlab import tour
from eventlab.store.eventstore import EventStore
from eventlab.ui.links import page

PATHS = set(url_paths())


def test_every_step_opens_a_page_of_the_app() -> None:
    steps = tour.load_steps()
    assert len(steps) >= 8
    concepts = " ".join(s.concept for s in steps)
    for idea in ("source of truth", "time travel", "as of", "versioning", "idempotency",
                 "lag", "monitoring"):
        assert idea in concepts, idea
    for s in steps:
        assert s.page in PATHS, s.page
        assert (ROOT / page(s.page).file).exists(), s.page


def test_every_example_is_found_in_the_demo(demo_db: Path) -> None:
    with EventStore(demo_db) as store, store.reading() as cur:
        for s in tour.load_steps():
            filled = tour.fill(cur, s)
            assert not filled.missing, (s.title, filled.missing)
            assert "{" not in filled.text and "none here" not in filled.text


def test_a_bad_steps_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[[step]]\ntitle = "x"\nconcept = "c"\npage = "explore"\ntext = "{nope}"\n')
    with pytest.raises(tour.TourError, match="unknown lookups"):
        tour.load_steps(bad)
    bad.write_text('[[step]]\ntitle = "x"\n')
    with pytest.raises(tour.TourError, match="has no 'concept'"):
        tour.load_steps(bad)


def test_tour_page_walks_every_step(monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    steps = tour.load_steps()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/tour_page.py")
    at.run()
    for n, s in enumerate(steps, 1):
        assert not at.exception, n
        assert at.subheader[0].value == f"{n} of {len(steps)} · {s.title}"
        links = [p for p in at.get("page_link")
                 if str(p.proto.label).startswith("Open ")]
        assert links, n
        if n < len(steps):
            at.button(key="tour_next").click().run()
    at.button(key="tour_back").click().run()
    assert at.subheader[0].value.startswith(f"{len(steps) - 1} of")


def test_the_broker_step_speaks_of_the_configured_broker() -> None:
    assert tour.broker_in({}) == "kafka"
    assert tour.broker_in({"EVENTLAB_RABBITMQ_PORT": "5682"}) == "rabbitmq"
    assert tour.broker_in({"EVENTLAB_RABBITMQ_PORT": "5682",
                           "EVENTLAB_KAFKA_BOOTSTRAP": "127.0.0.1:9092"}) == "kafka"
    kafka, rabbit = tour.load_steps(), tour.load_steps(broker="rabbitmq")
    assert [s.title for s in kafka] == [s.title for s in rabbit]
    changed = [(k, r) for k, r in zip(kafka, rabbit, strict=True) if k != r]
    assert len(changed) == 1  # only the broker step has a RabbitMQ variant
    k, r = changed[0]
    assert "make demo-kafka" in k.text and "make demo-rabbitmq" in r.text and r.page == k.page
    assert r.params == {"r_streams": "shop-events", "r_consumers": "shop-projector",
                        "r_queues": "shop-orders,shop-audit,shop-dlq"}
    with pytest.raises(tour.TourError, match="not one of"):
        tour.load_steps(broker="sqs")


def test_tour_page_says_the_rabbitmq_step_when_rabbitmq_is_configured(
        monkeypatch: pytest.MonkeyPatch, demo_db: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(demo_db))
    monkeypatch.delenv("EVENTLAB_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", "5682")
    steps = tour.load_steps(broker="rabbitmq")
    n = next(i for i, s in enumerate(steps) if s.page == "consumers")
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/tour_page.py")
    at.query_params["step"] = str(n + 1)
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "make demo-rabbitmq" in text and "make demo-kafka" not in text
