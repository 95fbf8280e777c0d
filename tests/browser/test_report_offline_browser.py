"""Safety item 30: an incident bundle's report.html opens offline: in Chromium from a file:
URL it asks no host for anything, and its figures draw (plotly.js is inline)."""

from __future__ import annotations

import shutil
from pathlib import Path

from browser_support import requests_elsewhere
from playwright.sync_api import Page

from eventlab import investigations as inv_api
from eventlab.store.eventstore import EventStore


def test_the_report_opens_offline(page: Page, demo_db: Path, tmp_path: Path) -> None:
    db_copy = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    with EventStore(db_copy) as store:
        inv = inv_api.save(store, inv_api.new("offline report", "ann", inv_api.now()).with_doc(
            {"filters": "dup=1", "entities": ["customer-00001"]}, inv_api.now()))
        with store.reading() as cur:
            made = inv_api.write_bundle(cur, inv, tmp_path / "out")
    with requests_elsewhere(page, None) as requests:
        page.goto((made.folder / "report.html").as_uri())
        page.wait_for_selector(".plot-container", timeout=15_000)
        assert page.locator(".plot-container").count() >= 2  # counts + the entity timeline
        assert page.title() == "offline report · EventLab"
    assert not requests, requests[:5]
