"""The quarantine in headless Chromium: select a row, see its reason and raw bytes in full."""

from __future__ import annotations

from browser_support import shot, wait_for_app
from playwright.sync_api import Page, expect


def test_quarantine_row_detail(app_url: str, page: Page) -> None:
    page.goto(f"{app_url}/quarantine")
    wait_for_app(page)
    grid = page.locator('[data-testid="stDataFrame"]').nth(1)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the newest row's tick box
    expect(page.get_by_text("Raw value (")).to_be_visible(timeout=15_000)
    page.locator('[data-testid="stCheckbox"]', has_text="hex").first.click()
    expect(page.get_by_text("00000000").first).to_be_visible(timeout=15_000)
    shot(page, "quarantine-detail")
