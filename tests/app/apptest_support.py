"""Helpers for Streamlit AppTest page tests."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from streamlit.testing.v1 import AppTest


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


def shown(markdown: str) -> str:
    """What a Markdown element shows of text that went through `eventlab.ui.text.inert`:
    the backslash escapes and word joiners taken out (tests compare with the plain words)."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\u2060", ""))


def texts(elements: object) -> list[str]:
    """`shown` of each element's value (at.markdown, at.caption, at.error, ...)."""
    return [shown(e.value) for e in elements]  # type: ignore[attr-defined]
