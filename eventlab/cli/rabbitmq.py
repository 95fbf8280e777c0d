"""`eventlab rabbitmq` (a local server), `eventlab ingest-rabbitmq` (streams into the store,
resumable) and `eventlab peek-rabbitmq` (a look at a stream, nothing stored).

Connection settings come from EVENTLAB_RABBITMQ_* (`rabbitmq.config.ENV_VARS`); --host,
--port and --stream-port override them. Errors end the command with status 1 and an
`error:` line.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TYPE_CHECKING, Any

from eventlab.cli.common import Commands, add_db, ctrl_c_raises, mapping_spec, print_json
from eventlab.errors import EventLabError, SourceError
from eventlab.ingest.mapping import PRESETS
from eventlab.rabbitmq import server
from eventlab.timeutil import parse_utc

if TYPE_CHECKING:
    from eventlab.ingest.rabbitmq_ingest import StreamIngestReport
    from eventlab.rabbitmq.config import RabbitConfig


def rabbit_config(args: argparse.Namespace) -> RabbitConfig:
    """Settings from EVENTLAB_RABBITMQ_*, with the command line's host and ports if given."""
    from eventlab.rabbitmq.config import RabbitConfig

    config = RabbitConfig.from_env()
    changes = {k: getattr(args, k) for k in ("host", "port", "stream_port")
               if getattr(args, k, None) is not None}
    return dataclasses.replace(config, **changes) if changes else config


def parse_stream_start(value: str) -> Any:
    """first | last | next | OFFSET | ISO 8601 time (naive = UTC)."""
    if value in ("first", "last", "next"):
        return value
    if value.isdigit():
        return int(value)
    try:
        return parse_utc(value)
    except ValueError:
        raise SourceError(f"--from {value!r}: use first, last, next, an offset or an ISO 8601 "
                          "time") from None


def parse_stream_until(value: str) -> Any:
    """end | follow | COUNT."""
    if value in ("end", "follow"):
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise SourceError(f"--until {value!r}: use end, follow or a message count")


def cmd_rabbitmq(args: argparse.Namespace) -> int:
    """`eventlab rabbitmq [--port 5672 --stream-port 5552] [--detach | --stop]`."""
    try:
        if args.stop:
            if server.stop_detached(args.port):
                print(f"stopped RabbitMQ on 127.0.0.1:{args.port}")
                return 0
            print(f"no detached RabbitMQ runs on port {args.port} (no live state file at "
                  f"{server.state_path(args.port)})", file=sys.stderr)
            return 1
        if args.detach:
            handle = server.detach(args.port, args.stream_port)
            _describe(handle, "running in the background")
            print(f"  stop it with: eventlab rabbitmq --stop --port {args.port}")
            return 0
        ctrl_c_raises()
        handle = server.start_server(args.port, args.stream_port)
        _describe(handle, "running")
        print("  press Ctrl-C to stop it; its data is removed when it stops", flush=True)
        try:
            while handle.running():
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nstopping RabbitMQ ...", flush=True)
            handle.stop()
            return 0
        print(f"RabbitMQ exited on its own:\n{server.log_tail(handle.base)}", file=sys.stderr)
        handle.stop()
        return 1
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _describe(handle: server.ServerHandle, what: str) -> None:
    p = handle.ports
    print(f"RabbitMQ {what} on 127.0.0.1 (node {handle.node}, pid {handle.pid})")
    print(f"  AMQP {p.amqp}, streams {p.stream}, management http://127.0.0.1:{p.management}/ "
          f"(user guest)")
    print(f"  EVENTLAB_RABBITMQ_PORT={p.amqp} EVENTLAB_RABBITMQ_STREAM_PORT={p.stream}")
    print(f"  log: {handle.log_path}", flush=True)


def cmd_ingest_rabbitmq(args: argparse.Namespace) -> int:
    """Read streams into the store; resumable; prints a summary or one JSON object."""
    from eventlab.ingest.rabbitmq_ingest import ingest_streams
    from eventlab.store.eventstore import EventStore

    try:
        config = rabbit_config(args)
        start, until = parse_stream_start(args.from_), parse_stream_until(args.until)
        if not args.stream and not args.super_stream:
            raise SourceError("name what to read: --stream S and/or --super-stream S")

        def progress(r: StreamIngestReport) -> None:
            if sys.stderr.isatty() and not args.json:
                sys.stderr.write(f"\r{r.records_read:,} messages, {r.rows_stored:,} stored")
                sys.stderr.flush()

        with EventStore(args.db) as store:
            if until == "follow" and not args.json:
                print("following; press Ctrl-C to stop", file=sys.stderr)
            report = ingest_streams(store, config, list(args.stream or ()), start=start,
                                    until=until, spec=mapping_spec(args), progress=progress,
                                    batch_records=args.batch_records,
                                    super_streams=list(args.super_stream or ()))
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\n")
    print_json(report.to_dict()) if args.json else print(report.summary())
    return 1 if report.error else 0


