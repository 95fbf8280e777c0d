"""Kafka into the store: resumable, exactly once per (topic, partition, offset).

A reader process polls raw batches (`kafka.reader_proc`, so kafka-python's pure-Python parsing and
DuckDB never wait for one GIL) while this process decodes them inside DuckDB and writes the
events, the quarantined records and the next offset of each partition in ONE transaction.
A run that dies (error, cancel, SIGKILL) leaves the store at a
batch boundary; the next run resumes from `ingest_offsets`: no gap, no duplicate.

Schema-registry framed records (Avro, Protobuf, JSON Schema) are decoded by the reader process
with the schemas the store and the folder hold (`SchemaCatalog.known`, sent in its request)
and those fetched from the registry during the run (sent as they come); the records of other
ids are decoded by the thread that receives the batches (`framed.complete`, with the registry
if one is set). The schemas fetched are saved in the same transaction as the events.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from eventlab.ingest import framed, kafka_mapping, republished
from eventlab.ingest.broker_report import BrokerIngestReport
from eventlab.ingest.canonical_sql import event_exprs, record_position, seq_number
from eventlab.ingest.mapping import MappingSpec
from eventlab.ingest.offsets import kafka_broker_id, save_positions, stored_positions
from eventlab.ingest.txn_cut import Pending, whole_groups
from eventlab.kafka.config import KafkaConfig
from eventlab.kafka.positions import TP, Start, Until, tp_text
from eventlab.kafka.reader_proc import ReaderProcess
from eventlab.schemas.catalog import SchemaCatalog, build_catalog
from eventlab.store import db
from eventlab.store.db import ROW_GROUP_ROWS
from eventlab.store.eventstore import EventStore
from eventlab.store.schema import WRITTEN_COLUMNS
from eventlab.store.sql import column_list, quote_literal

BATCH_RECORDS = 20_000
TXN_RECORDS = 250_000


@dataclass(kw_only=True)
class KafkaIngestReport(BrokerIngestReport):
    """What one Kafka ingest did; `to_dict` is the CLI's `--json` object."""

    topics: list[str]
    tombstones: int = 0
    resumed_from: dict[str, int] = field(default_factory=dict)
    isolation_level: str = "read_committed"
    schema_records: dict[int, int] = field(default_factory=dict)
    """Schema-registry records per schema id (values and keys)."""
    schema_error: str | None = None
    """Why the schema registry could not be used (its records wait in the quarantine)."""

    def summary(self) -> str:
        """Human lines for the terminal and the UI."""
        lines = [f"{self.records_read:,} records read from {', '.join(self.topics)} "
                 f"({self.isolation_level}): {self.stored_text()}, {self.tombstones:,} "
                 f"tombstones ({self.seconds:.1f} s, {self.rate():,.0f} records/s). "
                 f"Stopped: {self.stopped_because}.",
                 *self.position_lines(), *self.mapping_lines()]
        if self.schema_records:
            lines.append("schema-registry records per schema id: " + ", ".join(
                f"{k}={v:,}" for k, v in sorted(self.schema_records.items())))
        if self.schema_error:
            lines.append(f"SCHEMA REGISTRY: {self.schema_error}")
        return "\n".join([*lines, *self.error_lines()])


