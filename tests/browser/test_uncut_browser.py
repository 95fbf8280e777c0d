"""At 1400 px no action's label is cut: Explore's export formats, Prepare file, "Add to an
investigation" and Republish read whole (issue 18, 3.10)."""

from __future__ import annotations

from browser_support import wait_for_app
from playwright.sync_api import Page

CUT = """(root) => [...root.querySelectorAll(
        'button, button *, [data-testid="stButtonGroup"], [data-testid="stButtonGroup"] *')]
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText.trim())"""
"""Texts of the buttons (and button groups) under `root` that overflow their box (an
ellipsis or a clip)."""


def test_explore_actions_read_whole(app_url: str, page: Page) -> None:
    page.goto(app_url + "/")
    wait_for_app(page)
    actions = page.locator('[data-testid="stHorizontalBlock"]').filter(
        has=page.get_by_role("button", name="Prepare file")).first
    labels = actions.locator("button").all_inner_texts()
    assert any("Add to an investigation" in t for t in labels), labels
    assert {"CSV", "JSON lines", "Parquet"} <= {t.strip() for t in labels}, labels
    assert actions.evaluate(CUT) == []
