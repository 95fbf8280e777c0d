"""The size settings (safety item 39): one parser, DuckDB's units, a clear error, defaults."""

from __future__ import annotations

import pytest

from eventlab import settings
from eventlab.settings import SettingError


@pytest.mark.parametrize(("text", "expected"), [
    ("64MB", 64_000_000), ("4 GiB", 4 * 2**30), ("2g", 2_000_000_000), ("1000000", 1_000_000),
    ("1.5kb", 1_500), ("512 bytes", 512), (" 8MiB ", 8 * 2**20)])
def test_byte_size_reads_duckdb_units(text: str, expected: int) -> None:
    assert settings.byte_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "64 parsecs", "-1MB", "0", "1e9"])
def test_byte_size_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(SettingError, match="^X"):
        settings.byte_size(text, "X")


def test_defaults_and_environment() -> None:
    assert settings.sql_max_bytes({}) == 64_000_000
    assert settings.temp_limit({}) == "4GB"
    assert settings.memory_limit({}) == "1.5GB"
    assert settings.sql_max_bytes({"EVENTLAB_SQL_MAX_BYTES": "1MB"}) == 1_000_000
    assert settings.temp_limit({"EVENTLAB_TEMP_LIMIT": "10GiB"}) == "10GiB"
    with pytest.raises(SettingError, match="EVENTLAB_TEMP_LIMIT='huge'"):
        settings.temp_limit({"EVENTLAB_TEMP_LIMIT": "huge"})
