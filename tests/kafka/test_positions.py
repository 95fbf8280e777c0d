"""Kafka positions, pure: start and stop texts, the partition text form, records remaining."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventlab.errors import SourceError
from eventlab.kafka.positions import parse_start, parse_until, remaining, tp_order, tp_text


def test_remaining_counts_from_the_position_to_the_end() -> None:
    assert remaining(100, 40) == 60
    assert remaining(100, 100) == 0
    assert remaining(100, 120) == 0  # past the end (records appended since the listing)


def test_never_read_or_expired_positions_count_from_the_earliest_offset() -> None:
    assert remaining(100, None, earliest=30) == 70
    assert remaining(100, 10, earliest=30) == 70  # retention removed 10..29 since
    assert remaining(100, None) == 100


def test_partition_text_round_trips_and_sorts_by_number() -> None:
    assert tp_text(("orders.v2", 3)) == "orders.v2/3"
    keys = ["b/10", "b/2", "a/1", "odd/x"]
    assert sorted(keys, key=tp_order) == ["a/1", "b/2", "b/10", "odd/x"]
    assert tp_order("a/b/7") == ("a/b", 7)


def test_start_texts() -> None:
    assert parse_start("earliest", ["t"]) == "earliest"
    assert parse_start("latest", ["t"]) == "latest"
    assert parse_start("0:5,1:7", ["a", "b"]) == {("a", 0): 5, ("b", 0): 5, ("a", 1): 7,
                                                  ("b", 1): 7}
    assert parse_start("a:2:9", ["a", "b"]) == {("a", 2): 9}
    assert parse_start("2025-03-05T14:03:00Z", ["t"]) == datetime(2025, 3, 5, 14, 3,
                                                                  tzinfo=UTC)


@pytest.mark.parametrize("text", ["2025-03-05T14:03:00", "2025-03-05 14:03:00", "2025-03-05T14:03",
                                  "2025-03-05T15:03:00+01:00"])
def test_a_time_without_a_zone_is_a_utc_time_not_topic_partition_offset(text: str) -> None:
    # The shape of TOPIC:P:OFFSET too; it used to become topic "2025-03-05T14", partition 3,
    # which the reader ignored: the read silently started at the earliest offsets.
    assert parse_start(text, ["t"]) == datetime(2025, 3, 5, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize("text", ["soon", "x:y", "0:1,oops"])
def test_bad_start_texts_say_what_is_accepted(text: str) -> None:
    with pytest.raises(SourceError, match="--from"):
        parse_start(text, ["t"])


def test_stop_texts() -> None:
    assert parse_until("end") == "end"
    assert parse_until("follow") == "follow"
    assert parse_until("250") == 250
    for bad in ("0", "-3", "forever"):
        with pytest.raises(SourceError, match="--until"):
            parse_until(bad)
