"""Browser fixtures: the real app served over a copy of the demo database, and one headless
Chromium page per module (a module may define its own `app_url` or `page`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import browser_page, serve_app
from playwright.sync_api import Page


@pytest.fixture(scope="module")
def app_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free loopback port, on a copy of the demo database."""
    db_copy = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_db, db_copy)
    with serve_app(db_copy) as url:
        yield url


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with browser_page() as pg:
        yield pg
