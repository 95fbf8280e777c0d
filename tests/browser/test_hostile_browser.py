"""Every page opened in headless Chromium on the hostile data set (docs/safety.md, items 30, 33
and 40), and the hostile investigation's bundle report from a file: URL. Fails on any request
to another host (fonts, icons and plotly.js are the app's own), a favicon link that is not
local, any dialog, any exception or error box naming a Python exception, and any image or link
the data chose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlparse

import hostile
import pytest
from browser_support import requests_elsewhere, serve_app, shot, wait_for_app
from playwright.sync_api import Page
from repo_paths import url_paths

from eventlab import investigations as inv_api
from eventlab.store.eventstore import EventStore

VISITS: list[tuple[str, dict[str, str]]] = [
    *[(name, {}) for name in url_paths()],
    ("explore", {"correlation": hostile.CORRELATION}),
    *[("time-travel", {"entity_id": hostile.ENTITY, "panel": p})
      for p in ("The event", "Field blame", "Field history", "What if")],
    ("time-travel", {"entity_id": hostile.ENTITY, "seq": "6"}),
    ("as-of", {"by": "huge"}),
    *[("flow", {"view": v}) for v in ("Transitions", "Variants")],
    ("flow", {"view": "Chain", "correlation": hostile.CORRELATION}),
    ("sql", {"sql": "SELECT event_type, entity_id, payload, metadata FROM events"}),
    ("republish", {"entity_id": hostile.ENTITY}),
    *[("tour", {"step": str(n)}) for n in range(1, 9)],
]


@pytest.fixture(scope="module")
def app_url(hostile_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a copy of the hostile database."""
    copy = tmp_path_factory.mktemp("hostile-browser") / "hostile.duckdb"
    copy.write_bytes(hostile_db.read_bytes())
    with serve_app(copy) as url:
        yield url


def _foreign(page: Page, own: str) -> list[str]:
    """Images and links in the page that point at another host."""
    urls = page.eval_on_selector_all(
        "img[src], a[href], image, iframe[src], source[src], link[href]",
        "els => els.map(e => e.src || e.href?.baseVal || e.href || '')")
    return [u for u in urls if urlparse(u).scheme in ("http", "https")
            and urlparse(u).netloc != own]


def _local_icons(page: Page, own: str) -> list[str]:
    """The page's favicon links, each served by the app or a data: URL (the browser fetches
    favicons outside the page's requests, so `requests_elsewhere` would not see them)."""
    icons = page.eval_on_selector_all("link[rel~='icon']", "els => els.map(e => e.href)")
    for href in icons:
        url = urlparse(href)
        assert url.scheme == "data" or url.netloc == own, f"favicon {href}"
    return icons


def _problems(page: Page) -> list[str]:
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    errors = [t for t in page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
              if "Traceback" in t or "Error:" in t.split("\n")[0]]
    return shown + errors


def test_every_page_on_hostile_data(app_url: str, page: Page) -> None:
    own = urlparse(app_url).netloc
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with requests_elsewhere(page, own) as elsewhere:
        for name, params in VISITS:
            where = f"{name}?{urlencode(params)}"
            page.goto(f"{app_url}/{where}")
            wait_for_app(page, timeout_ms=60_000)
            assert not _problems(page), (where, _problems(page))
            assert not _foreign(page, own), (where, _foreign(page, own))
            assert _local_icons(page, own), f"{where}: no favicon link"
            if name in ("explore", "time-travel", "flow", "investigations") and not params:
                shot(page, f"hostile-{name}", wait=False)
        # Explore with the hostile event open: pick the first row of the table.
        page.goto(f"{app_url}/explore?{urlencode({'event_id': 'ev-1-' + hostile.IMAGE})}")
        wait_for_app(page)
        page.locator('[data-testid="stDataFrame"]').first.click(position={"x": 12, "y": 50})
        wait_for_app(page)
        assert not _problems(page) and not _foreign(page, own)
        shot(page, "hostile-explore-event", wait=False)
    assert not elsewhere, f"requests to other hosts: {sorted(set(elsewhere))[:10]}"
    assert not dialogs, dialogs


def test_the_hostile_bundle_report_offline(page: Page, hostile_db: Path,
                                            tmp_path: Path) -> None:
    copy = tmp_path / "hostile.duckdb"
    copy.write_bytes(hostile_db.read_bytes())
    with EventStore(copy) as store, store.reading() as cur:
        inv = inv_api.listing(cur)[0]
        made = inv_api.write_bundle(cur, inv, tmp_path / "out")
    # A page of its own: the module's page showed the app just before, and a script chunk
    # that app still had in flight was once counted against the report.
    browser = page.context.browser
    assert browser is not None
    report = browser.new_page()
    dialogs: list[str] = []
    report.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        with requests_elsewhere(report, None) as requests:
            report.goto((made.folder / "report.html").as_uri())
            report.wait_for_selector(".plot-container", timeout=15_000)
            assert not _foreign(report, ""), _foreign(report, "")
            assert hostile.IMAGE in report.inner_text("h1")  # shown as text
    finally:
        report.close()
    assert not requests, requests[:5]
    assert not dialogs, dialogs
