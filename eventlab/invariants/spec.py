"""Invariants declared as data: a TOML file of `[[invariant]]` tables, parsed, never run.

    [[invariant]]
    name = "a shipped order was paid"
    entity_type = "order"
    when = 'status == "shipped"'      # optional: the positions it applies to
    require = "payment_id exists"

Where they come from: `--file`, else `EVENTLAB_INVARIANTS` (files separated by the path
separator), else `invariants.toml` in the working directory when it exists. Errors name the
file, the invariant, and the line and column of the file where the condition went wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FilePath

from eventlab.errors import EventLabError
from eventlab.invariants import grammar

ENV = "EVENTLAB_INVARIANTS"
DEFAULT_FILE = "invariants.toml"
DEMO_FILE = FilePath(__file__).parents[1] / "demo" / "invariants.toml"
_KEYS = {"name", "entity_type", "when", "require", "description"}


class InvariantFileError(EventLabError):
    """An invariants file cannot be read or holds an invalid invariant."""


@dataclass(frozen=True)
class Invariant:
    """A rule every position of every entity of a type must keep: where `when` holds, so must
    `require` (over the state after the event, and the event itself)."""

    name: str
    entity_type: str
    require: str
    when: str | None = None
    description: str = ""

    @property
    def require_tree(self) -> grammar.Node:
        return grammar.parse(self.require)

    @property
    def when_tree(self) -> grammar.Node | None:
        return None if self.when is None else grammar.parse(self.when)

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "entity_type": self.entity_type, "when": self.when,
                "require": self.require}


def _line_of(text: str, key: str, value: str, after: int) -> int:
    """The 1-based line of `key = <value>` at or after line `after` (1 if not found)."""
    lines = text.splitlines()
    first = value.splitlines()[0] if value else ""
    for i in range(max(after - 1, 0), len(lines)):
        stripped = lines[i].lstrip()
        if stripped.startswith(key) and first in lines[i]:
            return i + 1
    return 1


def parse_text(text: str, source: str = "<text>") -> list[Invariant]:
    """The invariants of a TOML text; each condition is parsed now, so errors come early."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvariantFileError(f"{source}: not valid TOML: {exc}") from exc
    tables = data.get("invariant", [])
    if not isinstance(tables, list) or not tables:
        raise InvariantFileError(f"{source}: no [[invariant]] tables")
    out: list[Invariant] = []
    block = 1
    for n, table in enumerate(tables, 1):
        label = f"{source}, invariant {n}"
        unknown = set(table) - _KEYS
        if unknown:
            raise InvariantFileError(f"{label}: unknown keys {', '.join(sorted(unknown))} "
                                     f"(allowed: {', '.join(sorted(_KEYS))})")
        for key in ("name", "entity_type", "require"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise InvariantFileError(f"{label}: '{key}' is required (a string)")
        label = f"{source}, invariant {table['name']!r}"
        block = _line_of(text, "name", table["name"], block)
        for key in ("when", "require"):
            cond = table.get(key)
            if cond is None:
                continue
            if not isinstance(cond, str):
                raise InvariantFileError(f"{label}: '{key}' must be a string")
            try:
                grammar.parse(cond)
            except grammar.ParseError as exc:
                line = _line_of(text, key, cond, block) + exc.line - 1
                raise InvariantFileError(
                    f"{label}, {key}: line {line} of the file, column {exc.column} of the "
                    f"condition: {exc.reason}") from exc
        out.append(Invariant(table["name"], table["entity_type"], table["require"],
                             table.get("when"), table.get("description", "")))
    names = [i.name for i in out]
    if len(set(names)) != len(names):
        raise InvariantFileError(f"{source}: two invariants share a name")
    return out


def load_file(path: str | os.PathLike[str]) -> list[Invariant]:
    """The invariants of one file."""
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvariantFileError(f"cannot read invariants file {path}: {exc}") from exc
    return parse_text(text, str(path))


def configured_files(env: Mapping[str, str] | None = None) -> list[str]:
    """EVENTLAB_INVARIANTS (files separated by the path separator), else ./invariants.toml."""
    value = (os.environ if env is None else env).get(ENV, "")
    files = [p for p in value.split(os.pathsep) if p.strip()]
    if files:
        return files
    return [DEFAULT_FILE] if FilePath(DEFAULT_FILE).is_file() else []


def load(files: list[str] | None = None) -> list[Invariant]:
    """The invariants of the given files, else of the configured ones (may be none)."""
    out: list[Invariant] = []
    for f in files if files else configured_files():
        out.extend(load_file(f))
    return out


def load_or_demo(files: list[str] | None = None) -> tuple[list[Invariant], str]:
    """The given or configured invariants and where they came from; without any, the demo
    shop's examples (`eventlab/demo/invariants.toml`), said so in the label."""
    chosen = files or configured_files()
    if chosen:
        return load(chosen), ", ".join(chosen)
    return load_file(DEMO_FILE), "the demo shop's examples (no invariants configured)"
