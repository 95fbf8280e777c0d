"""RabbitMQ streams into the store: resumable, exactly once per (broker, stream, offset).

`rabbitmq.streams.StreamReader` hands over raw batches (Kafka's raw-record shape) with the
next offset of each stream; each batch is decoded by the same code as Kafka's
(`ingest.framed`, `kafka_ingest.store_batch`: envelope JSON, CloudEvents binary and
structured mode, schema-registry framing) and written with its positions in ONE
transaction. Positions are stored per broker (`RabbitConfig.broker_id`), never on the
broker: a run killed anywhere resumes from `ingest_offsets` with no gap and no duplicate.
A super stream's partitions (`super_streams`) are read as partitions of one topic: topic =
the super stream, partition = the index, offset = the partition stream's offset; positions
per partition, with the same guarantee (`rabbitmq.superstreams`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from eventlab.ingest import framed
from eventlab.ingest.broker_report import BrokerIngestReport
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.offsets import save_positions, stored_positions
from eventlab.kafka.positions import TP, tp_text
from eventlab.rabbitmq import superstreams
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.reader_proc import StreamReaderProcess
from eventlab.rabbitmq.streams import StreamStart, StreamUntil
from eventlab.schemas.catalog import SchemaCatalog, build_catalog
from eventlab.store.eventstore import EventStore

SOURCE = "rabbitmq"
TXN_RECORDS = 100_000
"""Batches waiting while one is written are stored together, up to this many records."""


@dataclass(kw_only=True)
class StreamIngestReport(BrokerIngestReport):
    """What one stream ingest did; `to_dict` is the CLI's `--json` object."""

    streams: list[str]
    broker: str
    resumed_from: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """Human lines for the terminal and the UI."""
        return "\n".join([
            f"{self.records_read:,} messages read from {', '.join(self.streams)} on "
            f"{self.broker}: {self.stored_text()} ({self.seconds:.1f} s, "
            f"{self.rate():,.0f} messages/s). Stopped: {self.stopped_because}.",
            *self.position_lines(), *self.mapping_lines(), *self.error_lines()])


def ingest_streams(store: EventStore, config: RabbitConfig, streams: list[str], *,
                   start: StreamStart = "first", until: StreamUntil = "end",
                   spec: MappingSpec | None = None,
                   progress: Callable[[StreamIngestReport], None] | None = None,
                   cancel: threading.Event | None = None, batch_records: int = 20_000,
                   schemas: SchemaCatalog | None = None,
                   super_streams: Sequence[str] = ()) -> StreamIngestReport:
    """Read streams (and the partitions of `super_streams`) into the store until `until`;
    stored positions win over `start`.

    Raises when the source fails before anything was read (refused, login, vhost, unknown
    stream); after that a source error ends the run with `error` and `partial` set and
    everything read before it stored.
    """
    spec = spec or MappingSpec()
    catalog = schemas or build_catalog(store)
    cancel = cancel or threading.Event()
    broker = config.broker_id
    report = StreamIngestReport(streams=[*streams, *super_streams], broker=broker)
    started = time.perf_counter()
    labels = {name: (s, i) for s in super_streams
              for i, name in enumerate(superstreams.partitions(config, s))}
    store.ensure_entity_index()
    with store.reading() as cur:
        stored = stored_positions(cur, report.streams, source=SOURCE, broker=broker)
    by_label = {label: name for name, label in labels.items()}
    resume = {by_label.get((topic, p), topic): n for (topic, p), n in stored.items()
              if (topic, p) in by_label or (topic in streams and p == 0)}
    report.resumed_from = {tp_text(tp): n for tp, n in stored.items()}
    report.positions = dict(report.resumed_from)
    reader = StreamReaderProcess(config, [*streams, *labels], start=start, until=until,
                                 resume=resume, batch_records=batch_records, labels=labels)
    pending: list[pa.Table] = []
    pending_positions: dict[TP, int] = {}

    def flush() -> None:
        if pending:
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            _write_batch(store, table, dict(pending_positions), spec, report, catalog, broker)
            pending.clear()
            pending_positions.clear()
            report.seconds = round(time.perf_counter() - started, 3)
            if progress:
                progress(report)

    try:
        for kind, item, pos in reader:
            if kind != "batch":
                flush()
            if kind == "batch":
                report.caught_up = False
                pending.append(item)
                pending_positions.update(pos)
                # one transaction for what has piled up while the last one was written
                if not reader.waiting() or sum(t.num_rows for t in pending) >= TXN_RECORDS \
                        or cancel.is_set():
                    flush()
            elif kind == "idle":
                report.caught_up = True
                if progress:
                    progress(report)
            elif kind == "done":
                report.stopped_because = item
                break
            else:
                if report.records_read == 0 and not report.resumed_from:
                    raise item
                report.error = str(item)
                report.partial = True
                report.stopped_because = "error"
                break
            if cancel.is_set():
                report.stopped_because = "cancelled"
                break
        else:
            flush()
    except KeyboardInterrupt:
        report.stopped_because = "interrupted"
        report.partial = True
    finally:
        reader.stop()
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_batch(store: EventStore, table: pa.Table, positions: dict[TP, int],
                 spec: MappingSpec, report: StreamIngestReport, catalog: SchemaCatalog,
                 broker: str) -> None:
    """Decode one raw batch and store it with the streams' next offsets, atomically."""
    table = framed.decode_table(table, catalog)
    with store.transaction() as cur:
        (stored, quarantined, _tombstones), mappings = store_batch(
            cur, table, spec, catalog, source=SOURCE, broker=broker)
        save_positions(cur, positions, source=SOURCE, broker=broker)
    report.records_read += table.num_rows
    report.rows_stored += stored
    report.rows_quarantined += quarantined
    report.rows_skipped_duplicate += table.num_rows - stored - quarantined
    report.positions.update({tp_text(tp): n for tp, n in positions.items()})
    for stream, modes in mappings.items():
        for mode, mapping in modes.items():
            report.mappings.setdefault(stream, {}).setdefault(mode, mapping.to_dict())
