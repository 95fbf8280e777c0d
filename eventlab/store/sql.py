"""Small SQL helpers: the one identifier-quoting function and a few building blocks."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB. Callers pass only names from a known list or a schema."""
    return '"' + name.replace('"', '""') + '"'


def prefix_upper_bound(prefix: str) -> str:
    """Smallest string greater than every string starting with `prefix` (for range scans)."""
    if not prefix:
        raise ValueError("empty prefix")
    last = prefix[-1]
    if ord(last) >= 0x10FFFF:
        return prefix + "\U0010ffff"
    return prefix[:-1] + chr(ord(last) + 1)


def quote_literal(text: str) -> str:
    """A SQL string literal, for the few constants DuckDB wants inline (`json_transform`'s
    structure). Values from users are bound as parameters instead."""
    return "'" + text.replace("'", "''") + "'"


def column_list(names: tuple[str, ...] | list[str]) -> str:
    """Quoted, comma-separated column names (an INSERT's or SELECT's column list)."""
    return ", ".join(quote_ident(n) for n in names)
