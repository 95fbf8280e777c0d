"""`eventlab peek-queue`, `queue-depth`, `tap` and `drain-dlq`: RabbitMQ queues, honestly.

Connection settings as for `ingest-rabbitmq` (EVENTLAB_RABBITMQ_*, --host/--port override).
A classic-queue peek and a DLQ drain say what they cost and need `--i-understand`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from eventlab.cli.common import Commands, add_db, positive, print_json
from eventlab.cli.rabbitmq import _connection_args, rabbit_config
from eventlab.errors import EventLabError


def _config(args: argparse.Namespace) -> Any:
    config = rabbit_config(args)
    if getattr(args, "node", None):
        config = dataclasses.replace(config, node=args.node)
    return config


def _fail(exc: EventLabError) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def cmd_peek_queue(args: argparse.Namespace) -> int:
    """A quorum queue's non-destructive peek; a classic queue's only with --i-understand."""
    from eventlab.rabbitmq.queues import CLASSIC_PEEK_COST, peek_classic, peek_quorum

    try:
        config = _config(args)
        if args.kind == "quorum":
            rows = peek_quorum(config, args.queue, args.limit)
        else:
            if not args.i_understand:
                print(f"not peeked: {CLASSIC_PEEK_COST}\nRun again with --i-understand to go "
                      "ahead.", file=sys.stderr)
                return 1
            rows = peek_classic(config, args.queue, args.limit, i_understand=True)
    except EventLabError as exc:
        return _fail(exc)
    if args.json:
        print_json([{**dataclasses.asdict(m), "body": m.body.decode("utf-8", "replace")}
                    for m in rows])
        return 0
    for m in rows:
        more = " … (first 64 bytes)" if m.truncated else ""
        deaths = "; ".join(f"died in {d.queue} ({d.reason}, x{d.count})" for d in m.deaths)
        print(f"#{m.position} redelivered={m.redelivered} {m.properties} {m.headers} "
              f"{m.body!r}{more} {deaths}".rstrip())
    print(f"{len(rows)} messages", file=sys.stderr)
    return 0


def cmd_queue_depth(args: argparse.Namespace) -> int:
    """Ready, unacked and consumers of each queue."""
    from eventlab.rabbitmq.queues import queue_depth

    try:
        depths = [queue_depth(_config(args), q) for q in args.queue]
    except EventLabError as exc:
        return _fail(exc)
    if args.json:
        print_json([dataclasses.asdict(d) for d in depths])
    for d in depths if not args.json else ():
        unacked = "unknown" if d.unacked is None else f"{d.unacked:,}"
        print(f"{d.queue} ({d.kind}): ready={d.ready:,} unacked={unacked} "
              f"consumers={d.consumers} [{d.source}]")
    return 0


def cmd_tap(args: argparse.Namespace) -> int:
    """Create a tap, list taps, or remove one."""
    from eventlab.rabbitmq import taps

    try:
        config = _config(args)
        if args.remove:
            taps.remove_tap(config, args.remove)
            print(f"removed tap {args.remove}")
        elif args.exchange is not None:
            print(taps.create_tap(config, args.exchange, args.routing_key))
        elif args.queue:
            print(taps.tap_queue(config, args.queue))
        else:
            rows = taps.list_taps(config)
            if args.json:
                print_json([dataclasses.asdict(t) for t in rows])
            for t in rows if not args.json else ():
                binds = ", ".join(f"{e} {k!r}" for e, k in t.bindings) or "no binding"
                print(f"{t.stream}: {t.messages if t.messages is not None else '?'} messages "
                      f"({binds})")
    except EventLabError as exc:
        return _fail(exc)
    return 0


def cmd_drain_dlq(args: argparse.Namespace) -> int:
    """Move a DLQ's messages into the store, with x-death in their metadata."""
    from eventlab.ingest.rabbitmq_dlq import DRAIN_COST, drain_dlq
    from eventlab.store.eventstore import EventStore

    if not args.i_understand:
        print(f"not drained: {DRAIN_COST}\nRun again with --i-understand to go ahead.",
              file=sys.stderr)
        return 1
    try:
        with EventStore(args.db) as store:
            report = drain_dlq(store, _config(args), args.queue, consent=True, limit=args.limit)
    except EventLabError as exc:
        return _fail(exc)
    print_json(dataclasses.asdict(report)) if args.json else print(report.summary())
    return 0


def register(commands: Commands) -> None:
    """Add `peek-queue`, `queue-depth`, `tap` and `drain-dlq`."""
    sp = commands.add_parser("peek-queue", help="look at a RabbitMQ queue's messages")
    _connection_args(sp)
    sp.add_argument("--queue", required=True)
    sp.add_argument("--kind", choices=("quorum", "classic"), default="quorum",
                    help="quorum (default): non-destructive, via rabbitmq-queues; classic: "
                         "consume-and-requeue, needs --i-understand")
    sp.add_argument("--node", help="Erlang node (default $EVENTLAB_RABBITMQ_NODE)")
    sp.add_argument("--limit", type=positive, default=10)
    sp.add_argument("--i-understand", action="store_true",
                    help="accept a classic peek's cost (unacked while held, redelivered set, "
                         "order may change, one delivery of the limit spent)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_peek_queue)

    sp = commands.add_parser("queue-depth", help="ready / unacked / consumers of queues")
    _connection_args(sp)
    sp.add_argument("--queue", action="append", required=True, help="repeatable")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_queue_depth)

    sp = commands.add_parser("tap", help="capture an exchange into an EventLab stream; list or "
                                         "remove taps")
    _connection_args(sp)
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--exchange", help="tap this exchange (with --routing-key)")
    g.add_argument("--queue", help="tap what is routed to this queue (its bindings)")
    g.add_argument("--remove", metavar="STREAM", help="remove this tap")
    sp.add_argument("--routing-key", default="#", help="binding key (default #)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_tap)

    sp = add_db(commands.add_parser("drain-dlq", help="move a dead-letter queue's messages "
                                                      "into the store (consent needed)"))
    _connection_args(sp)
    sp.add_argument("--queue", required=True)
    sp.add_argument("--limit", type=positive)
    sp.add_argument("--i-understand", action="store_true",
                    help="accept that drained messages leave the queue")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_drain_dlq)
