"""One walk through every page in headless Chromium, as a user would take it: Explore by URL, a
filter, an event, on to Time travel, the slider, a what-if skip, As of, SQL console,
Quarantine, Flow, Consumers (with the local broker and a slow demo group), Quality, an
investigation and the Tour; on Sources a live tail, a composed message dry-run (its bytes shown)
then sent and seen in the tail; on Consumers an idle group's rewind planned, confirmed and
applied (EVENTLAB_RESET_GROUPS allows it in the served app). No page shows an exception, the
browser asks no other host for anything, and each page leaves a screenshot
(.eventlab/screenshots/walk-*.png)."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_support import requests_elsewhere, serve_app, shot, wait_for_app
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from eventlab.demo.consumer import run_demo_consumer
from eventlab.demo.produce import produce_demo
from eventlab.kafka.admin import create_topic
from eventlab.kafka.group_commit import commit_group_offsets, committed_offsets
from eventlab.store import db
from eventlab.store.eventstore import EventStore

GROUP = "walk-projector"
TOPIC = "walk-shop"
IDLE = "walk-idle"  # a group with committed offsets and no member: one that may be rewound
NOTES = "walk-notes"  # where the walk produces its one composed message


@pytest.fixture(scope="module")
def slow_group(kafka_broker) -> Iterator[None]:
    """The demo shop on a topic and a slow consumer group reading it (20 records/s)."""
    config = kafka_broker.config(timeout_s=5.0)
    produce_demo(config, TOPIC, events=600, partitions=2)
    commit_group_offsets(config, IDLE, TOPIC, {0: 100, 1: 100})
    create_topic(config, NOTES, partitions=1)
    stop = threading.Event()
    thread = threading.Thread(target=run_demo_consumer, args=(config, TOPIC, GROUP),
                              kwargs={"rate": 20, "stop": stop}, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def app_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory, kafka_broker,
            slow_group: None) -> Iterator[str]:
    db_copy = tmp_path_factory.mktemp("walk") / "demo.duckdb"
    shutil.copy(demo_db, db_copy)
    env = {"EVENTLAB_KAFKA_BOOTSTRAP": kafka_broker.bootstrap, "EVENTLAB_ACTOR": "walker",
           "EVENTLAB_KAFKA_TIMEOUT_S": "5", "EVENTLAB_RESET_GROUPS": IDLE,
           "EVENTLAB_RULES": str(Path(__file__).parents[2] / "eventlab/demo/rules.toml")}
    with serve_app(db_copy, env=env) as url:
        yield url


def _no_exception(page: Page) -> None:
    wait_for_app(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def _matching(page: Page) -> str:
    return page.get_by_text(re.compile(r"[\d,]+ matching events")).first.inner_text()


def test_walk_through_every_page(app_url: str, page: Page, demo_db: Path, kafka_broker) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    with requests_elsewhere(page, urlparse(app_url).netloc) as elsewhere:
        _walk(app_url, page, demo_db)
        _sources(app_url, page)
        _rewind(app_url, page)
    assert committed_offsets(kafka_broker.config(timeout_s=5.0), IDLE, TOPIC) == {0: 0, 1: 0}
    assert not elsewhere, f"requests to other hosts: {sorted(set(elsewhere))[:10]}"
    assert not errors, errors[:3]


def _walk(app_url: str, page: Page, demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        cur = store.cursor()
        placed = db.scalar(cur, "SELECT count(*) FROM events WHERE event_type = 'OrderPlaced'")
        entity = "customer-00001"
        n_entity = db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [entity])

    # Explore by URL, then a filter.
    page.goto(f"{app_url}/explore?types=OrderPlaced")
    _no_exception(page)
    assert _matching(page).startswith(f"{placed:,} matching events")
    shot(page, "walk-explore")
    page.goto(f"{app_url}/explore?entity={entity}")
    _no_exception(page)
    assert _matching(page).startswith(f"{n_entity:,} matching events")
    # Open an event (tick the first row), then follow it to Time travel.
    box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    expect(page.get_by_text(f"· {entity} · seq ").first).to_be_visible(timeout=15_000)
    shot(page, "walk-explore-event")
    page.get_by_role("link", name="Open in Time Travel").first.click()
    page.wait_for_url(re.compile(r"/time-travel\?.*entity_id="), timeout=15_000)
    _no_exception(page)
    heading = page.locator("h4").filter(has_text=" · seq ")
    expect(heading).to_contain_text("event 1 of", timeout=30_000)
    state_before = page.get_by_test_id("stJson").first.inner_text()
    thumb = page.get_by_role("slider").first
    thumb.focus()
    thumb.press("End")  # the slider to the last event: the state panel changes
    expect(heading).to_contain_text(f"event {n_entity} of {n_entity}", timeout=15_000)
    _no_exception(page)
    assert page.get_by_test_id("stJson").first.inner_text() != state_before
    shot(page, "walk-time-travel")
    # What if: skip the entity's first event.
    page.get_by_role("tab", name="What if").click()
    page.get_by_text("Skip these events").wait_for(timeout=15_000)
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Skip these events") \
        .locator("input").first.click()
    page.keyboard.press("ArrowDown")  # the first event of the list
    page.keyboard.press("Enter")
    expect(page.get_by_text("1 change(s)").first).to_be_visible(timeout=15_000)
    _no_exception(page)
    shot(page, "walk-what-if")
    # The other pages, each with what it must show.
    for path, text, name in [
        ("as-of", "As of", "walk-as-of"),
        ("quarantine", "By reason", "walk-quarantine"),
        ("flow", "Flow", "walk-flow"),
        ("quality", "duplicate_event_id", "walk-quality"),
        ("tour", "1 of ", "walk-tour"),
    ]:
        page.goto(f"{app_url}/{path}")
        _no_exception(page)
        expect(page.get_by_text(text).first).to_be_visible(timeout=30_000)
        shot(page, name)
    # SQL console: Ctrl+Enter runs the query.
    page.goto(f"{app_url}/sql")
    _no_exception(page)
    box = page.get_by_role("textbox", name="Query")
    box.fill("SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC")
    box.press("Control+Enter")
    expect(page.get_by_text(re.compile(r"\d+ row\(s\) in"))).to_be_visible(timeout=30_000)
    shot(page, "walk-sql")
    # Consumers: the slow demo group with its lag.
    page.goto(f"{app_url}/consumers")
    # The session's broker holds other tests' groups too: choose ours, then its panel shows.
    # (Its name in the groups table is a hidden grid cell, so look for the panel's heading.)
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Group")
    picker.locator("input").first.click(timeout=45_000)
    page.keyboard.type(GROUP)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(rf"{GROUP} · state")).first).to_be_visible(timeout=45_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "walk-consumers", wait=False)
    # An investigation: start one, it opens by its address.
    page.goto(f"{app_url}/investigations")
    _no_exception(page)
    page.get_by_role("textbox", name="Name", exact=True).fill("walk: the planted duplicate")
    page.get_by_role("button", name="Start an investigation").click()
    page.wait_for_url(re.compile(r"/investigations\?id=walk-the-planted-duplicate-"),
                      timeout=15_000)
    _no_exception(page)
    # inert() puts a word joiner after the colon (no emoji shortcode): match around it.
    expect(page.get_by_role("heading", name=re.compile(r"walk:\W*the planted duplicate"))) \
        .to_be_visible()
    shot(page, "walk-investigation")


def _sources(app_url: str, page: Page) -> None:
    """Sources: tail a topic, compose a message, dry run (the exact bytes), send, see it tailed."""
    page.goto(f"{app_url}/sources")
    _no_exception(page)
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_text(re.compile(r"\d+ topic\(s\) on "))).to_be_visible(timeout=20_000)
    page.get_by_role("tab", name="Tail").click()
    page.locator('[data-testid="stMultiSelect"]:visible').click()
    page.keyboard.type(NOTES)  # the session's broker holds many topics: filter the long list
    page.get_by_role("option", name=NOTES).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.get_by_text(re.compile(r"Following .*: 0 record"))).to_be_visible(timeout=20_000)
    page.get_by_role("tab", name="Produce").click()
    topic = page.locator('[data-testid="stSelectbox"]:visible').filter(has_text="Topic")
    topic.locator("input").first.click()
    page.keyboard.type(NOTES)
    page.keyboard.press("Enter")
    page.get_by_role("textbox", name="Key", exact=True).fill("order-42")
    page.get_by_role("textbox", name="Value", exact=True).fill('{"type": "OrderNoted", "n": 1}')
    page.get_by_role("button", name="Dry run").click()
    expect(page.get_by_text(re.compile(r"Dry run .*one message to .*Nothing was sent"))) \
        .to_be_visible(timeout=20_000)
    expect(page.locator('[data-testid="stDataFrame"]:visible')).to_have_count(1)
    _no_exception(page)
    page.mouse.move(0, 0)  # no tooltip over the bytes
    shot(page, "walk-produce-dry-run")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text(f"Sent to {NOTES} partition 0 offset 0")).to_be_visible(
        timeout=20_000)
    page.get_by_role("tab", name="Tail").click()
    expect(page.get_by_text(re.compile(r"1 matched of 1 read"))).to_be_visible(timeout=20_000)
    shot(page, "walk-tail", wait=False)


def _rewind(app_url: str, page: Page) -> None:
    """Consumers: the idle group's rewind panel, a dry run to the earliest, then the reset."""
    page.goto(f"{app_url}/consumers")
    picker = page.locator('[data-testid="stSelectbox"]').filter(has_text="Group")
    picker.locator("input").first.click(timeout=45_000)
    page.keyboard.type(IDLE)
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(rf"{IDLE} · state")).first).to_be_visible(timeout=45_000)
    # The panel names its group: wait for the one of the group just chosen (the page redraws
    # the panel, which stands outside the 5 s refresh, when the chosen group changes).
    panel = page.locator('[data-testid="stExpander"]').filter(has_text=f"Rewind group {IDLE}")
    panel.get_by_text(f"Rewind group {IDLE}").click(timeout=45_000)
    expect(panel.get_by_text("Dry run first")).to_be_visible(timeout=10_000)
    how = panel.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text("To", exact=True))
    # Pick until the choice holds (the panel once stood inside the page's 5 s refresh, which
    # closed an open list); to-earliest takes no value, so its box turns off.
    value = panel.get_by_role("textbox", name="Value")
    for _ in range(4):
        how.locator("input").first.click()
        page.keyboard.type("to-earliest")
        try:
            page.get_by_role("option", name="to-earliest").click(timeout=3_000)
            expect(value).to_be_disabled(timeout=3_000)
            break
        except (AssertionError, PlaywrightError):
            page.keyboard.press("Escape")
    expect(value).to_be_disabled()
    panel.get_by_role("button", name="Dry run").click()
    expect(panel.get_by_text(re.compile(rf"Plan for {IDLE} on {TOPIC}"))).to_be_visible(
        timeout=20_000)
    plan = panel.locator('[data-testid="stDataFrame"]')
    expect(plan).to_have_count(1)
    plan.scroll_into_view_if_needed()
    shot(page, "walk-rewind-plan", wait=False)
    panel.get_by_role("textbox", name="Type the group name to confirm").fill(IDLE)
    panel.get_by_role("textbox", name="Why (audited)").fill("walk: replay from the start")
    panel.get_by_role("textbox", name="Why (audited)").press("Tab")
    panel.get_by_role("button", name="Reset offsets").click()
    expect(panel.get_by_text(re.compile(r"Reset \w+ applied and read back"))).to_be_visible(
        timeout=20_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    shot(page, "walk-rewind-applied", wait=False)
