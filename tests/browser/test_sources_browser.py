"""The Sources page in headless Chromium: connect to a real broker, follow a topic, cancel."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from browser_support import browser_page, serve_app, shot, wait_for_app
from kafka import KafkaProducer
from playwright.sync_api import Page, expect

from eventlab.demo.produce import produce_demo
from eventlab.kafka.admin import list_topics
from eventlab.kafka.broker import BrokerHandle, start_broker

TOPIC = "shop-events"
EVENTS = 600


@pytest.fixture(scope="module")
def broker() -> Iterator[BrokerHandle]:
    with start_broker() as handle:
        produce_demo(handle.config(), TOPIC, events=EVENTS, partitions=3)
        yield handle


@pytest.fixture(scope="module")
def records(broker: BrokerHandle) -> int:
    """Records on the topic: the demo events plus its planted poison records."""
    (info,) = list_topics(broker.config())
    return info.records


def _produce_more(broker: BrokerHandle, count: int) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    try:
        for i in range(count):
            doc = {"id": f"late-{i}", "type": "OrderNoted", "aggregateId": f"order-late-{i}",
                   "timestamp": "2026-11-01T10:00:00Z", "data": {"n": i}}
            producer.send(TOPIC, key=doc["aggregateId"].encode(), value=orjson.dumps(doc))
        producer.flush(timeout=10)
    finally:
        producer.close(timeout=5)


@pytest.fixture(scope="module")
def app_url(demo_db: Path, broker: BrokerHandle,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free loopback port, on a copy of the demo database, pointed at `broker`."""
    db_copy = tmp_path_factory.mktemp("sources-browser") / "demo.duckdb"
    shutil.copy(demo_db, db_copy)
    with serve_app(db_copy, {"EVENTLAB_KAFKA_BOOTSTRAP": broker.bootstrap,
                             "EVENTLAB_KAFKA_TIMEOUT_S": "5"}) as url:
        yield url


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with browser_page(height=1400) as pg:
        yield pg


def test_connect_follow_and_cancel_in_chromium(app_url: str, page: Page, broker: BrokerHandle,
                                               records: int) -> None:
    page.goto(f"{app_url}/sources")
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Sources")).to_be_visible(timeout=30_000)
    expect(page.get_by_label("Bootstrap servers")).to_have_value(broker.bootstrap)
    shot(page, "sources-form", wait=False)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text(f"1 topic(s) on {broker.bootstrap}")).to_be_visible(
        timeout=20_000)
    wait_for_app(page)
    shot(page, "sources-listed", wait=False)
    page.locator('[data-testid="stMultiSelect"]:visible').click()  # the Kafka tab's
    page.get_by_role("option", name=TOPIC).click()
    page.keyboard.press("Escape")
    page.get_by_text("follow (until cancelled)").click()
    wait_for_app(page)
    shot(page, "sources-connected", wait=False)
    # A second tab, idle on Sources, notices the job started in the first without a click.
    watcher = page.context.browser.new_page(viewport={"width": 1400, "height": 900})
    watcher.goto(f"{app_url}/sources")
    expect(watcher.get_by_role("heading", name="Sources")).to_be_visible(timeout=30_000)
    wait_for_app(watcher)
    page.get_by_role("button", name="Start ingest").click()
    expect(page.get_by_text("Live tail")).to_be_visible(timeout=20_000)
    expect(watcher.get_by_text("Live tail")).to_be_visible(timeout=20_000)
    watcher.close()
    expect(page.get_by_text(f"{records:,} records read")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)  # let the tail draw the last batch
    shot(page, "sources-following", wait=False)
    # Explore, opened while following, updates its header without a reload.
    explore = page.context.browser.new_page(viewport={"width": 1400, "height": 900})
    explore.goto(f"{app_url}/")  # Explore is the default page: its URL is the root
    events = explore.get_by_test_id("stMetricValue").first
    expect(events).to_be_visible(timeout=30_000)
    before = events.inner_text()
    _produce_more(broker, 20)
    expect(events).not_to_have_text(before, timeout=15_000)
    shot(explore, "explore-following", wait=False)
    explore.close()
    assert "password" not in page.url and broker.bootstrap not in page.url
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled.")).to_be_visible(timeout=20_000)
    wait_for_app(page)
    expect(page.get_by_text("Live tail")).to_have_count(0)
    shot(page, "sources-cancelled", wait=False)


def test_tail_refreshes_by_itself_and_pause_holds(app_url: str, page: Page,
                                                  broker: BrokerHandle) -> None:
    """The Tail tab: records produced after Start appear with no click (the fragment's
    run_every); while paused nothing new appears; Resume catches up."""
    page.goto(f"{app_url}/sources")
    wait_for_app(page)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text(re.compile(r"1 topic\(s\) on "))).to_be_visible(timeout=20_000)
    page.get_by_role("tab", name="Tail").click()
    page.locator('[data-testid="stMultiSelect"]:visible').click()
    page.get_by_role("option", name=TOPIC).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_text(re.compile(r"Following .*: 0 record"))).to_be_visible(
        timeout=20_000)
    _produce_more(broker, 3)
    expect(page.get_by_text(re.compile(r"3 matched of 3 read"))).to_be_visible(timeout=15_000)
    shot(page, "sources-tail", wait=False)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text(re.compile(r"Paused .*3 matched"))).to_be_visible(timeout=10_000)
    _produce_more(broker, 2)
    page.wait_for_timeout(5_000)
    expect(page.get_by_text(re.compile(r"Paused .*3 matched of 3 read"))).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text(re.compile(r"5 matched of 5 read"))).to_be_visible(timeout=15_000)
