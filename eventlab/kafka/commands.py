"""`eventlab ingest-kafka`: argument parsing and output around `eventlab.ingest.kafka_ingest`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TYPE_CHECKING

from eventlab.ingest.mapping import PRESETS, MappingSpec, load_spec
from eventlab.kafka.positions import parse_start, parse_until

if TYPE_CHECKING:  # kafka-python loads only when a Kafka command runs, not for every command
    from eventlab.ingest.kafka_ingest import KafkaIngestReport


def cmd_ingest_kafka(args: argparse.Namespace) -> int:
    """Read topics into the store; resumable; prints a summary or one JSON object."""
    from eventlab.ingest.kafka_ingest import ingest_kafka
    from eventlab.kafka.config import KafkaConfig
    from eventlab.store.eventstore import EventStore

    config = KafkaConfig.from_env()
    if args.bootstrap:
        config = dataclasses.replace(config, bootstrap=args.bootstrap)
    spec = load_spec(args.mapping) if args.mapping else MappingSpec(preset=args.preset or "auto")
    start = parse_start(args.from_, args.topic)
    until = parse_until(args.until)

    def progress(r: KafkaIngestReport) -> None:
        if sys.stderr.isatty() and not args.json:
            sys.stderr.write(f"\r{r.records_read:,} records, {r.rows_stored:,} stored, "
                             f"{r.records_read / max(r.seconds, 1e-9):,.0f}/s")
            sys.stderr.flush()

    with EventStore(args.db, memory_limit=args.memory_limit) as store:
        if not args.json and not store.has_entity_index():
            print("indexing entity ids for fast entity reads (once per database)",
                  file=sys.stderr)
        if until == "follow" and not args.json:
            print("following; press Ctrl-C to stop", file=sys.stderr)
        report = ingest_kafka(store, config, list(args.topic), start=start, until=until,
                              spec=spec, progress=progress, batch_records=args.batch_records,
                              txn_records=args.txn_records,
                              isolation_level=args.isolation_level)
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps(report.to_dict(), default=str))
    else:
        print(report.summary())
    return 1 if report.error else 0


def add_parser(sub: argparse._SubParsersAction, with_db: object) -> None:
    """Register `ingest-kafka` on the CLI's subparsers."""
    sp = with_db(sub.add_parser("ingest-kafka", help="load Kafka topics (resumable)"))
    sp.add_argument("--bootstrap", help="host:port[,...] (default $EVENTLAB_KAFKA_BOOTSTRAP)")
    sp.add_argument("--topic", action="append", required=True, help="repeat for more topics")
    sp.add_argument("--from", dest="from_", default="earliest",
                    help="earliest (default) | latest | ISO8601 | P:OFFSET,... | T:P:OFFSET,...;"
                         " stored positions of earlier runs win")
    sp.add_argument("--until", default="end", help="end (default) | COUNT | follow")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS)
    sp.add_argument("--isolation-level", default="read_committed",
                    choices=["read_committed", "read_uncommitted"])
    sp.add_argument("--batch-records", type=int, default=20_000,
                    help="records per read from the broker")
    sp.add_argument("--txn-records", type=int, default=250_000,
                    help="records per database transaction (also committed every second)")
    sp.add_argument("--memory-limit", default="4GB")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_ingest_kafka)
