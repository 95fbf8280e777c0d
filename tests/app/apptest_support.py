"""Helpers for Streamlit AppTest page tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from markdown_text import shown, texts  # noqa: F401  (the app tests import them from here)
from repo_paths import APP
from streamlit.testing.v1 import AppTest


def open_page(page: str | None = None, *, timeout: float = 60, run: bool = True,
              **params: str) -> AppTest:
    """The app from its entrypoint (as a browser opens it), on `page` (a file under pages/;
    None: the default page) with these query parameters, run once unless `run` is off."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if page:
        at.switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run() if run else at


def wait_for(at: AppTest, check: Callable[[AppTest], bool], timeout: float = 30) -> AppTest:
    """Rerun the page (as a browser's refresh would) until `check` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, at.exception
        if check(at):
            return at
        time.sleep(0.2)
    raise AssertionError(f"timed out; errors={[e.value for e in at.error]}, "
                         f"success={[s.value for s in at.success]}, "
                         f"warnings={[w.value for w in at.warning]}")

