"""Where things are in the repository, for tests in any folder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
DEMO = ROOT / "eventlab" / "demo"
DEMO_EVENTS = 3_000
"""Events in the tests' demo export (`conftest.demo_export`): the planted counts follow it."""


def url_paths() -> list[str]:
    """Every visible page's url_path, from the app's one list of pages."""
    from eventlab.ui.links import url_paths as paths

    return paths()
