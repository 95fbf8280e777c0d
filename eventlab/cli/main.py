"""The `eventlab` parser and entry point: every command group registers itself here."""

from __future__ import annotations

import argparse
import sys

from eventlab.cli import (
    app,
    aws,
    aws_queues,
    aws_taps,
    broker,
    demo,
    demo_rabbitmq,
    diverge,
    export,
    flow,
    ingest,
    invariants,
    investigations,
    lag,
    peek,
    produce,
    quality,
    query,
    rabbitmq,
    rabbitmq_queues,
    refresh,
    republish,
    rewind,
    schemas,
    tail,
    timetravel,
)
from eventlab.cli.common import print_json
from eventlab.errors import EventLabError

GROUPS = (ingest, refresh, schemas, peek, tail, query, export, timetravel, flow, quality,
          invariants, diverge, investigations, lag, rewind, republish, produce, demo, broker,
          rabbitmq, rabbitmq_queues, demo_rabbitmq, aws, aws_queues, aws_taps, app)
"""The command groups, in the order `eventlab --help` lists their commands."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs test to list commands)."""
    parser = argparse.ArgumentParser(
        prog="eventlab", description="`eventlab ...` commands: thin wrappers over the same "
                                     "functions the pages use.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `eventlab` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EventLabError as exc:
        if getattr(args, "json", False):
            print_json({"error": str(exc), "kind": type(exc).__name__})
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
