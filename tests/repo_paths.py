"""Where things are in the repository, for tests in any folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
DEMO = ROOT / "eventlab" / "demo"
DEMO_EVENTS = 3_000
"""Events in the tests' demo export (`conftest.demo_export`): the planted counts follow it."""


def url_paths() -> list[str]:
    """Every visible page's url_path, as app.py declares it (a new page is covered too)."""
    import re

    text = (ROOT / "app.py").read_text()
    return [m for m in re.findall(r'url_path="([\w-]+)"', text) if m != "start"]
