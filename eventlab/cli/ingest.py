"""`eventlab ingest` (export files) and `eventlab ingest-kafka` (topics, resumable)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from eventlab.cli.common import Commands, add_db, kafka_config, mapping_spec, print_json
from eventlab.ingest.formats import DUPLICATES, FORMATS
from eventlab.ingest.mapping import FILE_PRESETS, PRESETS, MappingSpec
from eventlab.kafka.positions import parse_start, parse_until

if TYPE_CHECKING:  # kafka-python loads only when a Kafka command runs
    from eventlab.ingest.kafka_ingest import KafkaIngestReport


CLI_HINTS = {"format": "hint: pass --format parquet|jsonl|csv",
             "mapping": "hint: pass --mapping FILE or --preset"}
"""What to pass for a failed file's `needs` (ingest says the fact, the command line the flag)."""


class _Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{stage} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load export files into the store."""
    from eventlab.ingest.file_ingest import ingest_paths
    from eventlab.ingest.native_parquet import readable_folders
    from eventlab.store.eventstore import EventStore

    spec = mapping_spec(args)
    if args.check:
        return _check(args, spec)
    # DuckDB reads the Parquet files below the given paths itself (ingest.native_parquet)
    with EventStore(args.db, memory_limit=args.memory_limit,
                    readable=readable_folders(args.paths)) as store:
        report = ingest_paths(store, args.paths, fmt=args.format, spec=spec,
                              progress=None if args.json else _Progress(),
                              duplicates=args.duplicates)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        for needs in sorted({f.get("needs", "") for f in report.files_failed} - {""}):
            print(CLI_HINTS[needs])
        if report.mapping:
            print("mapping: " + json.dumps(report.mapping))
    nothing = report.files_read == 0 and not report.files_skipped
    if nothing or (args.strict and (report.files_failed or report.rows_quarantined)):
        return 1
    return 0


def _check(args: argparse.Namespace, spec: MappingSpec) -> int:
    """`ingest --check`: how many rows have an event id already stored; stores nothing.
    Exit status 1 when no file could be read (as a load would)."""
    from eventlab.ingest.precheck import precheck_paths
    from eventlab.store.eventstore import EventStore

    with EventStore(args.db, memory_limit=args.memory_limit) as store:
        report = precheck_paths(store, args.paths, fmt=args.format, spec=spec)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
        if report.rows_known_id:
            print("a load skips them (--duplicates skip, the default) or stores them as "
                  "copies (--duplicates copy)")
    return 0 if report.files_checked or report.files_unchanged else 1


def cmd_ingest_kafka(args: argparse.Namespace) -> int:
    """Read topics into the store; resumable; prints a summary or one JSON object."""
    from eventlab.ingest.kafka_ingest import ingest_kafka
    from eventlab.schemas.catalog import build_catalog
    from eventlab.store.eventstore import EventStore

    config = kafka_config(args.bootstrap)
    spec = mapping_spec(args)
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
                              isolation_level=args.isolation_level,
                              schemas=build_catalog(store, args.schemas))
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\n")
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 1 if report.error or report.schema_error else 0


def register(commands: Commands) -> None:
    """Add `ingest` and `ingest-kafka`."""
    sp = add_db(commands.add_parser("ingest", help="load Parquet/JSONL/CSV exports"))
    sp.add_argument("paths", nargs="+", help="files, folders, globs or hive folders")
    sp.add_argument("--format", choices=FORMATS)
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=FILE_PRESETS, help="mapping preset (default auto; sns/sqs: "
                   "archived SNS notifications / SQS messages)")
    sp.add_argument("--duplicates", choices=DUPLICATES, default="skip",
                    help="rows whose event id is already stored (an export loaded back): "
                         "skip them (default) or load them as copies")
    sp.add_argument("--check", action="store_true",
                    help="store nothing: say how many rows have an event id already stored "
                         "(and from where), sampling big inputs")
    sp.add_argument("--strict", action="store_true",
                    help="exit non-zero if any file failed or any row was quarantined")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit for the load")
    sp.set_defaults(func=cmd_ingest)

    sp = add_db(commands.add_parser("ingest-kafka", help="load Kafka topics (resumable)"))
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
    sp.add_argument("--schemas", metavar="DIR",
                    help="folder of <id>.avsc / <id>.proto / <id>.json schemas for "
                         "schema-registry records (also: $EVENTLAB_SCHEMA_REGISTRY_URL)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_ingest_kafka)
