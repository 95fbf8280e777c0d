"""Planted anomalies: which clean rows to drop, copy, re-time or blank, chosen by the seed.

Each anomaly lives in its own stream (entity), so one stream never shows two of them and every
count is exact. The plan is made of row indices into the clean log; `table` turns it into text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eventlab.demo import catalog as cat
from eventlab.demo.simulate import US, Clean

RATE = 0.0005  # per anomaly kind: 1 in 2,000 events (7 kinds: 0.35% of rows in all)
MIN_EVENTS = 100  # smaller exports stay clean
KINDS: tuple[str, ...] = (
    "exact_duplicates", "conflicting_duplicates", "out_of_order", "sequence_gaps",
    "null_aggregate_id", "null_type", "null_timestamp",
)
# Payloads of these types name their own entity, so two of them always differ.
_CONFLICT_TYPES = ("OrderPlaced", "PaymentAuthorized", "OrderPaid", "ShipmentCreated",
                   "OrderShipped", "CustomerRegistered")
_CONFLICT_SLOTS = np.array([s.event_type in _CONFLICT_TYPES for s in cat.SLOTS])


@dataclass(frozen=True)
class Plan:
    """Output rows as indices into the clean log, plus per-row edits."""

    src: np.ndarray  # clean row giving id, envelope and metadata
    data_src: np.ndarray  # clean row giving the payload (differs for conflicting duplicates)
    ts: np.ndarray  # output timestamp, epoch microseconds
    arrival: np.ndarray  # original timestamp: the log order and the export's day partition
    null_aggregate: np.ndarray
    null_type: np.ndarray
    null_timestamp: np.ndarray
    counts: dict[str, int]


def planned_counts(events: int) -> dict[str, int]:
    """How many of each anomaly an export of `events` rows gets."""
    k = max(1, round(events * RATE)) if events >= MIN_EVENTS else 0
    return dict.fromkeys(KINDS, k)


def clean_size(events: int) -> int:
    """Clean rows to simulate so that, after gaps and duplicates, exactly `events` remain."""
    c = planned_counts(events)
    return events + c["sequence_gaps"] - c["exact_duplicates"] - c["conflicting_duplicates"]


def plant(clean: Clean, events: int, seed: int) -> Plan:
    """Choose the anomalies for a clean log and return the output rows."""
    want = planned_counts(events)
    rng = np.random.default_rng([seed, 7])
    m = len(clean.ts)
    n_streams = len(clean.stream_start)
    lengths = clean.stream_len
    used = np.zeros(n_streams, dtype=bool)
    perm = rng.permutation(n_streams)

    def pick(n: int, min_len: int) -> np.ndarray:
        chosen = perm[(lengths[perm] >= min_len) & ~used[perm]][:n]
        used[chosen] = True
        return chosen

    def row(streams: np.ndarray, version: np.ndarray) -> np.ndarray:
        return clean.by_stream[clean.stream_start[streams] + version - 1]

    s = pick(want["sequence_gaps"], 3)
    gaps = row(s, rng.integers(2, lengths[s]))  # a middle event: versions 1..L-1, then L
    s = pick(want["out_of_order"], 2)
    v = rng.integers(2, lengths[s] + 1)
    late, before_late = row(s, v), row(s, v - 1)
    s = pick(want["null_aggregate_id"], 1)
    null_agg = row(s, lengths[s])  # last of its stream: quarantining it leaves no gap
    s = pick(want["null_type"], 1)
    null_type = row(s, lengths[s])
    s = pick(want["null_timestamp"], 1)
    null_ts = row(s, lengths[s])
    s = pick(want["exact_duplicates"], 1)
    exact = row(s, rng.integers(1, lengths[s] + 1))
    conflict, donors = _conflicts(clean, want["conflicting_duplicates"], used, rng)

    kept = np.ones(m, dtype=bool)
    kept[gaps] = False
    keep = np.flatnonzero(kept)
    # A retry arrives a few rows after the original in the log.
    copies = np.concatenate([exact, conflict])
    at = np.searchsorted(keep, copies + rng.integers(1, 20, len(copies)), side="right")
    src = np.insert(keep, at, copies)
    data_src = np.insert(keep, at, np.concatenate([exact, donors]))
    arrival = clean.ts[src]
    skewed = clean.ts.copy()
    skewed[late] = clean.ts[before_late] - US - (rng.exponential(120, len(late)) * US).astype(
        np.int64)
    counts = {
        "exact_duplicates": len(exact), "conflicting_duplicates": len(conflict),
        "out_of_order": len(late), "sequence_gaps": len(gaps),
        "null_aggregate_id": len(null_agg), "null_type": len(null_type),
        "null_timestamp": len(null_ts),
    }

    def flagged(rows: np.ndarray) -> np.ndarray:
        flags = np.zeros(m, dtype=bool)
        flags[rows] = True
        return flags[src]

    return Plan(
        src=src, data_src=data_src, ts=skewed[src], arrival=arrival,
        null_aggregate=flagged(null_agg), null_type=flagged(null_type),
        null_timestamp=flagged(null_ts), counts=counts,
    )


def _conflicts(
    clean: Clean, n: int, used: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to re-emit under the same id with the payload of another event of the same type."""
    stream = np.empty(len(clean.ts), dtype=np.int64)
    stream[clean.by_stream] = np.repeat(np.arange(len(clean.stream_start)), clean.stream_len)
    eligible = np.flatnonzero(_CONFLICT_SLOTS[clean.slot])
    group = clean.slot[eligible].astype(np.int64) * 4 + clean.schema[eligible]
    cand = np.flatnonzero(~used[stream[eligible]])  # positions in `eligible`
    cand = cand[rng.permutation(len(cand))]
    _, first = np.unique(stream[eligible[cand]], return_index=True)  # one per stream
    cand = cand[np.sort(first)]
    by_group = np.argsort(group, kind="stable")
    sorted_group = group[by_group]
    lo = np.searchsorted(sorted_group, group[cand], side="left")
    hi = np.searchsorted(sorted_group, group[cand], side="right")
    ok = hi - lo >= 2
    cand, lo, hi = cand[ok][:n], lo[ok][:n], hi[ok][:n]
    used[stream[eligible[cand]]] = True
    rank = np.empty(len(eligible), dtype=np.int64)
    rank[by_group] = np.arange(len(eligible))
    pos = lo + rng.integers(0, hi - lo - 1)
    pos = np.where(pos >= rank[cand], pos + 1, pos)  # never the row itself
    return eligible[cand], eligible[by_group[pos]]
