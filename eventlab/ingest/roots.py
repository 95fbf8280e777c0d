"""The data folders: where a path typed into the browser may read from (docs/safety.md, 35).

`EVENTLAB_DATA_DIRS` lists them (os.pathsep-separated, like PATH); without it the one data
folder is `data/` beside the database file (`.eventlab/data/` for the default database).
Every path is resolved with `os.path.realpath` before it is compared, so `..` and symbolic
links that lead out of a folder are outside it. The CLI (`eventlab ingest PATH`) runs in the
operator's own shell and has no roots; uploads are saved by EventLab itself and are not
paths a person typed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from eventlab.errors import SourceError

DATA_DIRS = "EVENTLAB_DATA_DIRS"


def data_roots(db_path: str | Path, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The data folders, resolved: EVENTLAB_DATA_DIRS, else `data/` beside the database."""
    raw = (os.environ if env is None else env).get(DATA_DIRS, "")
    parts = [p.strip() for p in raw.split(os.pathsep) if p.strip()]
    if not parts:
        base = Path(".eventlab") if str(db_path) == ":memory:" else Path(db_path).parent
        parts = [str(base / "data")]
    return tuple(dict.fromkeys(os.path.realpath(os.path.expanduser(p)) for p in parts))


def under_roots(path: str, roots: Sequence[str]) -> bool:
    """True when `path`, resolved (links followed, `..` removed), is inside one of `roots`."""
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def outside_message(path: str, roots: Sequence[str]) -> str:
    """Why a typed path is refused, naming it and what to do."""
    return (f"{path} is outside the data folders this app may read ({', '.join(roots)}): "
            f"copy the files below one of them, or have the operator add a folder to "
            f"{DATA_DIRS} (or upload the file)")


def check_typed_path(path: str, roots: Sequence[str]) -> None:
    """Refuse a typed path (file, folder or glob) that is not below a data folder.

    A glob is judged by the folder before its first wildcard; what it matches is checked
    again, file by file, when the folder is read.
    """
    expanded = os.path.expanduser(path.strip())
    fixed = expanded
    if any(ch in expanded for ch in "*?["):
        cut = min(expanded.index(ch) for ch in "*?[" if ch in expanded)
        fixed = os.path.dirname(expanded[:cut]) or "."
    if not under_roots(fixed, roots):
        raise SourceError(outside_message(path.strip(), roots))
