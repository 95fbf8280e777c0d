"""`eventlab peek`: look at a few records of a topic, decoded, without loading anything."""

from __future__ import annotations

import argparse
from typing import Any

from eventlab.cli.common import Commands, kafka_config, mapping_spec, print_json
from eventlab.ingest.mapping import PRESETS

MAX_RECORDS = 500  # eventlab.kafka.peek.MAX_RECORDS, without importing kafka-python


def _records(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_RECORDS:
        raise argparse.ArgumentTypeError(f"a peek reads 1 to {MAX_RECORDS} records")
    return value


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= width else text[:width - 1] + "…"


def cmd_peek(args: argparse.Namespace) -> int:
    """Read up to --max records of one topic and print them decoded."""
    from eventlab.ingest.peek import peek

    result = peek(kafka_config(args.bootstrap), args.topic, args.from_, args.max,
                  spec=mapping_spec(args), isolation_level=args.isolation_level)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"{len(result.rows)} record(s) of {result.topic}: {result.decoded} decode "
          f"({result.presets} mapping), {result.quarantined} would be "
          "quarantined. Nothing was stored.")
    print("\t".join(("partition", "offset", "timestamp", "key", "entity_id / reason",
                     "event_type", "headers", "value")))
    for r in result.rows:
        headers = ", ".join(f"{h['key']}={h['value']}" for h in r["headers"])
        what = r["entity_id"] if r["reason"] is None else f"QUARANTINE: {r['reason']}"
        ts = r["timestamp"].isoformat() if r["timestamp"] else ""
        print("\t".join((str(r["partition"]), str(r["offset"]), ts, _cell(r["key"], 40),
                         _cell(what, 40), _cell(r["event_type"], 30), _cell(headers, 60),
                         _cell(r["value"], 120))))
    for note in result.notes:
        print(f"note: {note}")
    if result.rows:
        print(f"load from here: eventlab ingest-kafka --topic {result.topic} "
              f"--from {result.load_from_text}")
    return 0


def register(commands: Commands) -> None:
    """Add `peek`."""
    sp = commands.add_parser("peek", help="show a few records of a topic, decoded; stores "
                                          "nothing")
    sp.add_argument("--bootstrap", help="host:port[,...] (default $EVENTLAB_KAFKA_BOOTSTRAP)")
    sp.add_argument("--topic", required=True)
    sp.add_argument("--from", dest="from_", default="newest", metavar="START",
                    help="newest (default) | earliest | P:OFFSET,... | TOPIC:P:OFFSET,... | "
                         "ISO8601 time")
    sp.add_argument("--max", type=_records, default=20,
                    help=f"records to show, 1 to {MAX_RECORDS} (default 20)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS, help="mapping preset (default auto)")
    sp.add_argument("--isolation-level", default="read_committed",
                    choices=["read_committed", "read_uncommitted"])
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_peek)
