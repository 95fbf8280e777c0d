"""Positions in Kafka logs: the topic-partition type, where a read starts and stops, and how
many records lie between a position and the end. Pure (no kafka-python), so every layer can
use it: the reader, the ingest, the Sources page and the CLI.

A position is the next offset to read (Kafka's "committed offset" means the same). Text forms:
a partition is `topic/partition` in reports; a start is `ingest-kafka --from`'s text
(`earliest`, `latest`, an ISO 8601 time, `P:OFFSET,...` for every listed topic or
`TOPIC:P:OFFSET,...`); a stop is `--until`'s (`end`, `follow` or a record count).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from eventlab.errors import SourceError
from eventlab.timeutil import parse_utc

TP = tuple[str, int]
"""A (topic, partition) pair."""
Start = Literal["earliest", "latest"] | datetime | Mapping[TP, int]
"""Where a read starts: the earliest or end offsets, the first record at or after a time, or
an offset per partition (partitions it leaves out start at their earliest offset)."""
Until = Literal["end", "follow"] | int
"""Where a read stops: the end offsets taken at its start, never (follow), or after N records."""


def tp_text(tp: TP) -> str:
    """`topic/partition`, the form reports and JSON output use."""
    return f"{tp[0]}/{tp[1]}"


def tp_order(text: str) -> tuple[str, int]:
    """A sort key for `tp_text` strings: by topic, then by partition number."""
    topic, _, partition = text.rpartition("/")
    return topic, int(partition) if partition.isdigit() else -1


def remaining(end: int, position: int | None, earliest: int = 0) -> int:
    """Records from `position` up to `end` (the next offset after the last record).

    No position (never read), or one below `earliest` (retention removed records since),
    counts from `earliest`. On a compacted topic this is an upper bound: offsets have gaps.
    """
    begin = earliest if position is None else max(position, earliest)
    return max(0, end - begin)


def parse_start(value: str, topics: list[str]) -> Start:
    """`earliest`, `latest`, an ISO 8601 time (naive = UTC), or `P:OFFSET[,P:OFFSET...]` (each
    partition of every listed topic) / `TOPIC:P:OFFSET[,...]`."""
    if value in ("earliest", "latest"):
        return value  # type: ignore[return-value]
    try:  # first: `2025-03-05T14:03:00` also has the shape of TOPIC:P:OFFSET
        return parse_utc(value)
    except ValueError:
        pass
    if ":" in value and all(part.count(":") in (1, 2) and part.rsplit(":", 1)[1].isdigit()
                            for part in value.split(",")):
        starts: dict[TP, int] = {}
        for part in value.split(","):
            bits = part.split(":")
            if len(bits) == 2 and bits[0].isdigit():
                for topic in topics:
                    starts[(topic, int(bits[0]))] = int(bits[1])
            elif len(bits) == 3 and bits[1].isdigit():
                starts[(bits[0], int(bits[1]))] = int(bits[2])
            else:
                raise SourceError(f"--from {value!r}: use P:OFFSET or TOPIC:P:OFFSET")
        return starts
    raise SourceError(f"--from {value!r}: use earliest, latest, an ISO 8601 time, or "
                      "P:OFFSET,...")


def parse_until(value: str) -> Until:
    """`end`, `follow`, or a record count."""
    if value in ("end", "follow"):
        return value  # type: ignore[return-value]
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise SourceError(f"--until {value!r}: use end, follow or a positive record count")
