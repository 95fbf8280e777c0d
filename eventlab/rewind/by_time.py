"""`--to-datetime`: per partition, the first offset whose record time is at or after T.

Kafka answers this with ListOffsets by timestamp (the first record, in offset order, whose
timestamp is >= T; none: the end). EventLab asks the broker, then checks the answer with one
bounded read of the records around it: the record at the answer must be at or after T and the
one before it earlier than T (for "none", the last record earlier than T). An answer that fails
the check is replaced by a binary search over the partition, one single-record read per step
(log2 of the partition's size), and the plan says so. The local Tansu broker needs this: it
looks up its own append time, not the records' CreateTime, and answers offset 0, not "none",
for a time after the last record (docs/lag-reset.md). On Apache Kafka the check passes.
"""

from __future__ import annotations

from collections.abc import Mapping

from eventlab.kafka import group_commit
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.groups import read_records_at


def offsets_at_time(config: KafkaConfig, topic: str, bounds: Mapping[int, tuple[int, int]],
                    at_ms: int) -> tuple[dict[int, int | None], dict[int, str]]:
    """Per partition of `bounds` ({partition: (earliest, end)}), the first offset at or after
    `at_ms` (None: no such record), and a note for each partition whose broker answer was
    wrong and was found by reading instead."""
    asked = group_commit.offsets_for_time(config, topic, list(bounds), at_ms)
    probes: dict[int, list[int]] = {}
    for p, (lo, end) in bounds.items():
        o = asked.get(p)
        around = (end - 1,) if o is None else (o - 1, o)
        probes[p] = [x for x in around if lo <= x < end]
    read = read_records_at(config, {(topic, p): offs for p, offs in probes.items() if offs})

    def stamp(p: int, offset: int) -> tuple[int, int] | None:
        rec = read.found.get(((topic, p), offset))
        return None if rec is None else (rec.offset, rec.timestamp_ms)

    wrong = []
    for p, (lo, end) in bounds.items():
        stop = end if asked.get(p) is None else asked[p]  # the answer as an offset
        here = stamp(p, stop) if lo <= stop < end else None
        prev = stamp(p, stop - 1) if lo < stop <= end else None
        if not lo <= stop <= end or (here is not None and here[1] < at_ms) or \
                (prev is not None and prev[0] < stop and prev[1] >= at_ms):
            wrong.append(p)
    found: dict[int, int | None] = {p: asked.get(p) for p in bounds}
    notes: dict[int, str] = {}
    if wrong:
        searched = _search(config, topic, {p: bounds[p] for p in wrong}, at_ms)
        for p in wrong:
            told = "none" if asked.get(p) is None else f"{asked[p]:,}"
            got = "the end" if searched[p] is None else f"{searched[p]:,}"
            notes[p] = f"broker's time lookup said {told}; found {got} by reading"
            found[p] = searched[p]
    return found, notes


def _search(config: KafkaConfig, topic: str, bounds: Mapping[int, tuple[int, int]],
            at_ms: int) -> dict[int, int | None]:
    """Binary search per partition for the first record at or after `at_ms` (exact when record
    times grow with the offset, as with LogAppendTime and nearly every producer); all
    partitions step together, one bounded read per step."""
    span = {p: [lo, end] for p, (lo, end) in bounds.items()}
    answer: dict[int, int | None] = {p: None for p in bounds}
    while any(lo < hi for lo, hi in span.values()):
        mids = {p: (lo + hi) // 2 for p, (lo, hi) in span.items() if lo < hi}
        read = read_records_at(config, {(topic, p): [m] for p, m in mids.items()})
        for p, m in mids.items():
            rec = read.found.get(((topic, p), m))
            if rec is None:  # no record from mid to the end
                span[p][1], answer[p] = m, None
            elif rec.offset >= span[p][1]:  # none in [mid, hi): same answer as hi
                span[p][1] = m
            elif rec.timestamp_ms >= at_ms:
                span[p][1], answer[p] = m, rec.offset
            else:
                span[p][0] = rec.offset + 1
    return answer
