"""The real app in headless Chromium: open Explore by URL, filter, open an event."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from browser_support import shot, wait_for_app
from playwright.sync_api import Page, expect
from repo_paths import url_paths

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


def test_every_page_opens_by_its_url_path_with_no_dialog(app_url: str, page: Page) -> None:
    paths = url_paths()
    assert {"explore", "time-travel", "sql", "sources"} <= set(paths)
    for path in paths:
        page.goto(f"{app_url}/{path}?probe=1")
        wait_for_app(page)
        expect(page.locator('[role="dialog"]')).to_have_count(0)
        assert urlparse(page.url).path == f"/{path}", (path, page.url)
        expect(page.locator("h1").first).to_be_visible()
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def test_explore_deep_link_with_a_type_filter(app_url: str, page: Page, demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        n = db.scalar(store.cursor(), "SELECT count(*) FROM events WHERE event_type = ?",
                      ["OrderPlaced"])
    page.goto(f"{app_url}/explore?types=OrderPlaced")
    wait_for_app(page)
    expect(page.locator('[role="dialog"]')).to_have_count(0)
    assert urlparse(page.url).path == "/explore"
    expect(page.get_by_text(f"{n:,} matching events")).to_be_visible()
    # The bare address opens Explore too, keeping its query parameters.
    page.goto(f"{app_url}/?types=OrderPlaced")
    wait_for_app(page)
    assert urlparse(page.url).path == "/explore" and "types=OrderPlaced" in page.url
    expect(page.get_by_text(f"{n:,} matching events")).to_be_visible()


def test_stepping_works_after_ticking_a_row(app_url: str, page: Page, demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        first, second = db.rows(store.cursor(), "SELECT event_type, seq FROM events WHERE "
                                                "entity_id = 'order-000001' ORDER BY seq LIMIT 2")
    page.goto(f"{app_url}/explore?entity=order-000001")
    wait_for_app(page)
    box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's tick box
    expect(page.get_by_text(f"{first[0]} · order-000001 · seq {first[1]}")).to_be_visible(
        timeout=15_000)
    page.get_by_role("button", name="next in entity ▶").click()
    expect(page.get_by_text(f"{second[0]} · order-000001 · seq {second[1]}")).to_be_visible(
        timeout=15_000)
    page.get_by_role("button", name="◀ previous in entity").click()
    expect(page.get_by_text(f"{first[0]} · order-000001 · seq {first[1]}")).to_be_visible(
        timeout=15_000)


def test_a_correlation_link_survives_a_reload_and_a_filter_change(app_url: str, page: Page,
                                                                   demo_db: Path) -> None:
    with EventStore(demo_db) as store:
        cur = store.cursor()
        entity, seq, off, corr = db.rows(
            cur, "SELECT entity_id, seq, \"offset\", metadata->>'$.correlation_id' AS c "
                 "FROM events WHERE c IS NOT NULL ORDER BY entity_id, seq LIMIT 1")[0]
        n = db.scalar(cur, "SELECT count(*) FROM events WHERE metadata->>'$.correlation_id' = ?",
                      [corr])
    page.goto(f"{app_url}/explore?ev={explore.EventKey(entity, seq, off).to_param()}")
    wait_for_app(page)
    page.get_by_role("button", name=f"correlation {corr}").click()
    page.wait_for_url(lambda u: f"correlation={corr}" in u, timeout=15_000)  # the address bar
    expect(page.get_by_text(f"{n:,} matching events")).to_be_visible(timeout=30_000)
    page.reload()  # a reload keeps the filter
    wait_for_app(page)
    expect(page.get_by_label("Correlation id")).to_have_value(corr, timeout=30_000)
    expect(page.get_by_text(f"{n:,} matching events")).to_be_visible(timeout=30_000)
    page.get_by_text("Only duplicated event ids").click()  # the next filter change keeps it
    page.wait_for_url(lambda u: "dup=true" in u and f"correlation={corr}" in u, timeout=15_000)
    expect(page.get_by_label("Correlation id")).to_have_value(corr)
    shot(page, "explore-correlation-round-trip")
