"""Which reducers EventLab offers: merge, and the rules / Python files the operator configured.

Reducer files come only from whoever runs EventLab: command-line flags (`--rules FILE`,
`--reducer FILE`) or the environment (`EVENTLAB_RULES`, `EVENTLAB_REDUCER`; several files
separated by the OS path separator, `:` on Linux). The browser can pick among them, never add
one: a Python reducer runs with the server's rights.

A `ReducerChoice` is a small value (kind, path, delete types); `key` changes when its file
changes, so caches reload an edited file; `load` builds the `Reducer`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eventlab.errors import ReducerError
from eventlab.replay import MergeReducer, Reducer, load_python_reducer, load_rules

KINDS: tuple[str, ...] = ("merge", "rules", "python")
ENV_RULES = "EVENTLAB_RULES"
ENV_REDUCER = "EVENTLAB_REDUCER"


@dataclass(frozen=True)
class ReducerChoice:
    """One reducer the operator made available."""

    kind: str
    path: str | None = None
    delete_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ReducerError(f"unknown reducer kind {self.kind!r} (use {', '.join(KINDS)})")
        if (self.kind == "merge") != (self.path is None):
            raise ReducerError("merge takes no file; rules and python reducers need one")

    @property
    def label(self) -> str:
        """What the page shows: `merge (JSON merge patch)`, `rules: orders.toml`, ..."""
        if self.kind == "merge":
            extra = f", deletes: {', '.join(self.delete_types)}" if self.delete_types else ""
            return f"merge (JSON merge patch{extra})"
        return f"{self.kind}: {Path(self.path or '').name}"

    @property
    def key(self) -> str:
        """Identifies the reducer and the version of its file (for caches)."""
        if self.path is None:
            return f"merge|{'|'.join(sorted(self.delete_types))}"
        try:
            mtime = Path(self.path).stat().st_mtime_ns
        except OSError:
            mtime = -1
        return f"{self.kind}|{Path(self.path).resolve()}|{mtime}"

    def with_deletes(self, delete_types: Iterable[str]) -> ReducerChoice:
        """The merge choice with event types that delete the entity (others unchanged)."""
        if self.kind != "merge":
            return self
        return ReducerChoice("merge", None, tuple(sorted(set(delete_types))))

    def load(self) -> Reducer:
        """Build the reducer (reads and checks the file); raises `ReducerError`."""
        if self.kind == "merge":
            return MergeReducer(self.delete_types)
        assert self.path is not None
        if self.kind == "rules":
            return load_rules(self.path)
        return load_python_reducer(self.path)


MERGE = ReducerChoice("merge")


def _paths(value: str | None) -> list[str]:
    return [p for p in (value or "").split(os.pathsep) if p.strip()]


def configured(*, rules: Iterable[str] = (), reducers: Iterable[str] = (),
               env: Mapping[str, str] | None = None) -> list[ReducerChoice]:
    """The choices: the given files, else those in the environment; then merge.

    Files that do not exist raise `ReducerError` naming them (a typo in a flag should not
    silently fall back to merge).
    """
    env = os.environ if env is None else env
    rules = list(rules) or _paths(env.get(ENV_RULES))
    reducers = list(reducers) or _paths(env.get(ENV_REDUCER))
    choices: list[ReducerChoice] = []
    for kind, paths in (("rules", rules), ("python", reducers)):
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.is_file():
                source = "--rules" if kind == "rules" else "--reducer"
                raise ReducerError(f"{source} file {path} not found")
            choice = ReducerChoice(kind, str(path.resolve()))
            if choice not in choices:
                choices.append(choice)
    return [*choices, MERGE]


def default(choices: list[ReducerChoice]) -> ReducerChoice:
    """The first configured file (rules before Python), else merge."""
    return choices[0] if choices else MERGE


def find(choices: list[ReducerChoice], label: str | None) -> ReducerChoice:
    """The choice with this label (or kind name), else the default."""
    for choice in choices:
        if label in (choice.label, choice.kind, choice.key):
            return choice
    return default(choices)
