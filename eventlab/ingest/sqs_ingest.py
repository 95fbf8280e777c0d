"""An EventLab tap queue into the store, exactly once: receive -> store (one transaction) -> delete.

Queues have no offsets. Each round receives up to `txn_messages` messages (batches of 10, long
poll), turns them into raw records (`aws.records`: SNS envelope or plain SQS body) and writes,
in ONE transaction, their events and quarantined records (the shared decoding and mapping of
Kafka and RabbitMQ: `ingest.framed`, `kafka_ingest.store_batch`), each message's dedup key in
`sqs_received` (SequenceNumber for FIFO, else the SNS or SQS MessageId) and the next offset per
(source, topic) in `ingest_offsets` (broker = `AwsConfig.broker_id`). Only after the commit
(and the `progress` call) are the messages deleted. A crash between the commit and the delete
leaves them in the queue: SQS delivers them again after the visibility timeout, and the next
run finds their keys and deletes them without storing anything twice.

Only EventLab's own taps are drained: draining someone else's queue takes its messages from its
consumers. A dead-letter queue is drained only with explicit consent (`drain_dead_letters=True`,
`eventlab ingest-sqs --drain-dead-letters`): it must be some queue's DLQ (its redrive policy
names it), and its messages are deleted from it once they are stored, exactly as a tap's.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from queue import Empty
from typing import Any, Literal

import pyarrow as pa

from eventlab.aws.clients import sqs
from eventlab.aws.config import AwsConfig
from eventlab.aws.receive import MAX_BATCH, SqsMessage, delete, receive
from eventlab.aws.records import RawSqsRecord, to_record
from eventlab.aws.taps import PREFIX, Tap, find_tap
from eventlab.errors import SourceError
from eventlab.ingest import framed
from eventlab.ingest.broker_report import BrokerIngestReport
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.offsets import save_positions, stored_positions
from eventlab.kafka.reader import RAW_SCHEMA
from eventlab.schemas.catalog import SchemaCatalog, build_catalog
from eventlab.store import db
from eventlab.store.eventstore import EventStore

SqsUntil = Literal["empty", "follow"] | int
TXN_MESSAGES = 200
"""Messages received before one transaction is written (fewer when the queue runs dry)."""
KEEP_KEYS_DAYS = 15
"""Dedup keys older than SQS's longest retention (14 days) cannot come back; they are pruned."""


def parse_until(text: str) -> SqsUntil:
    """`empty` (default) | `follow` | a message count."""
    if text in ("empty", "follow"):
        return text  # type: ignore[return-value]
    try:
        count = int(text)
    except ValueError:
        raise SourceError(f"--until must be empty, follow or a count, not {text!r}") from None
    if count < 1:
        raise SourceError("--until COUNT must be at least 1")
    return count


@dataclass(kw_only=True)
class SqsIngestReport(BrokerIngestReport):
    """What one drain did; `to_dict` is the CLI's `--json` object."""

    queue: str
    broker: str
    tap_of: str = ""
    deleted: int = 0
    not_deleted: int = 0

    def summary(self) -> str:
        """Human lines for the terminal and the UI."""
        lines = [f"{self.records_read:,} messages received from {self.queue}"
                 + (f" ({self.tap_of})" if self.tap_of.startswith("dead letters") else
                    f" (tap of {self.tap_of})" if self.tap_of else "")
                 + f": {self.stored_text()}, {self.deleted:,} deleted "
                 f"({self.seconds:.1f} s, {self.rate():,.0f} messages/s). "
                 f"Stopped: {self.stopped_because}."]
        if self.not_deleted:
            lines.append(f"{self.not_deleted:,} stored message(s) could not be deleted: they "
                         "come back after the visibility timeout and are skipped then.")
        return "\n".join([*lines, *self.mapping_lines(),
                          *self.error_lines("received", "go on")])


def refuse_unless_tap(config: AwsConfig, queue: str, client: Any = None, *,
                      drain_dead_letters: bool = False) -> Tap:
    """The tap named `queue`; with `drain_dead_letters`, a dead-letter queue (named as a `Tap`
    whose `topic_arn` says whose dead letters it holds); any other queue is refused."""
    tap = find_tap(config, queue, client)
    if tap is None and drain_dead_letters:
        from eventlab.aws.queues import dead_letter_sources, queue_name, resolve_url

        url = resolve_url(config, queue, client)
        sources = dead_letter_sources(config, url)
        if not sources:
            raise SourceError(
                f"{queue_name(url)!r} is no queue's dead-letter queue (no redrive policy names "
                "it): only an EventLab tap or a dead-letter queue is drained")
        return Tap(queue_name(url), url, "dead letters of " + ", ".join(
            queue_name(u) for u in sources[:5]), "", queue_name(url).endswith(".fifo"))
    if tap is None:
        raise SourceError(
            f"{queue!r} is not an EventLab tap queue ({PREFIX}..., made by `eventlab tap-sns`): "
            "draining it would take its messages away from its own consumers. Tap the topic "
            "that feeds it instead; a dead-letter queue is drained only with explicit consent "
            "(`--drain-dead-letters`: its messages are deleted from it once stored).")
    return tap


