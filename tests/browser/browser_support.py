"""Serving the real app and driving headless Chromium, shared by the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from chromium import require_chromium
from playwright.sync_api import Page, Request, sync_playwright
from repo_paths import ROOT

from eventlab.kafka.broker import free_port

SHOTS = Path(os.environ.get("EVENTLAB_SHOTS", ROOT / ".eventlab" / "screenshots"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@contextmanager
def serve_app(db: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`python -m eventlab.ui.serve` on a free loopback port over `db`; yields its URL."""
    port = free_port()
    full_env = {**os.environ, "EVENTLAB_DB": str(db), **(env or {})}
    full_env.pop("EVENTLAB_READ_ONLY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventlab.ui.serve", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@contextmanager
def browser_page(width: int = 1400, height: int = 1800) -> Iterator[Page]:
    """A page of headless Chromium: the one `make test` found or installed (chromium.py)."""
    executable = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def wait_for_app(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until the script run finished and the frontend drew its elements."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    page.wait_for_timeout(500)


def shot(page: Page, name: str, *, wait: bool = True) -> None:
    """A full-page screenshot under SHOTS (look at them: .eventlab/screenshots/); first waits
    for the script run to finish, unless `wait` is off (a page that keeps redrawing)."""
    if wait:
        wait_for_app(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@contextmanager
def requests_elsewhere(page: Page, own: str | None) -> Iterator[list[str]]:
    """While inside: every request `page` makes to a host other than `own` (a netloc; None:
    to any host at all), ignoring data:, blob:, about: and file: URLs (docs/safety.md, 30)."""
    seen: list[str] = []

    def record(request: Request) -> None:
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about", "file") and url.netloc != own:
            seen.append(request.url)

    page.on("request", record)
    try:
        yield seen
    finally:
        page.remove_listener("request", record)
