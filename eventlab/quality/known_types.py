"""Which event types the chosen rules reducer handles (for `unknown_event_type`)."""

from __future__ import annotations

import os
from pathlib import Path

from eventlab.replay.rules import load_rules
from eventlab.timetravel.reducer_choices import ENV_RULES


def rules_file(given: str | None = None) -> str | None:
    """The rules file to check against: the given one, else the first of $EVENTLAB_RULES."""
    if given:
        return given
    paths = [p for p in os.environ.get(ENV_RULES, "").split(os.pathsep) if p.strip()]
    return paths[0] if paths else None


def handled_types(path: str | None) -> tuple[frozenset[str] | None, str | None]:
    """(types with a rule, the file's name) for a rules file; (None, None) without one."""
    if not path:
        return None, None
    return load_rules(path).handled_types, Path(path).name
