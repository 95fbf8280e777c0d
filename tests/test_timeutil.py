"""The one "naive time is UTC" rule: parsing, normalising, widget values, display."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventlab.timeutil import as_utc, format_utc, naive_utc, parse_utc, to_utc

CET = timezone(timedelta(hours=1))


def test_a_naive_time_is_taken_as_utc() -> None:
    assert as_utc(datetime(2025, 3, 5, 14, 3)) == datetime(2025, 3, 5, 14, 3, tzinfo=UTC)
    assert as_utc(datetime(2025, 3, 5, 14, 3)).tzinfo is UTC


def test_an_aware_time_keeps_its_instant_and_gets_the_utc_zone() -> None:
    moved = as_utc(datetime(2025, 3, 5, 15, 3, tzinfo=CET))
    assert moved.tzinfo is UTC
    assert moved.hour == 14


@given(st.datetimes(timezones=st.sampled_from([UTC, CET, timezone(timedelta(hours=-7))])))
def test_as_utc_never_moves_the_instant(value: datetime) -> None:
    assert as_utc(value) == value
    assert as_utc(value).tzinfo is UTC


@pytest.mark.parametrize("text", ["2025-03-05T14:03:00Z", "2025-03-05T14:03:00+00:00",
                                  "2025-03-05 14:03:00", "  2025-03-05T14:03  ",
                                  "2025-03-05T15:03:00+01:00"])
def test_parse_utc_reads_the_usual_spellings(text: str) -> None:
    assert parse_utc(text) == datetime(2025, 3, 5, 14, 3, tzinfo=UTC)
    assert parse_utc(text).tzinfo is UTC


@pytest.mark.parametrize("text", ["", "yesterday", "2025-13-01", "14:03"])
def test_parse_utc_refuses_what_is_not_a_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_utc(text)


def test_naive_utc_is_the_widget_value_to_the_second() -> None:
    value = datetime(2025, 3, 5, 15, 3, 7, 999_999, tzinfo=CET)
    assert naive_utc(value) == datetime(2025, 3, 5, 14, 3, 7)
    assert naive_utc(value).tzinfo is None
    assert as_utc(naive_utc(value)) == datetime(2025, 3, 5, 14, 3, 7, tzinfo=UTC)


def test_format_utc_says_utc() -> None:
    assert format_utc(datetime(2025, 3, 5, 15, 3, tzinfo=CET)) == "2025-03-05 14:03:00 UTC"
    assert format_utc(datetime(2025, 3, 5, 14, 3)) == "2025-03-05 14:03:00 UTC"


def test_to_utc_takes_a_datetime_or_iso_text_and_nothing_else() -> None:
    moment = datetime(2025, 3, 5, 14, 3, tzinfo=UTC)
    assert to_utc(datetime(2025, 3, 5, 15, 3, tzinfo=CET)) == moment
    assert to_utc(datetime(2025, 3, 5, 14, 3)) == moment
    assert to_utc("2025-03-05 14:03") == moment and to_utc("2025-03-05 14:03").tzinfo is UTC
    with pytest.raises(TypeError, match="expected a datetime, got int"):
        to_utc(1700000000)  # type: ignore[arg-type]
