"""The duplicate markers are drawn by the fonts a plain Debian Chromium has: no character of
them may fall back to a missing-glyph box."""

from __future__ import annotations

import shutil
import subprocess

from eventlab.explore.duplicates import LABELS, LEGEND


def _drawn(char: str) -> bool:
    """Whether an installed font (fontconfig, what Chromium on Linux uses) has `char`."""
    out = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], check=True,
                         capture_output=True, text=True).stdout
    return bool(out.strip())


def test_every_marker_character_has_a_glyph() -> None:
    assert shutil.which("fc-list"), "fontconfig is part of the browser tests' setup"
    text = "".join(LABELS.values()) + LEGEND
    assert [c for c in sorted(set(text)) if not c.isascii() and not _drawn(c)] == []
