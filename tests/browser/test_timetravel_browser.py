"""The Time travel page in headless Chromium: open it by URL, move the slider, play, look."""

from __future__ import annotations

import re
from pathlib import Path

from browser_support import shot, wait_for_app
from playwright.sync_api import Page, expect

from eventlab import timetravel
from eventlab.replay import Fold
from eventlab.store.eventstore import EventStore

ENTITY = "customer-00001"


def _header(browser_page: Page) -> str:
    return browser_page.locator("h4").filter(has_text=" · seq ").first.inner_text()


def test_time_travel_slider_in_chromium(app_url: str, page: Page, demo_db: Path) -> None:  # noqa: F811
    with EventStore(demo_db) as store:
        events = timetravel.load_events(store.cursor(), ENTITY)
    fold = Fold(events)
    n = len(events)
    page.goto(f"{app_url}/time-travel?entity_id={ENTITY}&seq={events[0].seq}")
    heading = page.locator("h4").filter(has_text=" · seq ")
    expect(heading).to_contain_text(f"{events[0].event_type} · seq {events[0].seq} · event 1 "
                                    f"of {n}", timeout=30_000)
    wait_for_app(page)
    # Move the slider three events to the right with quick key presses, like a user would.
    # Each press starts a rerun; a press made while the previous rerun is in flight must not
    # be overtaken by it (the page sets the slider only when something else moved it).
    thumb = page.get_by_role("slider").first
    thumb.focus()
    for _ in range(3):
        thumb.press("ArrowRight")
    expect(heading).to_contain_text(f"seq {events[3].seq} · event 4 of {n}", timeout=15_000)
    wait_for_app(page)
    page.wait_for_timeout(500)
    expect(heading).to_contain_text(f"seq {events[3].seq} · event 4 of {n}")
    page.wait_for_url(re.compile(rf"seq={events[3].seq}"), timeout=15_000)
    wait_for_app(page)
    city = fold.state_at(3)["address"]["city"]
    state_panel = page.get_by_test_id("stJson").first
    expect(state_panel).to_contain_text(f'"{city}"')
    expect(page.get_by_text("What this event changed")).to_be_visible()
    shot(page, "time-travel", wait=False)
    # Play at 2 events/s from here, then pause: the position moves forward and stops.
    page.get_by_label("Speed").click()
    page.get_by_role("option", name="2 events/s").click()
    wait_for_app(page)
    page.get_by_role("button", name="Play").click()
    expect(heading).not_to_contain_text(f"seq {events[3].seq} ·", timeout=15_000)
    page.get_by_role("button", name="Pause").click()
    wait_for_app(page)
    stopped = _header(page)
    page.wait_for_timeout(1500)
    assert _header(page) == stopped
    moved = int(stopped.split("event ")[1].split(" of")[0])
    assert 4 < moved <= n


def test_arrow_keys_step_and_the_event_list_moves_there(app_url: str, page: Page,
                                                        demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        events = timetravel.load_events(store.cursor(), ENTITY)
    n = len(events)
    page.goto(f"{app_url}/time-travel?entity_id={ENTITY}&seq={events[0].seq}")
    heading = page.locator("h4").filter(has_text=" · seq ")
    expect(heading).to_contain_text(f"seq {events[0].seq} · event 1 of {n}", timeout=30_000)
    wait_for_app(page)
    page.get_by_text("State after this event").click()  # the focus on the page, not a widget
    page.keyboard.press("ArrowRight")
    expect(heading).to_contain_text(f"seq {events[1].seq} · event 2 of {n}", timeout=15_000)
    wait_for_app(page)
    page.keyboard.press("ArrowRight")
    expect(heading).to_contain_text(f"seq {events[2].seq} · event 3 of {n}", timeout=15_000)
    wait_for_app(page)
    page.keyboard.press("ArrowLeft")
    expect(heading).to_contain_text(f"seq {events[1].seq} · event 2 of {n}", timeout=15_000)
    wait_for_app(page)
    # The list beside the state: the current event highlighted, a click moves there.
    current = page.locator(".st-key-tt_events button[kind='primary']:visible")
    expect(current).to_have_count(1)
    expect(current).to_contain_text(f"seq {events[1].seq} · {events[1].event_type}")
    target = events[5]
    page.locator(".st-key-tt_events button:visible").filter(
        has_text=f"seq {target.seq} · {target.event_type}").first.click()
    expect(heading).to_contain_text(f"seq {target.seq} · event 6 of {n}", timeout=15_000)
    wait_for_app(page)
    expect(current).to_contain_text(f"seq {target.seq} · {target.event_type}")
    # Typing in the jump box does not step: the keys stay in the box.
    box = page.get_by_role("textbox", name="Jump to date-time (UTC)")
    box.click()
    box.type("2025")
    box.press("ArrowLeft")
    page.wait_for_timeout(800)
    expect(heading).to_contain_text(f"seq {target.seq} · event 6 of {n}")
    shot(page, "time-travel-event-list")
