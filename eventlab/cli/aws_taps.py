"""`eventlab tap-sns` (create, list, remove taps of SNS topics), `eventlab ingest-sqs` (drain
a tap queue into the store exactly once) and `eventlab demo-aws` (the demo shop on SNS/SQS).
Settings from EVENTLAB_AWS_* (docs/aws.md).

Errors end the command with status 1 and an `error:` line.
"""

from __future__ import annotations

import argparse
import sys
import threading

from eventlab.cli.common import Commands, add_db, mapping_spec, print_json, stop_on_signals
from eventlab.errors import EventLabError
from eventlab.ingest.mapping import PRESETS


def cmd_tap_sns(args: argparse.Namespace) -> int:
    """`eventlab tap-sns --topic-arn ARN | --list | --remove TAP`."""
    from eventlab.aws import taps
    from eventlab.aws.config import AwsConfig

    try:
        config = AwsConfig.from_env()
        if args.list:
            found = taps.list_taps(config)
            if args.json:
                print_json([t.to_dict() for t in found])
            elif not found:
                print(f"no taps ({taps.PREFIX}...) on {config.describe()}")
            for t in [] if args.json else found:
                print(f"{t.name}  tap of {t.topic_arn}  {t.visible:,} waiting, "
                      f"{t.in_flight:,} in flight  {t.url}")
            return 0
        if args.remove:
            tap = taps.remove_tap(config, args.remove)
            print_json(tap.to_dict()) if args.json else print(
                f"removed {tap.name} (subscription and queue) from {tap.topic_arn}")
            return 0
        tap = taps.create_tap(config, args.topic_arn)
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json(tap.to_dict())
    else:
        print(f"tap {tap.name} receives {tap.topic_arn} from now on (SNS envelope kept)")
        print(f"  load it: eventlab ingest-sqs --queue {tap.url}")
    return 0


def cmd_ingest_sqs(args: argparse.Namespace) -> int:
    """Drain a tap queue into the store; prints a summary or one JSON object."""
    from eventlab.aws.config import AwsConfig
    from eventlab.ingest.sqs_ingest import SqsIngestReport, ingest_sqs, parse_until
    from eventlab.store.eventstore import EventStore

    stop = threading.Event()

    def progress(r: SqsIngestReport) -> None:
        if sys.stderr.isatty() and not args.json:
            sys.stderr.write(f"\r{r.records_read:,} messages, {r.rows_stored:,} stored")
            sys.stderr.flush()

    try:
        config, until = AwsConfig.from_env(), parse_until(args.until)
        with EventStore(args.db) as store, stop_on_signals(stop):
            if until == "follow" and not args.json:
                print("following; press Ctrl-C to stop", file=sys.stderr)
            report = ingest_sqs(store, config, args.queue, until=until,
                                spec=mapping_spec(args), progress=progress, cancel=stop,
                                drain_dead_letters=args.drain_dead_letters)
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty() and not args.json:
        sys.stderr.write("\n")
    print_json(report.to_dict()) if args.json else print(report.summary())
    return 1 if report.error else 0


def register(commands: Commands) -> None:
    """Add `tap-sns` and `ingest-sqs`."""
    sp = commands.add_parser("tap-sns", help="capture an SNS topic through an EventLab-owned "
                                             "SQS queue (create, --list, --remove)")
    mode = sp.add_mutually_exclusive_group(required=True)
    mode.add_argument("--topic-arn", help="the topic to tap (its tap queue is made once)")
    mode.add_argument("--list", action="store_true", help="list the taps with their depth")
    mode.add_argument("--remove", metavar="TAP", help="tap queue name or URL: unsubscribe it "
                                                      "and delete the queue")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.set_defaults(func=cmd_tap_sns)

    sp = add_db(commands.add_parser("ingest-sqs", help="drain an EventLab tap queue into the "
                                                       "store exactly once"))
    sp.add_argument("--queue", required=True, help="tap queue URL (or name)")
    sp.add_argument("--until", default="empty", help="empty (default) | COUNT | follow")
    sp.add_argument("--drain-dead-letters", action="store_true",
                    help="consent to drain a dead-letter queue (some queue's redrive policy "
                         "names it): its messages are DELETED from it once stored")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS)
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_ingest_sqs)
    _register_demo(commands)


def cmd_demo_aws(args: argparse.Namespace) -> int:
    """`eventlab demo-aws`: set up the demo shop on SNS/SQS, publish it, run its slow projector."""
    from eventlab.aws.config import AwsConfig
    from eventlab.demo import aws_shop

    stop = threading.Event()
    try:
        config = AwsConfig.from_env()
        shop = aws_shop.setup(config)
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"topic {shop.topic_arn} -> {aws_shop.PROJECTOR} (slow projector, DLQ "
          f"{aws_shop.DLQ}) and {aws_shop.AUDIT}; EventLab's tap: {shop.tap.url}", flush=True)
    results: dict[str, dict[str, int]] = {}

    def run(name: str, job: object) -> threading.Thread:
        def target() -> None:
            try:
                results[name] = job()  # type: ignore[operator]
            except EventLabError as exc:
                print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread

    with stop_on_signals(stop):
        threads = [
            run("projector", lambda: aws_shop.consume(config, shop.projector_url,
                                                      rate=args.consumer_rate, stop=stop)),
            run("audit", lambda: aws_shop.consume(config, shop.audit_url, rate=0, stop=stop)),
        ]
        produced = aws_shop.produce(config, shop.topic_arn, events=args.events, rate=args.rate,
                                    seed=args.seed, stop=stop)
        print(f"published: {produced}", flush=True)
        if not args.exit_after_publish:
            stop.wait()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    print(f"consumers: {results}", flush=True)
    return 0


def _register_demo(commands: Commands) -> None:
    sp = commands.add_parser("demo-aws", help="the demo shop on SNS/SQS (for `eventlab "
                                              "aws-local`): topic, queues, DLQ, slow consumer, tap")
    sp.add_argument("--events", type=int, default=3000)
    sp.add_argument("--rate", type=float, default=20.0, help="messages/s published (0: no limit)")
    sp.add_argument("--consumer-rate", type=float, default=8.0,
                    help="messages/s the slow projector reads")
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--exit-after-publish", action="store_true",
                    help="stop the consumers once everything is published")
    sp.set_defaults(func=cmd_demo_aws)