class _Receiver(threading.Thread):
    """Receives batches while the caller stores and deletes the ones before (the endpoint's
    answer time overlaps DuckDB's work). Puts ("batch", [msg]), ("empty", None), ("done",
    why), ("error", exc) and finally ("end", None) on `out`; never receives more than a COUNT
    `until` asks for, nor more than `ahead` batches beyond what was taken."""

    def __init__(self, client: Any, url: str, until: SqsUntil, wait_s: int,
                 visibility_s: int, ahead: int) -> None:
        super().__init__(name=f"sqs-receive {url.rsplit('/', 1)[-1]}", daemon=True)
        self.client, self.url, self.until = client, url, until
        self.wait_s, self.visibility_s = wait_s, visibility_s
        self.out: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)
        self.stop = threading.Event()
        self.handled = 0
        self.calls = threading.Lock()
        """Held by each receive and delete: one call on the queue at a time (the store's work
        overlaps the receive; the local emulator loses FIFO messages to concurrent calls)."""
        """Messages the caller has stored and deleted (or failed to delete) so far."""

    def _put(self, item: tuple[str, Any]) -> None:
        while True:
            try:
                self.out.put(item, timeout=0.2)
                return
            except queue.Full:
                if self.stop.is_set() and item[0] != "batch":
                    return

    def run(self) -> None:
        received = 0
        try:
            while not self.stop.is_set():
                want = MAX_BATCH if not isinstance(self.until, int) else \
                    min(MAX_BATCH, self.until - received)
                if want <= 0:
                    self._put(("done", f"{self.until} messages"))
                    return
                with self.calls:
                    batch = receive(self.client, self.url, max_messages=want,
                                    wait_s=self.wait_s, visibility_s=self.visibility_s)
                if batch:
                    received += len(batch)
                    self._put(("batch", batch))  # taken even after stop: stored, not lost
                elif received > self.handled:
                    # A FIFO queue hides a group while one of its messages is in flight: nothing
                    # received says "empty" only once ours are stored and deleted.
                    while received > self.handled and not self.stop.wait(0.05):
                        pass
                else:
                    self._put(("empty", None))
                    if self.until == "empty":
                        return
        except SourceError as exc:
            self._put(("error", exc))
        finally:
            self._put(("end", None))


