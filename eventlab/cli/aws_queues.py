"""`eventlab sqs-queues` (depth, DLQ depth, oldest message; nothing received) and `eventlab
peek-sqs` (a look at a queue after its cost is accepted; visibility reset at once, nothing
deleted). Settings from EVENTLAB_AWS_* and boto3's credential chain. Errors end the command with
status 1 and an `error:` line; a refused peek with status 2.
"""

from __future__ import annotations

import argparse
import sys
import threading

from eventlab.cli.common import Commands, add_db, print_json
from eventlab.errors import EventLabError


def _config():  # noqa: ANN202 - AwsConfig, imported late (boto3 is heavy)
    from eventlab.aws.config import AwsConfig

    return AwsConfig.from_env()


def cmd_sqs_queues(args: argparse.Namespace) -> int:
    """Print each queue's depth; with --watch, sample into --db every N seconds."""
    from eventlab.aws.queues import queue_info, sample_row

    try:
        config = _config()
        stop = threading.Event()
        while True:
            infos = [queue_info(config, q) for q in args.queue]
            if args.json:
                print_json([i.as_row() for i in infos])
            else:
                for i in infos:
                    dlq = (f", DLQ {i.dlq_visible:,}" if i.dlq_visible is not None else "")
                    age = ("" if i.oldest_age_s is None else
                           f", oldest {i.oldest_age_s:,.0f} s")
                    print(f"{i.name}: {i.visible:,} visible, {i.in_flight:,} in flight, "
                          f"{i.delayed:,} delayed{dlq}{age}", flush=True)
            if not args.watch:
                return 0
            from eventlab.lag import queue_samples
            from eventlab.store.eventstore import EventStore

            with EventStore(args.db) as store:
                queue_samples.write_if_due(
                    store, [sample_row(i, f"sqs:{config.broker_id}") for i in infos],
                    interval_s=args.watch)
            stop.wait(args.watch)
    except KeyboardInterrupt:
        return 0
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def cmd_peek_sqs(args: argparse.Namespace) -> int:
    """Say the cost; with --i-understand receive, reset visibility, print; never delete."""
    from eventlab.aws.peek import PeekRefused, peek_cost, peek_queue
    from eventlab.aws.queues import queue_info

    try:
        config = _config()
        if not args.i_understand:
            info = queue_info(config, args.queue, with_age=False)
            print("A peek at an SQS queue is not free:", file=sys.stderr)
            for line in peek_cost(info, args.visibility):
                print(f"  - {line}", file=sys.stderr)
            print("Run again with --i-understand to peek"
                  + (" (and --allow-dead-letter: this queue has a redrive policy)"
                     if info.redrive is not None else "") + ".", file=sys.stderr)
            return 2
        info, rows = peek_queue(config, args.queue, limit=args.limit,
                                visibility_s=args.visibility, i_understand=True,
                                allow_dead_letter=args.allow_dead_letter)
    except PeekRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json([{"message_id": m.message_id, "sent_at": m.sent_at,
                     "receive_count": m.receive_count, "group_id": m.group_id,
                     "body": m.body.decode("utf-8", "replace"), "size": m.size,
                     "message_attributes": m.message_attributes} for m in rows])
    else:
        for m in rows:
            attrs = ", ".join(f"{n}={v!r}" for n, _, v in m.message_attributes)
            print(f"{m.message_id} sent {m.sent_at} receives {m.receive_count} [{attrs}] "
                  f"{m.body[:500]!r}")
    print(f"{len(rows)} message(s) of {info.name} seen; visibility reset, nothing deleted",
          file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    """Add `sqs-queues` and `peek-sqs`."""
    sp = add_db(commands.add_parser("sqs-queues", help="SQS queue depth, DLQ depth and the "
                                                       "oldest message (nothing received)"))
    sp.add_argument("--queue", action="append", required=True, help="URL or name; repeatable")
    sp.add_argument("--watch", type=float, default=0.0, metavar="SECONDS",
                    help="repeat every SECONDS and sample into --db until Ctrl-C")
    sp.add_argument("--json", action="store_true", help="one JSON list per look")
    sp.set_defaults(func=cmd_sqs_queues)

    sp = commands.add_parser("peek-sqs", help="look at an SQS queue's messages after its cost "
                                              "is accepted (nothing deleted)")
    sp.add_argument("--queue", required=True, help="URL or name")
    sp.add_argument("--limit", type=int, default=10, help="messages, 1-100 (default 10)")
    sp.add_argument("--visibility", type=int, default=30,
                    help="visibility timeout while read, 1-300 s (reset to 0 at once)")
    sp.add_argument("--i-understand", action="store_true",
                    help="accept the cost (without it, the cost is printed and nothing read)")
    sp.add_argument("--allow-dead-letter", action="store_true",
                    help="peek a queue with a redrive policy although a receive can move "
                         "messages to its dead-letter queue")
    sp.add_argument("--json", action="store_true", help="print one JSON array")
    sp.set_defaults(func=cmd_peek_sqs)
