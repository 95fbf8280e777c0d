"""`eventlab requeue-quarantine`: decode quarantined schema-registry records again."""

from __future__ import annotations

import argparse

from eventlab.cli.common import Commands, add_db, print_json


def cmd_requeue(args: argparse.Namespace) -> int:
    """Decode quarantined Kafka records again; move the ones that now map into events."""
    from eventlab.ingest.requeue import requeue_quarantine
    from eventlab.schemas.catalog import build_catalog
    from eventlab.store.eventstore import EventStore

    with EventStore(args.db) as store:
        catalog = build_catalog(store, args.schemas)
        report = requeue_quarantine(store, catalog, reason=args.reason)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 1 if report.schema_error else 0


def register(commands: Commands) -> None:
    """Add `requeue-quarantine`."""
    sp = add_db(commands.add_parser(
        "requeue-quarantine", help="decode quarantined Kafka records again (a schema is now "
                                   "available) and move the ones that map into events"))
    sp.add_argument("--reason", help="only rows with this reason, e.g. 'unknown schema id'")
    sp.add_argument("--schemas", metavar="DIR",
                    help="folder of <id>.avsc / <id>.proto / <id>.json schemas")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_requeue)
