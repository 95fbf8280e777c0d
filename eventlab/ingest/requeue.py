"""Quarantined Kafka records decoded again: once their schema is available (a registry back
up, a folder given, a schema added), the ones that now decode and map move into `events`.

One transaction: the events are inserted (never twice: a record already in `events` is
skipped) and their quarantine rows deleted together; records that still fail stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eventlab.ingest import framed
from eventlab.ingest.kafka_ingest import store_batch
from eventlab.ingest.mapping import MappingSpec
from eventlab.schemas.catalog import SchemaCatalog
from eventlab.store import db
from eventlab.store.eventstore import EventStore

_RAW = (
    "SELECT topic, CAST(\"partition\" AS INTEGER) AS \"partition\", \"offset\", key, "
    "raw AS value, coalesce(headers, CAST([] AS STRUCT(\"key\" VARCHAR, \"value\" BLOB)[])) "
    "AS headers, coalesce(epoch_ms(kafka_ts), 0) AS timestamp_ms, "
    "CAST(coalesce(kafka_ts_type, 0) AS TINYINT) AS timestamp_type FROM quarantine "
    "WHERE source = 'kafka' AND topic IS NOT NULL AND raw IS NOT NULL")
_MATCH = ("source = 'kafka' AND topic IS NOT NULL AND raw IS NOT NULL AND EXISTS (SELECT 1 "
          "FROM events e WHERE e.topic = quarantine.topic AND e.\"partition\" = "
          "quarantine.\"partition\" AND e.\"offset\" = quarantine.\"offset\")")


@dataclass
class RequeueReport:
    """What a requeue did; `to_dict` is the CLI's `--json` object."""

    considered: int = 0
    moved: int = 0
    still_quarantined: int = 0
    reasons_before: dict[str, int] = field(default_factory=dict)
    schema_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return dict(self.__dict__)

    def summary(self) -> str:
        """Human lines for the terminal."""
        text = (f"{self.considered:,} quarantined Kafka records decoded again: {self.moved:,} "
                f"moved into events, {self.still_quarantined:,} still quarantined")
        if self.schema_error:
            text += f"\nSCHEMA REGISTRY: {self.schema_error}"
        return text


def requeue_quarantine(store: EventStore, catalog: SchemaCatalog, *,
                       reason: str | None = None,
                       spec: MappingSpec | None = None) -> RequeueReport:
    """Decode the quarantined Kafka records (those with `reason`, or all) again and move the
    ones that now map into `events`, in one transaction."""
    spec = spec or MappingSpec()
    report = RequeueReport()
    where, params = ("", []) if reason is None else (" AND reason = ?", [reason])
    with store.transaction() as cur:
        report.reasons_before = dict(db.rows(
            cur, f"SELECT reason, count(*) FROM quarantine WHERE source = 'kafka' AND topic "
                 f"IS NOT NULL AND raw IS NOT NULL{where} GROUP BY ALL ORDER BY ALL", params))
        table = db.arrow(cur, _RAW + where + " ORDER BY topic, \"partition\", \"offset\"",
                         params)
        report.considered = table.num_rows
        if table.num_rows:
            table = framed.decode_table(table, catalog)
            store_batch(cur, table, spec, catalog, dedupe=True)
            report.moved = db.rows(cur, f"DELETE FROM quarantine WHERE {_MATCH}{where}",
                                   params)[0][0]
        report.still_quarantined = report.considered - report.moved
    report.schema_error = catalog.registry_error
    return report
