"""The real app in headless Chromium: open Explore by URL, filter, open an event."""

from __future__ import annotations

from pathlib import Path

from browser_support import shot
from playwright.sync_api import Page, expect

from eventlab import explore
from eventlab.store import db
from eventlab.store.eventstore import EventStore


def test_explore_deep_link_in_chromium(app_url: str, page: Page, demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        cur = store.cursor()
        entity, seq, off, etype = db.rows(
            cur,
            'SELECT entity_id, seq, "offset", event_type FROM events WHERE entity_id '
            "LIKE 'order-%' ORDER BY entity_id, seq LIMIT 1",
        )[0]
        n = db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [entity])
    key = explore.EventKey(entity, seq, off)
    page.goto(f"{app_url}/?entity={entity}&ev={key.to_param()}")
    expect(page.get_by_text(f"{n} matching events")).to_be_visible(timeout=30_000)
    expect(page.get_by_text(f"{etype} · {entity} · seq {seq}")).to_be_visible()
    shot(page, "explore-deep-link")
    # Step to the next event of the entity: the URL follows.
    page.get_by_role("button", name="next in entity ▶").click()
    expect(page.get_by_text(f"· {entity} · seq ")).to_be_visible()
    page.wait_for_url(lambda u: "ev=" in u and key.to_param() not in u, timeout=15_000)


def test_typing_a_filter_updates_the_url(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/")
    box = page.get_by_label("Entity id starts with")
    expect(box).to_be_visible(timeout=30_000)
    box.fill("customer-0001")
    box.press("Enter")
    page.wait_for_url(lambda u: "entity=customer-0001" in u, timeout=15_000)
    expect(page.get_by_text("matching events").first).to_be_visible()
    shot(page, "explore-filtered")
