"""The real app in headless Chromium: open Explore by URL, filter, open an event."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from eventlab import db, explore
from eventlab.store import EventStore

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("EVENTLAB_SHOTS", ROOT / ".eventlab" / "screenshots"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Streamlit serving the app on a free loopback port, on a copy of the demo database."""
    db_copy = tmp_path_factory.mktemp("browser") / "demo.duckdb"
    shutil.copy(demo_db, db_copy)
    port = _free_port()
    env = {**os.environ, "EVENTLAB_DB": str(db_copy)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "eventlab.ui.serve",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not start: {proc.stderr.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        pg = browser.new_page(viewport={"width": 1400, "height": 1800})
        yield pg
        browser.close()


def wait_for_app(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until the script run finished and the frontend drew its elements."""
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]',
        state="attached",
        timeout=timeout_ms,
    )
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    page.wait_for_timeout(500)


def _shot(page: Page, name: str) -> None:
    wait_for_app(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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
    _shot(page, "explore-deep-link")
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
    _shot(page, "explore-filtered")