def ingest_sqs(store: EventStore, config: AwsConfig, queue: str, *, until: SqsUntil = "empty",
               spec: MappingSpec | None = None,
               progress: Callable[[SqsIngestReport], None] | None = None,
               cancel: threading.Event | None = None, txn_messages: int = TXN_MESSAGES,
               wait_s: int = 2, visibility_s: int = 60,
               schemas: SchemaCatalog | None = None,
               drain_dead_letters: bool = False) -> SqsIngestReport:
    """Drain the tap `queue` (name or URL) into the store until `until` (see the module).

    `progress` is called after each commit, before its messages are deleted. Raises when the
    queue is refused or fails before anything was received; after that a source error ends the
    run with `error` and `partial` set, everything stored before it kept. Messages received
    before a cancel are stored and deleted before it returns.
    """
    client = sqs(config)
    tap = refuse_unless_tap(config, queue, client, drain_dead_letters=drain_dead_letters)
    spec = spec or MappingSpec()
    catalog = schemas or build_catalog(store)
    cancel = cancel or threading.Event()
    report = SqsIngestReport(queue=tap.url, broker=config.broker_id, tap_of=tap.topic_arn)
    started = time.perf_counter()
    store.ensure_entity_index()
    with store.transaction() as cur:
        cur.execute("DELETE FROM sqs_received WHERE received_at < now() - to_days(?)",
                    [KEEP_KEYS_DAYS])
    receiver = _Receiver(client, tap.url, until, wait_s, visibility_s,
                         ahead=max(2, txn_messages // MAX_BATCH))
    receiver.start()
    ended = False
    try:
        while not ended:
            try:
                items = [receiver.out.get(timeout=0.2)]
            except Empty:
                if cancel.is_set():
                    receiver.stop.set()
                continue
            got: list[SqsMessage] = []
            while True:  # what is waiting, up to one transaction's worth
                kind, item = items[-1]
                if kind == "batch":
                    got += item
                    report.caught_up = False
                elif kind == "empty":
                    report.caught_up = True
                    report.stopped_because = "queue empty" if until == "empty" else ""
                elif kind == "done":
                    report.stopped_because = item
                elif kind == "error":
                    if report.records_read == 0 and not got:
                        raise item
                    report.error, report.partial, report.stopped_because = \
                        str(item), True, "error"
                else:
                    ended = True
                if ended or len(got) >= txn_messages:
                    break
                try:
                    items.append(receiver.out.get_nowait())
                except Empty:
                    break
            if got:
                _store(store, tap.url, got, spec, catalog, report)
                report.seconds = round(time.perf_counter() - started, 3)
                if progress:
                    progress(report)
                with receiver.calls:
                    failed = delete(client, tap.url, got)
                report.deleted += len(got) - len(failed)
                report.not_deleted += len(failed)
                receiver.handled += len(got)
            elif report.caught_up and progress:
                progress(report)
            if cancel.is_set():
                receiver.stop.set()
        if cancel.is_set() and not report.error:
            report.stopped_because = "cancelled"
    except KeyboardInterrupt:
        report.stopped_because, report.partial = "interrupted", True
    finally:
        receiver.stop.set()
        receiver.join(timeout=wait_s + 2 * config.timeout_s + 1)
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def _table(records: list[RawSqsRecord], offsets: list[int]) -> pa.Table:
    return pa.Table.from_arrays([
        pa.array([r.topic for r in records], pa.string()),
        pa.array([0] * len(records), pa.int32()),
        pa.array(offsets, pa.int64()),
        pa.array([r.key for r in records], pa.binary()),
        pa.array([r.value for r in records], pa.binary()),
        pa.array([[{"key": k, "value": v} for k, v in r.headers] for r in records],
                 RAW_SCHEMA.field("headers").type),
        pa.array([r.timestamp_ms for r in records], pa.int64()),
        pa.array([1] * len(records), pa.int8()),  # broker time (SNS Timestamp, SentTimestamp)
        pa.array([len(r.value) for r in records], pa.int32()),
    ], schema=RAW_SCHEMA)


def _store(store: EventStore, url: str, messages: list[SqsMessage], spec: MappingSpec,
           catalog: SchemaCatalog, report: SqsIngestReport) -> None:
    """Store one round's messages, their dedup keys and positions in one transaction."""
    now_ms = int(time.time() * 1000)
    records = [to_record(m, url, now_ms=now_ms) for m in messages]
    broker = report.broker
    with store.transaction() as cur:
        seen = {r[0] for r in db.rows(
            cur, "SELECT dedup_key FROM sqs_received WHERE broker = ? AND queue = ? AND "
                 "list_contains(?, dedup_key)", [broker, url, [r.dedup_key for r in records]])}
        fresh: list[RawSqsRecord] = []
        for r in records:
            if r.dedup_key not in seen:
                seen.add(r.dedup_key)
                fresh.append(r)
        report.rows_skipped_duplicate += len(records) - len(fresh)
        keys: list[tuple[str, str, str, int]] = []
        for source in sorted({r.source for r in fresh}):
            rows = [r for r in fresh if r.source == source]
            topics = sorted({r.topic for r in rows})
            next_at = {t: n for (t, _p), n in stored_positions(
                cur, topics, source=source, broker=broker).items()}
            offsets = []
            for r in rows:
                offsets.append(next_at.get(r.topic, 0))
                next_at[r.topic] = offsets[-1] + 1
                keys.append((r.dedup_key, source, r.topic, offsets[-1]))
            table = framed.decode_table(_table(rows, offsets), catalog)
            (stored, quarantined, _t), mappings = store_batch(
                cur, table, spec, catalog, dedupe=False, source=source, broker=broker)
            save_positions(cur, {(t, 0): n for t, n in next_at.items()}, source=source,
                           broker=broker)
            report.rows_stored += stored
            report.rows_quarantined += quarantined
            report.positions.update({f"{source}:{t}/0": n for t, n in next_at.items()})
            for topic, modes in mappings.items():
                for mode, mapping in modes.items():
                    report.mappings.setdefault(topic, {}).setdefault(mode, mapping.to_dict())
        if keys:
            db.register(cur, "__sqs_keys", pa.table({
                "dedup_key": [k[0] for k in keys], "source": [k[1] for k in keys],
                "topic": [k[2] for k in keys], "offset": pa.array([k[3] for k in keys],
                                                                   pa.int64())}))
            try:
                cur.execute('INSERT INTO sqs_received (broker, queue, dedup_key, source, topic, '
                            '"offset") SELECT ?, ?, dedup_key, source, topic, "offset" '
                            "FROM __sqs_keys", [broker, url])
            finally:
                db.unregister(cur, "__sqs_keys")
    report.records_read += len(records)
