"""Safety item 30: the browser loads nothing from any host but the app itself (fonts, icons,
the favicon and plotly.js are served locally), page after page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from browser_support import wait_for_app
from playwright.sync_api import Page, Request
from repo_paths import APP

PAGES = tuple(p for p in re.findall(r'url_path="([\w-]+)"', Path(APP).read_text()) if p != "start")
"""Every page app.py declares (a new page is covered without editing this list)."""


def test_every_page_loads_only_from_the_app(app_url: str, page: Page) -> None:
    own = urlparse(app_url).netloc
    elsewhere: list[str] = []

    def seen(request: Request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.netloc != own:
            elsewhere.append(request.url)

    page.on("request", seen)
    try:
        for name in PAGES:
            page.goto(f"{app_url}/{name}")
            wait_for_app(page)
            # Favicons are fetched by the browser outside the page's requests: check the link.
            icons = page.eval_on_selector_all("link[rel~='icon']", "els => els.map(e => e.href)")
            assert icons, f"{name}: no favicon link"
            for href in icons:
                url = urlparse(href)
                assert url.scheme == "data" or url.netloc == own, f"{name}: favicon {href}"
    finally:
        page.remove_listener("request", seen)
    assert not elsewhere, f"requests to other hosts: {sorted(set(elsewhere))[:10]}"
