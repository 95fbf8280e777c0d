"""The SQL console in headless Chromium: a link runs its query; Ctrl+Enter runs a typed one."""

from __future__ import annotations

from urllib.parse import quote

from browser_support import shot, wait_for_app
from playwright.sync_api import Page, expect


def test_sql_link_runs_and_ctrl_enter_runs(app_url: str, page: Page) -> None:
    linked = "SELECT entity_id, event_id FROM events ORDER BY ts LIMIT 7"
    page.goto(f"{app_url}/sql?sql={quote(linked)}")
    expect(page.get_by_text("7 row(s) in")).to_be_visible(timeout=30_000)
    wait_for_app(page)
    shot(page, "sql-linked")
    box = page.get_by_role("textbox", name="Query")
    box.click()
    box.fill("SELECT 1 AS a UNION ALL SELECT 2 UNION ALL SELECT 3")
    box.press("Control+Enter")  # no click on Run: the form submits on Ctrl+Enter
    expect(page.get_by_text("3 row(s) in")).to_be_visible(timeout=15_000)
    page.wait_for_url(lambda u: "UNION" in u, timeout=15_000)  # the URL restores it