def cmd_peek_rabbitmq(args: argparse.Namespace) -> int:
    """Show messages of a stream; nothing stored, nothing left on the broker."""
    from eventlab.ingest.rabbitmq_peek import peek_stream

    try:
        at = parse_stream_start(args.at)
        stream = args.stream
        if args.super_stream:  # a partition is a stream of its own: S-<partition>
            from eventlab.rabbitmq.superstreams import partition_name

            stream = partition_name(args.super_stream, args.partition)
        rows = peek_stream(rabbit_config(args), stream, at=at, limit=args.limit)
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json([{**r, "value": r["value"].decode("utf-8", "replace"),
                     "headers": [(k, v.decode("utf-8", "replace") if v is not None else None)
                                 for k, v in r["headers"]]} for r in rows])
        return 0
    for r in rows:
        headers = ", ".join(f"{k}={v!r}" for k, v in r["headers"])
        more = f" … ({r['size']:,} bytes)" if r["truncated"] else ""
        print(f"{r['stream']}@{r['offset']} {r['broker_time']:%Y-%m-%d %H:%M:%S.%f} UTC "
              f"[{headers}] {r['value']!r}{more}")
    print(f"{len(rows)} messages", file=sys.stderr)
    return 0


def _connection_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--host", help="RabbitMQ host (default $EVENTLAB_RABBITMQ_HOST or 127.0.0.1)")
    sp.add_argument("--port", type=int, help="AMQP port (default $EVENTLAB_RABBITMQ_PORT or 5672)")
    sp.add_argument("--stream-port", type=int,
                    help="stream port (default $EVENTLAB_RABBITMQ_STREAM_PORT or 5552)")


def register(commands: Commands) -> None:
    """Add `rabbitmq`, `ingest-rabbitmq` and `peek-rabbitmq`."""
    sp = commands.add_parser("rabbitmq", help="run a local RabbitMQ with streams "
                                              "(127.0.0.1 only)")
    sp.add_argument("--port", type=int, default=server.DEFAULT_PORT,
                    help=f"AMQP port on 127.0.0.1 (default {server.DEFAULT_PORT})")
    sp.add_argument("--stream-port", type=int, default=server.DEFAULT_STREAM_PORT,
                    help=f"stream port on 127.0.0.1 (default {server.DEFAULT_STREAM_PORT})")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="run in the background; state in .eventlab/rabbitmq-PORT.json")
    mode.add_argument("--stop", action="store_true", help="stop the detached server on --port")
    sp.set_defaults(func=cmd_rabbitmq)

    sp = add_db(commands.add_parser("ingest-rabbitmq",
                                    help="load RabbitMQ streams (resumable)"))
    _connection_args(sp)
    sp.add_argument("--stream", action="append", help="repeat for more streams")
    sp.add_argument("--super-stream", action="append",
                    help="a super stream: its partitions S-0, S-1, ... as partitions of topic S "
                         "(repeatable)")
    sp.add_argument("--from", dest="from_", default="first",
                    help="first (default) | last | next | OFFSET | ISO8601; stored positions "
                         "of earlier runs win")
    sp.add_argument("--until", default="end", help="end (default) | COUNT | follow")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS)
    sp.add_argument("--batch-records", type=int, default=20_000,
                    help="messages per transaction at most")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_ingest_rabbitmq)

    sp = commands.add_parser("peek-rabbitmq", help="show messages of a RabbitMQ stream "
                                                   "(nothing stored)")
    _connection_args(sp)
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("--stream")
    which.add_argument("--super-stream", help="peek one partition of this super stream")
    sp.add_argument("--partition", type=int, default=0,
                    help="with --super-stream: the partition index (default 0)")
    sp.add_argument("--at", default="first",
                    help="first (default) | last (the last --limit) | OFFSET | ISO8601")
    sp.add_argument("--limit", type=int, default=20)
    sp.add_argument("--json", action="store_true", help="print one JSON array")
    sp.set_defaults(func=cmd_peek_rabbitmq)
