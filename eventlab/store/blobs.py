"""How the store's raw bytes (Kafka key, value and header values, quarantined records) are
shown: the one rule every page, the peek and the CLI use."""

from __future__ import annotations


def show_bytes(value: bytes | None, limit: int = 200) -> str | None:
    """Bytes as text when they are UTF-8, else as `0x` hex; longer than `limit` characters:
    cut, with the size in bytes. None stays None (a null key, a tombstone's value)."""
    if value is None:
        return None
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        text = "0x" + value.hex()
    if len(text) > limit:
        return f"{text[:limit]}… ({len(value):,} bytes)"
    return text
