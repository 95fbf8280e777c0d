"""Safety item 30: an incident bundle's report.html opens offline: in Chromium from a file:
URL it asks no host for anything, and its figures draw (plotly.js is inline)."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Page, Request

from eventlab import investigations as inv_api
from eventlab.store.eventstore import EventStore


def test_the_report_opens_offline(page: Page, demo_db: Path, tmp_path: Path) -> None:
    db_copy = Path(shutil.copy(demo_db, tmp_path / "demo.duckdb"))
    with EventStore(db_copy) as store:
        inv = inv_api.save(store, inv_api.new("offline report", "ann", inv_api.now()).with_doc(
            {"filters": "dup=1", "entities": ["customer-00001"]}, inv_api.now()))
        with store.reading() as cur:
            made = inv_api.write_bundle(cur, inv, tmp_path / "out")
    requests: list[str] = []

    def seen(request: Request) -> None:
        if urlparse(request.url).scheme not in ("file", "data", "blob", "about"):
            requests.append(request.url)

    page.on("request", seen)
    try:
        page.goto((made.folder / "report.html").as_uri())
        page.wait_for_selector(".plot-container", timeout=15_000)
        assert page.locator(".plot-container").count() >= 2  # counts + the entity timeline
        assert page.title() == "offline report · EventLab"
    finally:
        page.remove_listener("request", seen)
    assert not requests, requests[:5]