def ingest_kafka(store: EventStore, config: KafkaConfig, topics: list[str], *,
                 start: Start = "earliest", until: Until = "end",
                 spec: MappingSpec | None = None,
                 progress: Callable[[KafkaIngestReport], None] | None = None,
                 cancel: threading.Event | None = None,
                 batch_records: int = BATCH_RECORDS, txn_records: int = TXN_RECORDS,
                 isolation_level: str = "read_committed",
                 schemas: SchemaCatalog | None = None) -> KafkaIngestReport:
    """Read topics into the store until `until`.

    Raises when the source fails before anything was read (unreachable broker, unknown topic,
    offset out of range); after that, a source error ends the run with `error` and `partial`
    set in the report and everything read before it stored. Batches are written in
    transactions of about `txn_records` records cut on whole row groups (`ingest.txn_cut`),
    or what arrived within a second.
    `schemas` finds the schemas of framed records (default: the store's `schemas` table and
    the registry of EVENTLAB_SCHEMA_REGISTRY_URL, if set).
    """
    spec = spec or MappingSpec()
    catalog = schemas or build_catalog(store)
    cancel = cancel or threading.Event()
    finished = threading.Event()  # ours: the caller's `cancel` is only read, never set
    report = KafkaIngestReport(topics=list(topics), isolation_level=isolation_level)
    started = time.perf_counter()
    store.ensure_entity_index()  # Kafka rows are not clustered by entity (store.schema)
    broker = kafka_broker_id(config.bootstrap)
    with store.reading() as cur:
        resume = stored_positions(cur, topics, broker=broker)
    report.resumed_from = {tp_text(tp): n for tp, n in resume.items()}
    report.positions = dict(report.resumed_from)
    items: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=16)
    known = catalog.known()
    sent = {s.id for s in known}
    child = ReaderProcess(config, list(topics), start=start, until=until, resume=resume,
                          isolation_level=isolation_level, batch_records=batch_records,
                          schemas=known)

    def decode(table: pa.Table) -> pa.Table:
        """The reader's batch finished here; schemas fetched for it go to the reader."""
        table = framed.complete(table, catalog)
        fresh = [s for i, s in catalog.in_memory().items() if i not in sent]
        if fresh:
            child.send_schemas(fresh)
            sent.update(s.id for s in fresh)
        return table

    def feed() -> None:
        for item in child:
            if item[0] == "batch":
                try:
                    item = ("batch", decode(item[1]), item[2])
                except Exception as exc:  # noqa: BLE001 - reported like a source error
                    item = ("error", exc, None)
            while not finished.is_set():
                try:
                    items.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue
            if item[0] not in ("batch", "idle") or cancel.is_set() or finished.is_set():
                break

    thread = threading.Thread(target=feed, name="eventlab-kafka-feed", daemon=True)
    thread.start()
    pending: Pending = []
    first_at = 0.0
    # Transactions of at least a row group hold whole row groups (`ingest.txn_cut`); smaller
    # ones (tests, --txn-records) are not cut.
    unit = ROW_GROUP_ROWS if txn_records >= ROW_GROUP_ROWS else 1

    def flush(whole: bool = False) -> None:
        nonlocal pending, first_at
        head, pending = whole_groups(pending, unit) if whole else (pending, [])
        first_at = time.perf_counter()
        if head:
            tables = [t for t, _ in head]
            positions: dict[TP, int] = {}
            for _, p in head:
                positions.update(p)
            table = (pa.concat_tables(tables, promote_options="default") if len(tables) > 1
                     else tables[0])
            _write_batch(store, table, positions, spec, report, catalog, broker)
            report.seconds = round(time.perf_counter() - started, 3)
            if progress:
                progress(report)

    try:
        while True:
            try:
                kind, item, pos = items.get(timeout=0.2)
            except queue.Empty:
                if pending and time.perf_counter() - first_at > 1.0:
                    # What came within a second (a slow source); whole row groups first.
                    flush(whole=sum(t.num_rows for t, _ in pending) >= 2 * unit)
                if cancel.is_set():
                    report.stopped_because = "cancelled"
                    break
                continue
            if kind == "idle":
                if not pending and not report.caught_up:
                    report.caught_up = True
                    report.seconds = round(time.perf_counter() - started, 3)
                    if progress:
                        progress(report)
                continue
            if kind == "batch":
                report.caught_up = False
                if not pending:
                    first_at = time.perf_counter()
                pending.append((item, pos))
                rows = sum(t.num_rows for t, _ in pending)
                # Full transactions, or the whole row groups that have come when nothing else
                # waits (an idle writer is wasted: they would otherwise be written after the
                # read).
                if cancel.is_set():
                    flush()
                elif not report.records_read and rows >= txn_records // 4 and items.empty():
                    flush()  # the first: one short row group, not merged (`ingest.txn_cut`)
                elif rows >= txn_records or (rows >= max(txn_records // 4, 2 * unit)
                                             and items.empty()):
                    flush(whole=True)
                continue
            flush()
            if kind == "done":
                report.stopped_because = "cancelled" if cancel.is_set() else item
            else:
                if report.records_read == 0 and not report.resumed_from:
                    raise item
                report.error = str(item)
                report.partial = True
                report.stopped_because = "error"
            break
    except KeyboardInterrupt:
        report.stopped_because = "interrupted"
        report.partial = True
    finally:
        finished.set()
        child.stop()
        thread.join(timeout=10)
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_batch(store: EventStore, table: pa.Table, positions: dict[TP, int],
                 spec: MappingSpec, report: KafkaIngestReport,
                 catalog: SchemaCatalog | None = None, broker: str = "") -> None:
    """Decode one raw batch and store it with the partitions' next offsets, atomically."""
    with store.transaction() as cur:
        counts, mappings = store_batch(cur, table, spec, catalog, broker=broker)
        save_positions(cur, positions, broker=broker)
    stored, quarantined, tombstones = counts
    report.records_read += table.num_rows
    report.rows_stored += stored
    report.rows_quarantined += quarantined
    report.rows_skipped_duplicate += table.num_rows - stored - quarantined
    report.tombstones += tombstones
    report.positions.update({tp_text(tp): n for tp, n in positions.items()})
    for topic, modes in mappings.items():
        for mode, mapping in modes.items():
            report.mappings.setdefault(topic, {}).setdefault(mode, mapping.to_dict())
    if catalog is not None:
        report.schema_records = dict(catalog.records)
        report.schema_error = catalog.registry_error


def store_batch(cur: db.Connection, table: pa.Table, spec: MappingSpec,
                catalog: SchemaCatalog | None = None, *, dedupe: bool | None = None,
                source: str = "kafka", broker: str | None = None
                ) -> tuple[tuple[int, int, int], dict[str, dict[str, Any]]]:
    """Map a raw batch (with `ingest.framed`'s columns if it has framed records) and insert
    its events and quarantined records, inside the caller's transaction. Returns (stored,
    quarantined, tombstones) and the mappings used. Records already stored are skipped
    (`dedupe`: check every record; default: only when the batch is below a stored position
    of `broker`). `source` names the adapter ('kafka', 'rabbitmq') in the rows written."""
    is_framed = "decoded" in table.column_names
    db.register(cur, "__kb", table)
    try:
        sel, mappings = kafka_mapping.decoded_batch(cur, "__kb", spec, framed=is_framed,
                                                    raw=table)
        text = f"SELECT * REPLACE ({_FRAMED_REPLACE}) FROM ({sel.text})" if is_framed \
            else sel.text
        if republished.present(table):  # EventLab's own copies link to their originals
            text = republished.link_copies(text)
        # One group (topic, mode) maps the batch row for row, in order: the raw bytes stay
        # in the Arrow batch and are joined back by position, not copied into `__kc`.
        slim = sum(len(m) for m in mappings.values()) == 1
        if slim:
            text = f"SELECT * EXCLUDE ({_RAW_COLUMNS}) FROM ({text})"
        cur.execute(f"CREATE OR REPLACE TEMP TABLE __kc AS {text}", sel.params)
        if catalog is not None:
            catalog.save_pending(cur)
        rows = (f"(SELECT __kc.rowid AS __rid, * FROM __kc POSITIONAL JOIN (SELECT "
                f"{_RAW_COLUMNS} FROM __kb))" if slim else "(SELECT rowid AS __rid, * FROM __kc)")
        seen = _already_stored(cur, source, broker) if dedupe is None else dedupe
        derive = bool(db.scalar(cur, "SELECT count(*) FROM __kc WHERE __reason IS NULL AND "
                                     "seq_src IS NULL"))
        ordered = table.num_rows >= ROW_GROUP_ROWS  # written straight to row groups
        stored = db.rows(cur, _insert_events(seen, derive, source, broker, rows, ordered),
                         [source])[0][0]
        quarantined = db.rows(cur, _insert_quarantine(bool(seen), is_framed, rows),
                              [source])[0][0]
    finally:
        db.unregister(cur, "__kb")
    tombstones = db.scalar(cur, "SELECT count(*) FROM __kc WHERE __tombstone AND "
                                "__reason IS NULL")
    cur.execute("DROP TABLE __kc")
    return (stored, quarantined, tombstones), mappings


_RAW_COLUMNS = "key, value, headers"
"""The raw record's bytes the stored rows keep (for republish), copied once."""


# A framed record's schema id and type go into its metadata (Explore shows them); a record
# that could not be decoded takes the decoding's reason over the mapping's.
_FRAMED_REPLACE = (
    "CASE WHEN schema_id IS NULL AND key_schema_id IS NULL THEN metadata ELSE "
    "json_merge_patch(coalesce(metadata, CAST('{}' AS JSON)), json_object('schema_id', "
    "schema_id, 'schema_type', schema_type, 'key_schema_id', key_schema_id)) END AS metadata, "
    "coalesce(__schema_reason, __reason) AS __reason, "
    "CASE WHEN __schema_reason IS NULL THEN __detail ELSE __schema_detail END AS __detail")


def _already_stored(cur: db.Connection, source: str, broker: str | None) -> bool:
    """True when some record of this batch may be stored already (a re-read below a stored
    position of this source and broker, or any broker's when None), so the inserts must skip
    what is there."""
    return bool(db.scalar(
        cur, "SELECT count(*) FROM __kc c JOIN ingest_offsets o ON o.topic = c.topic AND "
             "o.\"partition\" = c.\"partition\" WHERE c.\"offset\" < o.next_offset AND "
             "o.source = ? AND (? IS NULL OR o.broker IN (?, ''))", [source, broker, broker]))


_DEDUPE = (" AND NOT EXISTS (SELECT 1 FROM {table} e WHERE e.source = $1 AND "
           "e.topic = c.topic AND "
           "e.\"partition\" = c.\"partition\" AND e.\"offset\" = c.\"offset\")")


def _insert_events(dedupe: bool, derive_seq: bool, source: str = "kafka",
                   broker: str | None = None, rows: str = "__kc", ordered: bool = False) -> str:
    """INSERT of the good mapped rows (`rows`: `__kc` or `__kc` with the raw columns joined,
    each with `__rid`, the `__kc` rowid). A derived seq is numbered in a narrow subquery of
    `__kc` (`seq_number` over the same rows) joined back by rowid."""
    position = record_position(_id_prefix(source, broker))
    keep = " WHERE c.__reason IS NULL" + (_DEDUPE.format(table="events") if dedupe else "")
    join = (" LEFT JOIN (SELECT entity_id, max(seq) AS max_seq FROM events WHERE entity_id IN "
            "(SELECT entity_id FROM __kc) GROUP BY ALL) prev ON prev.entity_id = c.entity_id"
            f" LEFT JOIN (SELECT c.rowid AS __rid, {seq_number(position)} AS __n FROM __kc c"
            f"{keep}) n ON n.__rid = c.__rid" if derive_seq else "")
    columns = [*event_exprs(position, derive_seq, derive_seq, "n.__n"), "$1", "c.topic",
               'c."partition"', 'c."offset"', "c.key", "c.value", _HEADERS,
               "to_timestamp(c.timestamp_ms / 1000.0)", "c.timestamp_type", "c.ts_assumed_utc"]
    # `ordered`, in batch order: a large parallel insert can end in two short row groups,
    # which the checkpoint then merges with their neighbours (`ingest.txn_cut`). A small one
    # goes through the WAL into the last row group, where the order costs and buys nothing.
    order = " ORDER BY c.__rid" if ordered else ""
    return (f"INSERT INTO events ({column_list(WRITTEN_COLUMNS)}) SELECT * FROM (SELECT "
            f"{', '.join(columns)} FROM {rows} c{join}{keep}{order})")


def _id_prefix(source: str, broker: str | None) -> str:
    """SQL text of the derived event id's prefix: Kafka's as it always was, other sources
    with their broker (two brokers' stream offsets are different events)."""
    if source == "kafka":
        return "'kafka:'"
    return quote_literal(f"{source}:{broker or ''}:")


_HEADERS = "CASE WHEN len(c.headers) = 0 THEN NULL ELSE c.headers END"


def _insert_quarantine(dedupe: bool, is_framed: bool = False, rows: str = "__kc") -> str:
    schema_id = "coalesce(c.schema_id, c.key_schema_id)" if is_framed else "NULL"
    return (
        "INSERT INTO quarantine (source, topic, \"partition\", \"offset\", reason, detail, raw, "
        "key, headers, schema_id, kafka_ts, kafka_ts_type) SELECT $1, c.topic, "
        "c.\"partition\", c.\"offset\", c.__reason, "
        "c.__detail || ' at ' || c.topic || '/' || CAST(c.\"partition\" AS VARCHAR) || "
        "' offset ' || CAST(c.\"offset\" AS VARCHAR), c.value, c.key, "
        + _HEADERS + f", {schema_id}, to_timestamp(c.timestamp_ms / 1000.0), c.timestamp_type"
        f" FROM {rows} c WHERE c.__reason IS NOT NULL"
        + (_DEDUPE.format(table="quarantine") if dedupe else ""))
