"""EventLab's own exceptions. Adapters catch driver errors and re-raise these with context."""

from __future__ import annotations


class EventLabError(Exception):
    """Base class: every error a page or the CLI shows to a person."""


class StoreError(EventLabError):
    """The DuckDB store could not be opened or written (locked file, bad path, ...)."""


class MappingError(EventLabError):
    """A mapping is invalid or does not fit the input (missing column, bad TOML, ...)."""


class SourceError(EventLabError):
    """An input (file, topic) could not be read; the message names it and what to do next."""


class SqlRefused(EventLabError):
    """The SQL console refused a statement (not exactly one read-only SELECT, or forbidden)."""


class SqlTimeout(EventLabError):
    """A console query ran past its time limit and was interrupted."""


class ReadOnlyError(EventLabError):
    """A write action was attempted while EventLab runs read-only."""
