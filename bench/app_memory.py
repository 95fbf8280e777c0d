"""Peak memory of the app process with the 5M-event database open and Explore rendered.

Starts the app (`python -m eventlab.ui.serve`) on the cached 5M-event database, opens the
Explore page in headless Chromium, applies a filter, pages, opens an event, runs a console
query, and reads the server's peak resident set (VmHWM). Prints `peak_rss_mb=X` (limit 2048).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from _common import ROOT, demo_db
from playwright.sync_api import sync_playwright

LIMIT_MB = 2048


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def _wait(page: object) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           state="attached", timeout=120_000)
    page.wait_for_timeout(1500)


def main() -> None:
    db = demo_db()
    port = _free_port()
    env = {**os.environ, "EVENTLAB_DB": str(db)}
    proc = subprocess.Popen([sys.executable, "-m", "eventlab.ui.serve", "--server.port",
                             str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        print(f"# server idle: {_peak_mb(proc.pid):.0f} MB")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            _wait(page)
            print(f"# explore rendered: {_peak_mb(proc.pid):.0f} MB")
            page.goto(f"{url}/?types=OrderPlaced&types=OrderPaid&entity=order-00&page=40")
            _wait(page)
            page.goto(f"{url}/?text=hamburg&jpath=status&jval=paid")
            _wait(page)
            page.goto(f"{url}/sql?sql=SELECT+entity_type,count(*)+FROM+events+GROUP+BY+1")
            _wait(page)
            browser.close()
        peak = _peak_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"limit_mb={LIMIT_MB}")
    print(f"peak_rss_mb={peak:.0f}")
    print(f"ratio={peak / LIMIT_MB:.2f}")


if __name__ == "__main__":
    main()
