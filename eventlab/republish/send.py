"""Sending a job's records: the per-record path of republish (docs/safety.md, items 25-28).

A chunk is marked `unknown` in the ledger (committed) before any of its records goes to the
producer; its outcomes are written after the broker answered, while the next chunk is being
sent. Ledger writes run on one writer thread (in order; DuckDB works outside the GIL), so the
sending thread mostly runs kafka-python. Sending stops at the first record the broker did not
acknowledge; what was not handed over stays `unsent`.

The records come out of DuckDB as they go out (`ledger.records_sql`: original headers plus
the provenance headers of `plan.provenance`), a range of plan positions at a time, the next
range read on a thread while one is sent (`_chunks`), so the per-record Python path zips two
lists and hands the record to the producer. Answers are taken as they arrive
(`producer.Outcomes.sweep`): no per-record object outlives its answer by much (docs/speed.md,
Republish: held futures drove the cyclic GC into full collections).
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.errors import SourceError
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.producer import ACKED, PENDING, Outcomes, RecordSender
from eventlab.republish import ledger
from eventlab.republish import plan as planning
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import Plan
from eventlab.store import db
from eventlab.store.eventstore import EventStore

CHUNK = 20_000
FIRST_CHUNK = 2_000
"""The first range's plan positions: the first send waits for one range's query, so it is
small; each range after it is twice the one before, up to CHUNK (docs/speed.md, Republish)."""
DELIVERY_TIMEOUT_S = 30.0
PRODUCER_SETTINGS = {"acks": "all", "enable_idempotence": True, "linger_ms": 20,
                     "batch_size": 262144}
"""The producer settings of a republish (bench/republish.py uses the same for its baseline)."""


SWEEP = 128
"""Records between two sweeps of the outcomes that have arrived (`producer.Outcomes`)."""


class _Chunk:
    __slots__ = ("ns", "outcomes", "planned")

    def __init__(self, planned: list[int]) -> None:
        self.planned = planned  # marked unknown before sending (the write-ahead)
        self.ns: list[int] = []
        self.outcomes = Outcomes()


def _outcomes(chunk: _Chunk, deadline_s: float) -> tuple[tuple[list, ...], int]:
    """Wait for a chunk's answers; its ledger rows (n, status, partition, offset, error) and
    how many were not acknowledged."""
    statuses, parts, offs, errors = chunk.outcomes.finish(deadline_s)
    bad = 0
    for i, state in enumerate(statuses):
        if state != ACKED:
            bad += 1
            if state == PENDING:
                statuses[i], errors[i] = ledger.UNKNOWN, f"no answer within {deadline_s:g} s"
    ns = list(chunk.ns)
    if len(chunk.planned) != len(ns):  # marked unknown but never handed to the producer
        handed = set(ns)
        for n in chunk.planned:
            if n not in handed:
                ns.append(n)
                statuses.append(ledger.UNSENT)
                parts.append(None)
                offs.append(None)
                errors.append(None)
    return (ns, statuses, parts, offs, errors), bad


def _write(store: EventStore, job_id: str, rows: tuple[list, ...],
           progress: Callable[[Counts], None] | None) -> None:
    with store.transaction() as cur:
        ledger.write_outcomes(cur, job_id, *rows)
    report_progress(store, job_id, progress)


def _mark(store: EventStore, job_id: str, first: int, last: int) -> None:
    with store.transaction() as cur:
        ledger.mark_range(cur, job_id, first, last, ledger.UNKNOWN)


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """Collections during a send walk only the objects made since it began.

    Every record makes short-lived objects (a future, its callbacks, header tuples) that set
    off the cyclic collector; a full collection walks the whole heap (the app's, the
    libraries'), 0.6-1.0 s of a 3 s job of 50k records. Freezing the heap at the start keeps
    those collections to the job's own objects; cycles made during the job are still
    collected, and the heap is handed back at the end (docs/speed.md, Republish).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def send(store: EventStore, config: KafkaConfig, plan: Plan, rate: float | None,
         cancel: threading.Event, progress: Callable[[Counts], None] | None,
         delivery_timeout_s: float) -> tuple[int, str | None]:
    """Send every unsent or failed record of the plan; (records handed over, error)."""
    with _frozen_heap():
        return _send(store, config, plan, rate, cancel, progress, delivery_timeout_s)


def _send(store: EventStore, config: KafkaConfig, plan: Plan, rate: float | None,
          cancel: threading.Event, progress: Callable[[Counts], None] | None,
          delivery_timeout_s: float) -> tuple[int, str | None]:
    """`send`'s body.

    Ledger writes run on one writer thread (in order; DuckDB works outside the GIL) while
    this thread sends: chunk k+1 is marked unknown while chunk k is sent, and no record of a
    chunk is sent before its mark is committed.
    """
    job_id = plan.job_id
    original_ts = plan.timestamp == planning.ORIGINAL
    senders: dict[str, RecordSender] = {}
    delivery_ms = int(delivery_timeout_s * 1000)  # > linger + request timeout (kafka-python)
    linger_ms = int(PRODUCER_SETTINGS["linger_ms"])
    options = {**PRODUCER_SETTINGS, "delivery_timeout_ms": delivery_ms,
               "request_timeout_ms": max(500, min(int(config.timeout_s * 1000),
                                                  (delivery_ms - linger_ms) // 2))}
    prov_keys = list(planning.PROVENANCE)
    sql, params = ledger.records_sql(job_id, int(time.time() * 1000), plan.actor, plan.reason,
                                     plan.dlq_header_prefix if plan.drop_dlq_headers else None,
                                     n_range=True)
    handed = 0
    error: str | None = None
    t0 = time.monotonic()
    previous: _Chunk | None = None
    writes: list[Future[None]] = []
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="republish-ledger")
    prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="republish-read")
    read_cur = store.cursor()  # used by the prefetch thread only
    try:
        # With a rate, a chunk is about a second of sending: the ledger moves every second.
        chunk_rows = CHUNK if not rate else max(50, min(CHUNK, int(rate)))
        with store.reading() as cur:
            span = ledger.to_send_span(cur, job_id)
        batches = _chunks(read_cur, sql, params, span, chunk_rows, prefetch, FIRST_CHUNK)

        def mark_next() -> tuple[pa.RecordBatch | None, Future[None] | None]:
            nxt = next(batches, None)
            if nxt is None:
                return None, None
            ns = nxt.column("n")
            return nxt, writer.submit(_mark, store, job_id, ns[0].as_py(), ns[-1].as_py())

        batch, marked = mark_next()
        while batch is not None and marked is not None:
            names = ["n", "target_partition", "key", "value", "null_header", "ts_ms", "missing"]
            one_target = pc.count_distinct(batch.column("target_topic")).as_py() == 1
            if not one_target:
                names.append("target_topic")
            cols = {c: _pylist(batch.column(c)) for c in names}
            if one_target:
                cols["target_topic"] = [batch.column("target_topic")[0].as_py()] * len(cols["n"])
            hkeys, hvalues, bounds = _header_columns(batch, prov_keys)
            marked.result()  # the write-ahead is committed: now this chunk may be sent
            batch, marked = mark_next()
            (ns, targets, tparts, keys, values, nulls, ts_col, missing) = (
                cols[c] for c in ("n", "target_topic", "target_partition", "key", "value",
                                  "null_header", "ts_ms", "missing"))
            chunk = _Chunk([n for n, m in zip(ns, missing, strict=True) if not m])
            handed_ns, sents = chunk.ns.append, chunk.outcomes.add
            any_missing = any(missing)
            sender: RecordSender | None = None
            sender_topic = None
            for i in range(len(ns)):
                if any_missing and missing[i]:
                    continue  # written as failed below
                if not i & 127 and cancel.is_set():
                    break
                if rate:
                    ahead = t0 + handed / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                if targets[i] != sender_topic:
                    sender_topic = targets[i]
                    sender = senders.get(sender_topic)
                    if sender is None:
                        sender = senders[sender_topic] = RecordSender(
                            config, sender_topic, plan.target_partitions[sender_topic],
                            **options)
                assert sender is not None
                try:
                    a, b = bounds[i], bounds[i + 1]
                    headers = list(zip(hkeys[a:b], hvalues[a:b], strict=True))
                    sent = sender.send(keys[i], values[i], headers,
                                       ts_col[i] if original_ts else None,
                                       partition=tparts[i], null_header=nulls[i])
                except SourceError as exc:  # not handed over: it stays unsent
                    error = f"sending stopped: {exc}"
                    break
                handed_ns(ns[i])
                sents(sent)
                handed += 1
                if not handed % SWEEP:  # answers read as they come: no futures pile up
                    if previous is not None:
                        previous.outcomes.sweep()
                    chunk.outcomes.sweep()
                if sender.failed:  # the broker refused or stopped answering: stop early
                    error = (f"the broker did not acknowledge every record "
                             f"({sender.first_error}); resume when it is back")
                    break
            gone = [n for n, m in zip(ns, missing, strict=True) if m]
            if gone:
                writes.append(writer.submit(_write, store, job_id, (
                    gone, [ledger.FAILED] * len(gone), [None] * len(gone), [None] * len(gone),
                    ["the source record is no longer in the store"] * len(gone)), None))
            if previous is not None:
                rows, bad = _outcomes(previous, delivery_timeout_s + 1)
                writes.append(writer.submit(_write, store, job_id, rows, progress))
                if bad and error is None:
                    error = "the broker did not acknowledge every record; resume when it is back"
            previous = chunk
            if error is not None or cancel.is_set():
                break
        if marked is not None:  # marked ahead but never sent: back to unsent
            marked.result()
            ns = batch.column("n") if batch is not None else None
            if ns is not None:
                first, last = ns[0].as_py(), ns[-1].as_py()
                writes.append(writer.submit(_unmark, store, job_id, first, last))
        if previous is not None:
            if error is None:  # else the broker already failed to answer in time
                for s in senders.values():
                    s.flush(delivery_timeout_s + 1)
            rows, bad = _outcomes(previous, delivery_timeout_s + 1 if error is None else 0.5)
            writes.append(writer.submit(_write, store, job_id, rows, None))
            if bad and error is None:
                error = "the broker did not acknowledge every record; resume when it is back"
    finally:
        writer.shutdown(wait=True)
        prefetch.shutdown(wait=True, cancel_futures=True)
        read_cur.close()
        for s in senders.values():
            with contextlib.suppress(Exception):  # after a broker loss: outcomes are written
                s.close(timeout_s=1.0)
    for w in writes:
        w.result()  # a failed ledger write raises here
    report_progress(store, job_id, progress)
    return handed, error


def _pylist(column: pa.Array) -> list:
    """A column as a Python list (numbers without nulls through numpy: much faster)."""
    if column.null_count == 0 and (pa.types.is_integer(column.type)
                                   or pa.types.is_boolean(column.type)):
        return column.to_numpy(zero_copy_only=False).tolist()
    return column.to_pylist()


def _header_columns(batch: pa.RecordBatch, prov_keys: list[str]
                    ) -> tuple[list[str], list[bytes | None], list[int]]:
    """Every record's header keys and values as two flat lists, and where each record's
    start: record i's headers are `zip(keys[bounds[i]:bounds[i + 1]], values[...])` (its
    original headers, then the provenance ones: `hvalues` holds both values, `hkeys` the
    original keys only). One pass over the chunk instead of a zip per record.

    Flat lists of str and bytes, not a list of (key, value) tuples: a chunk's ~15 tuples per
    record would live until the chunk is sent and push the cyclic GC into full collections
    (about a third of execute's CPU at 50k records); a record's tuples, made just before its
    send, die with it."""
    hkeys, hvalues = batch.column("hkeys"), batch.column("hvalues")
    key_offsets = hkeys.offsets.to_numpy()
    bounds = hvalues.offsets.to_numpy()
    bounds = bounds - bounds[0]
    own = np.diff(key_offsets)  # original headers per record
    flat_keys = np.array([*hkeys.flatten().to_pylist(), *prov_keys], dtype=object)
    # for each header value: its key's place in flat_keys (own keys, then the constant ones)
    row = np.repeat(np.arange(len(own)), np.diff(bounds))
    at = np.arange(bounds[-1]) - bounds[row]
    index = np.where(at < own[row], key_offsets[row] - key_offsets[0] + at,
                     len(flat_keys) - len(prov_keys) + at - own[row])
    return flat_keys[index].tolist(), hvalues.flatten().to_pylist(), bounds.tolist()


def _unmark(store: EventStore, job_id: str, first: int, last: int) -> None:
    with store.transaction() as cur:
        ledger.mark_range(cur, job_id, first, last, ledger.UNSENT, only=(ledger.UNKNOWN,))


def _chunks(cur: db.Connection, sql: str, params: list, span: tuple[int, int] | None,
            rows: int, prefetch: ThreadPoolExecutor, first_rows: int | None = None
            ) -> Iterator[pa.RecordBatch]:
    """The records to send (`ledger.records_sql` with `n_range`), in plan order, a range of
    plan positions at a time: `first_rows` (default `rows`) first, each range after it twice
    the one before, up to `rows`. Each range is read on `prefetch`'s thread while the one
    before it is sent (DuckDB works outside the GIL), so sending starts after one small
    range's query, not the whole job's, and the queries overlap the sending.

    A range is read before its write-ahead mark (`send`'s `mark_next` marks a batch after it
    came from here), and the next one, read meanwhile, holds other positions."""
    if span is None:
        return

    def read(first: int, size: int) -> pa.Table:
        return db.arrow(cur, sql, [*params, first, first + size - 1]).combine_chunks()

    size = max(1, min(rows, first_rows or rows))
    start = span[0]
    pending: Future[pa.Table] | None = prefetch.submit(read, start, size)
    while pending is not None:
        table = pending.result()
        start, size = start + size, min(rows, 2 * size)
        pending = prefetch.submit(read, start, size) if start <= span[1] else None
        if table.num_rows:  # a range of a resumed job may hold none
            yield from table.to_batches()  # one batch: the table was combined


def report_progress(store: EventStore, job_id: str,
                    progress: Callable[[Counts], None] | None) -> None:
    """Hand the job's current counts to `progress` (if any)."""
    if progress is not None:
        with store.reading() as cur:
            progress(ledger.counts(cur, job_id))
