"""`eventlab export`: a query's result, one entity's events or a filtered set as CSV, JSON lines
or Parquet, written by DuckDB (the same sources as the pages' download buttons)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

from eventlab.cli.common import Commands, add_db, open_existing, print_json
from eventlab.errors import EventLabError
from eventlab.timeutil import parse_utc

if TYPE_CHECKING:
    from eventlab.explore.export import Source

FORMATS = ("csv", "jsonl", "parquet")  # eventlab.store.filewriter.FORMATS, without duckdb
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
             ".pq": "parquet"}


class ExportUsage(EventLabError):
    """The command line does not say what to export or how."""


def _time(text: str | None, flag: str) -> datetime | None:
    if not text:
        return None
    try:
        return parse_utc(text)
    except ValueError as exc:
        raise ExportUsage(f"{flag} {text!r} is not an ISO 8601 time (e.g. "
                          "2026-11-01T10:00:00Z; no zone means UTC)") from exc


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    for suffix, fmt in _SUFFIXES.items():
        if args.out.lower().endswith(suffix):
            return fmt
    raise ExportUsage(f"cannot tell the format from {args.out!r}: pass --format "
                      f"{'|'.join(FORMATS)}")


def _source(args: argparse.Namespace, cur: object) -> Source:
    from eventlab.explore import Filters, entity_ids
    from eventlab.explore import export as ex
    from eventlab.store import db

    filters = bool(args.type or args.from_ or args.to)
    if (args.sql or args.entity or args.quarantine) and filters:
        raise ExportUsage("--type, --from and --to filter the events; they do not go with "
                          "--sql, --entity or --quarantine")
    if args.sql:
        return ex.sql_result(args.sql)
    if args.quarantine:
        return ex.quarantine()
    if args.entity:
        if not db.scalar(cur, "SELECT count(*) FROM events WHERE entity_id = ?", [args.entity]):
            near = entity_ids(cur, args.entity[:max(1, len(args.entity) - 2)], limit=5)
            hint = f" Similar ids: {', '.join(near)}." if near else ""
            raise ExportUsage(f"no events for entity {args.entity!r} in this database.{hint}")
        return ex.entity_events(args.entity)
    start, end = _time(args.from_, "--from"), _time(args.to, "--to")
    if start and end and start > end:
        raise ExportUsage(f"--from {args.from_} is after --to {args.to}")
    return ex.filtered_events(Filters(start=start, end=end, event_types=tuple(args.type or ())))


def cmd_export(args: argparse.Namespace) -> int:
    """Write the chosen events (or query result) to --out."""
    from eventlab.explore import export as ex

    fmt = _format(args)
    with open_existing(args.db) as store, store.reading() as cur:
        source = _source(args, cur)
        result = ex.export(cur, source, args.out, fmt, max_rows=args.max_rows,
                           timeout_s=args.timeout or None)
    if args.json:
        print_json(result.to_dict())
    else:
        cut = f" (cut at --max-rows {result.max_rows:,})" if result.truncated else ""
        print(f"wrote {result.rows:,} rows{cut} to {result.path} as {fmt} "
              f"({result.bytes:,} bytes, {result.elapsed_ms / 1000:.1f} s)")
    return 0


def register(commands: Commands) -> None:
    """Add `export`."""
    sp = add_db(commands.add_parser(
        "export", help="write events or a query result as CSV, JSON lines or Parquet",
        description="Without --sql, --entity or --quarantine: every event, or those the "
                    "filters --type/--from/--to select. Raw Kafka bytes are hex in CSV and "
                    "JSON lines, binary in Parquet; the file loads back with `eventlab "
                    "ingest`."))
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--sql", help="one read-only SELECT (the SQL console's sandbox)")
    what.add_argument("--entity", help="one entity's events, in stream order")
    what.add_argument("--quarantine", action="store_true", help="the quarantined records")
    sp.add_argument("--type", action="append", help="event type (repeat for more)")
    sp.add_argument("--from", dest="from_", metavar="ISO",
                    help="events at or after this ISO 8601 time")
    sp.add_argument("--to", metavar="ISO", help="events at or before this ISO 8601 time")
    sp.add_argument("--format", choices=FORMATS, help="default: from the --out file name")
    sp.add_argument("--out", required=True, help="the file to write (replaced if it exists)")
    sp.add_argument("--max-rows", type=int, help="write at most this many rows")
    sp.add_argument("--timeout", type=float, default=0.0,
                    help="stop the query after this many seconds (default: no limit)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_export)
