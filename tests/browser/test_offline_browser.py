"""Safety item 30: the browser loads nothing from any host but the app itself (fonts, icons,
the favicon and plotly.js are served locally), page after page."""

from __future__ import annotations

from urllib.parse import urlparse

from browser_support import requests_elsewhere, wait_for_app
from playwright.sync_api import Page
from repo_paths import url_paths

PAGES = tuple(url_paths())
"""Every page app.py declares (a new page is covered without editing this list)."""


def test_every_page_loads_only_from_the_app(app_url: str, page: Page) -> None:
    own = urlparse(app_url).netloc
    with requests_elsewhere(page, own) as elsewhere:
        for name in PAGES:
            page.goto(f"{app_url}/{name}")
            wait_for_app(page)
            # Favicons are fetched by the browser outside the page's requests: check the link.
            icons = page.eval_on_selector_all("link[rel~='icon']", "els => els.map(e => e.href)")
            assert icons, f"{name}: no favicon link"
            for href in icons:
                url = urlparse(href)
                assert url.scheme == "data" or url.netloc == own, f"{name}: favicon {href}"
    assert not elsewhere, f"requests to other hosts: {sorted(set(elsewhere))[:10]}"
