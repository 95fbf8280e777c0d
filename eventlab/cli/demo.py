"""`eventlab demo` (the demo shop as a Parquet export, or produced to a Kafka topic) and
`eventlab demo-consumer` (a slow consumer group, so its lag is visible)."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from eventlab.cli.common import Commands, kafka_config, positive, rate, stop_on_signals
from eventlab.errors import SourceError


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo domain as a Parquet export, or produce it to a Kafka topic."""
    if args.kafka:
        return _demo_to_kafka(args)
    from eventlab.demo import write_export

    paths = write_export(args.out, events=args.events, seed=args.seed)
    print(f"wrote {args.events:,} demo events to {len(paths)} file(s) under {args.out}")
    return 0


def _demo_to_kafka(args: argparse.Namespace) -> int:
    """`eventlab demo --kafka B --topic T ...`: produce the demo and print a summary."""
    from eventlab.demo.produce import produce_demo

    if not args.topic:
        raise SourceError("--kafka needs --topic TOPIC (the topic to produce the demo to)")
    config = kafka_config(args.kafka)
    tty = sys.stderr.isatty()

    def progress(sent: int, seconds: float) -> None:
        if tty:
            sys.stderr.write(f"\r{sent:,} records in {seconds:.0f} s ({sent / seconds:,.0f}/s)")
            sys.stderr.flush()

    fmt = getattr(args, "format", None) or "json"
    report = produce_demo(config, args.topic, events=args.events, seed=args.seed,
                          mode=args.cloudevents or "envelope", rate=args.rate,
                          partitions=args.partitions, progress=progress, fmt=fmt)
    if tty:
        sys.stderr.write("\n")
    print(report.summary())
    if fmt == "avro":
        from eventlab.demo.avro import SCHEMA_ID, write_schema

        path = write_schema(args.schemas)
        print(f"Avro schema id {SCHEMA_ID} written to {path}: load with `eventlab ingest-kafka "
              f"--topic {args.topic} --schemas {args.schemas}`")
    return 0


def cmd_demo_consumer(args: argparse.Namespace) -> int:
    """Run the slow demo consumer group until Ctrl-C or SIGTERM."""
    from eventlab.demo.consumer import run_demo_consumer

    config = kafka_config(args.bootstrap)
    stop = threading.Event()
    print(f"consuming {args.topic} as group {args.group} at up to {args.rate:g} records/s on "
          f"{config.bootstrap}; Ctrl-C or SIGTERM stops it (the first records may take a few "
          "seconds: the group is joining)", flush=True)

    def progress(state: Any) -> None:
        print(state.line(), flush=True)

    with stop_on_signals(stop):
        state = run_demo_consumer(config, args.topic, args.group, rate=args.rate, stop=stop,
                                  progress=progress, progress_every_s=args.progress_every,
                                  max_records=args.max_records,
                                  wait_for_topic_s=args.wait)
    print(f"stopped: {state.line()}", flush=True)
    return 0


def register(commands: Commands) -> None:
    """Add `demo` and `demo-consumer`."""
    sp = commands.add_parser("demo", help="write the demo shop domain as Parquet, or produce "
                                          "it to Kafka")
    target = sp.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", help="folder for the Parquet export")
    target.add_argument("--kafka", metavar="BOOTSTRAP",
                        help="produce to Kafka at host:port instead (needs --topic)")
    sp.add_argument("--events", type=int, default=50_000)
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--topic", help="topic to produce to (with --kafka)")
    sp.add_argument("--rate", type=rate, default=0.0,
                    help="records per second (default 0: as fast as possible)")
    sp.add_argument("--cloudevents", choices=["binary", "structured"],
                    help="CloudEvents 1.0 instead of the JSON envelope: binary (ce_ headers, "
                         "value = data) or structured (one JSON document)")
    sp.add_argument("--format", choices=["json", "avro"], default="json",
                    help="value format on Kafka: json (default) or Confluent-framed avro "
                         "(with --kafka; its schema goes to --schemas DIR)")
    sp.add_argument("--schemas", metavar="DIR", default=".eventlab/schemas",
                    help="where --format avro writes its schema (default .eventlab/schemas)")
    sp.add_argument("--partitions", type=positive, default=3,
                    help="partitions when the topic is created (default 3)")
    sp.set_defaults(func=cmd_demo)

    sp = commands.add_parser("demo-consumer",
                             help="a slow consumer group on a topic, so its lag is visible")
    sp.add_argument("--bootstrap",
                    help="bootstrap servers (default: $EVENTLAB_KAFKA_BOOTSTRAP or "
                         "127.0.0.1:9092)")
    sp.add_argument("--topic", required=True)
    sp.add_argument("--group", required=True, help="consumer group id")
    sp.add_argument("--rate", type=rate, default=100.0,
                    help="records processed per second (default 100; 0: no limit)")
    sp.add_argument("--max-records", type=positive,
                    help="stop after this many records (default: run until stopped)")
    sp.add_argument("--progress-every", type=float, default=2.0, metavar="SECONDS",
                    help="seconds between progress lines (default 2)")
    sp.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait up to this long for the topic to appear (default 0)")
    sp.set_defaults(func=cmd_demo_consumer)
