"""Reading Markdown elements in tests: what a page shows of text that went through
`eventlab.ui.text.inert` (the escapes and word joiners taken out)."""

from __future__ import annotations

import re


def shown(markdown: str) -> str:
    """What a Markdown element shows of text that went through `eventlab.ui.text.inert`:
    the backslash escapes and word joiners taken out (tests compare with the plain words)."""
    return re.sub(r"\\(.)", r"\1", markdown.replace("\u2060", ""))


def texts(elements: object) -> list[str]:
    """`shown` of each element's value (at.markdown, at.caption, at.error, ...)."""
    return [shown(e.value) for e in elements]  # type: ignore[attr-defined]


def broker_down_said(message: str) -> bool:
    """The message says the broker is not there: a refused port (said at once) or no answer."""
    return "nothing listens" in message or "check that the broker runs" in message
