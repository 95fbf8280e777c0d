"""`eventlab republish`: the CLI twin of the Republish page (dry run, execute, resume).

A selection (--ids FILE, --sql, --entity, --dlq) is planned first (the dry run, written to
the ledger and the audit log); --execute then sends exactly that plan. --resume JOB_ID goes
on with an existing job: unknown records are settled by reading the target, then only what
is not acknowledged is sent (an SQS/SNS target that cannot be read back keeps them unknown;
--resend-unknown sends them again with the user's consent to the duplicate risk).
--to-rabbitmq-stream / --to-rabbitmq-exchange / --to-rabbitmq-queues
write into RabbitMQ (EVENTLAB_RABBITMQ_* or --rabbitmq-host/--rabbitmq-port/
--rabbitmq-stream-port) instead of Kafka; --to-sqs QUEUE / --to-sns TOPIC_ARN write into SQS or
SNS (EVENTLAB_AWS_*), and --dlq QUEUE --to-sqs-redrive sends an SQS dead-letter queue's stored
messages back to its source queue; a resumed job uses the broker its plan names.
Read-only mode (EVENTLAB_READ_ONLY) and the topic allow-list
(EVENTLAB_REPUBLISH_TOPICS) refuse inside the republish functions; refusals are audited.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import Any

from eventlab.cli.common import Commands, add_db, kafka_config, print_json, rate, stop_on_signals
from eventlab.errors import EventLabError, StoreError


def _ids(path: str) -> list[str]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _selection(args: argparse.Namespace) -> Any:
    from eventlab.republish import Selection

    if args.ids:
        return Selection.ids(_ids(args.ids), label=f"ids from {args.ids}")
    if args.sql:
        return Selection.query(args.sql, label="CLI query")
    if args.entity:
        return Selection.entity(args.entity, args.from_seq, args.to_seq, label="CLI entity")
    return Selection.dlq(args.dlq, label="CLI dead-letter topic")


def _confirm(plan: Any, yes: bool) -> str | None:
    if not plan.confirm:
        return None
    if yes:
        return ", ".join(plan.confirm)
    if sys.stdin.isatty():
        print(f"Sending into source topic(s) {', '.join(plan.confirm)}. Type the name(s) to "
              "confirm:", file=sys.stderr)
        return sys.stdin.readline().strip()
    return None  # refused (and audited) by execute


def _print(obj: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(obj)
        return
    keys = ("job_id", "dry_run", "status", "target_topic", "planned", "sent", "failed",
            "unknown", "unsent", "lost", "bytes", "tombstones", "skipped")
    for k in keys:
        if k in obj:
            print(f"{k}: {obj[k]}")
    for w in obj.get("warnings", []):
        print(f"warning: {w}")
    for n in obj.get("notes", []):
        print(f"note: {n}")
    if obj.get("error"):
        print(f"error: {obj['error']}", file=sys.stderr)
    for r in obj.get("records", [])[:50]:
        print(f"  #{r['n']} {r['src_topic']}/{r['src_partition']}@{r['src_offset']} "
              f"{r['event_id'] or ''} -> {r['target_topic']}[{r['target_partition']}] "
              f"{r['bytes']} B")
    if len(obj.get("records", [])) > 50:
        print(f"  ... {len(obj['records']) - 50:,} more (--json lists every record)")


def _target(args: argparse.Namespace) -> tuple[str, str | None]:
    """(target kind, target name) from the --to-* options."""
    from eventlab.republish import plan as planning

    if args.to_sqs is not None:
        return planning.SQS, args.to_sqs.rstrip("/").rsplit("/", 1)[-1]  # a URL's name
    if args.to_sns is not None:
        return planning.SNS, args.to_sns.rsplit(":", 1)[-1]
    if args.to_sqs_redrive is not None:
        return planning.SQS, args.to_sqs_redrive or None
    if args.to_rabbitmq_exchange is not None:
        return planning.RABBITMQ_EXCHANGE, args.to_rabbitmq_exchange
    if args.to_rabbitmq_queues:
        return planning.RABBITMQ_QUEUE, None
    if args.to_rabbitmq_stream is not None:
        return planning.RABBITMQ_STREAM, args.to_rabbitmq_stream or None
    return planning.KAFKA, args.to


def _connection(args: argparse.Namespace, kind: str) -> Any:
    """The Kafka or RabbitMQ settings a target of `kind` needs."""
    from eventlab.cli.rabbitmq import rabbit_config
    from eventlab.republish import plan as planning

    if kind in (planning.SQS, planning.SNS):
        from eventlab.aws.config import AwsConfig

        return AwsConfig.from_env()
    if kind != planning.KAFKA:
        return rabbit_config(args)
    if not args.bootstrap:
        raise EventLabError("--bootstrap is needed to republish into Kafka (or give "
                            "--to-rabbitmq-stream, --to-rabbitmq-exchange or --to-rabbitmq-queues)")
    return kafka_config(args.bootstrap)


def cmd_republish(args: argparse.Namespace) -> int:
    """Plan, dry-run, execute or resume a republish."""
    from eventlab import republish
    from eventlab.republish.plan import PlanOptions
    from eventlab.republish.run import DryRun
    from eventlab.store.eventstore import EventStore, resolve_db_path

    has_selection = any((args.ids, args.sql, args.entity, args.dlq))
    if args.resend_unknown and not (args.resume and args.execute):
        raise EventLabError("--resend-unknown goes with --resume JOB_ID --execute")
    if has_selection == bool(args.resume):
        raise EventLabError("give exactly one of --ids, --sql, --entity, --dlq, or --resume "
                            "JOB_ID")
    path = resolve_db_path(args.db)
    if not path.exists():
        raise StoreError(f"No database at {path}. Load data first (`eventlab ingest ...`) or "
                         "pass --db / set EVENTLAB_DB.")
    kind, target = _target(args)
    if kind != "kafka" and args.to:
        raise EventLabError("give either --to (Kafka) or a --to-rabbitmq-*/--to-sqs*/--to-sns "
                            "target, not both")
    if args.routing_key is not None and kind != "rabbitmq-exchange":
        raise EventLabError("--routing-key goes with --to-rabbitmq-exchange")
    cancel = threading.Event()
    with EventStore(path) as store, stop_on_signals(cancel):
        if args.resume:
            job_id = args.resume
            if args.dry_run:
                found = republish.report(store, job_id)
                if found is None:
                    raise EventLabError(f"no republish job {job_id} in {path}")
                _print({**found.to_dict(), "dry_run": True}, args.json)
                return 0
            with store.reading() as cur:
                from eventlab.republish import ledger

                row = ledger.job(cur, job_id)
            config = _connection(args, row.plan.target_kind if row else kind)
            confirm = _confirm(row.plan, args.yes) if row else None
            action = "resume"
            if args.resend_unknown:
                from eventlab.republish.aws_consent import RISK, resend_unknown

                n = resend_unknown(store, job_id)
                print(f"sending {n:,} unknown record(s) again: {RISK}", file=sys.stderr)
        else:
            from eventlab.republish import guards
            from eventlab.republish import plan as planning

            dlq_header = guards.dlq_header()
            if kind == "rabbitmq-queue":
                if not args.dlq:
                    raise EventLabError("--to-rabbitmq-queues redrives a dead-letter queue: "
                                        "give --dlq with the stored queue or stream")
                dlq_header = planning.RABBITMQ_DLQ_HEADER
            config = _connection(args, kind)
            selection = None
            if args.to_sqs_redrive is not None:
                from eventlab.republish.aws_target import redrive

                if not args.dlq:
                    raise EventLabError("--to-sqs-redrive redrives an SQS dead-letter queue: "
                                        "give --dlq with the stored queue's name")
                selection, config, target = redrive(config, args.dlq, target)
            options = PlanOptions(target=target, timestamp=args.timestamp,
                                  reason=args.reason or "", dlq_header=dlq_header,
                                  drop_dlq_headers=args.drop_dead_letter_headers,
                                  create_topics=guards.create_topics(), target_kind=kind,
                                  routing_key=args.routing_key)
            dry: DryRun = republish.dry_run(store, config, selection or _selection(args),
                                            options)
            if args.dry_run:
                _print(dry.to_dict(with_records=True), args.json)
                return 0
            job_id, action = dry.plan.job_id, "execute"
            confirm = _confirm(dry.plan, args.yes)
        result = republish.execute(
            store, config, job_id, confirm=confirm, rate=args.rate or None, cancel=cancel,
            action=action, starting=lambda: print(f"republish job {job_id}: sending",
                                                  file=sys.stderr, flush=True))
    _print(result.to_dict(), args.json)
    return 0 if result.status == "done" else 1


def register(commands: Commands) -> None:
    """Add `republish`."""
    sp = add_db(commands.add_parser(
        "republish", help="re-send stored events to Kafka, RabbitMQ, SQS or SNS: dry run, execute, "
             "resume",
        description="Select (--ids/--sql/--entity/--dlq), then --dry-run or --execute; "
                    "--resume JOB_ID goes on with a planned or interrupted job."))
    sel = sp.add_mutually_exclusive_group()
    sel.add_argument("--ids", metavar="FILE", help="file with one event id per line (- = stdin)")
    sel.add_argument("--sql", metavar="QUERY",
                     help="read-only query returning event_id, or topic, partition, offset")
    sel.add_argument("--entity", metavar="ID", help="one entity's events")
    sel.add_argument("--dlq", metavar="TOPIC", help="redrive a (loaded) dead-letter topic to "
                                                    "the topics named in its headers")
    sp.add_argument("--from-seq", type=int, help="with --entity: first seq (inclusive)")
    sp.add_argument("--to-seq", type=int, help="with --entity: last seq (inclusive)")
    sp.add_argument("--bootstrap", help="Kafka bootstrap servers host:port (Kafka targets)")
    sp.add_argument("--to", metavar="TOPIC",
                    help="target topic (default: <topic>.replay.<job> per source topic)")
    rmq = sp.add_mutually_exclusive_group()
    rmq.add_argument("--to-rabbitmq-stream", nargs="?", const="", metavar="STREAM",
                     help="into a RabbitMQ stream, deduplicated (default name: "
                          "<topic>.replay.<job>, created)")
    rmq.add_argument("--to-rabbitmq-exchange", metavar="EXCHANGE",
                     help="into a RabbitMQ exchange, with confirms and mandatory routing")
    rmq.add_argument("--to-rabbitmq-queues", action="store_true",
                     help="with --dlq: each dead letter back to the queue in its "
                          "x-first-death-queue header")
    rmq.add_argument("--to-sqs", metavar="QUEUE", help="into an SQS queue (name or URL)")
    rmq.add_argument("--to-sns", metavar="TOPIC_ARN", help="into an SNS topic (ARN or name)")
    rmq.add_argument("--to-sqs-redrive", nargs="?", const="", metavar="QUEUE",
                     help="with --dlq DLQ: the stored SQS dead letters back to the queue whose "
                          "redrive policy names DLQ (or QUEUE, one of those)")
    sp.add_argument("--routing-key", help="with --to-rabbitmq-exchange (default: the "
                                          "record's x-routing-key, else empty)")
    sp.add_argument("--drop-dead-letter-headers", action="store_true",
                    help="with --dlq: leave out the dead-letter headers (kafka_dlt-*, or "
                         "RabbitMQ's x-death, x-first-death-*, x-last-death-*)")
    sp.add_argument("--rabbitmq-host", dest="host", help="RabbitMQ host ($EVENTLAB_RABBITMQ_HOST)")
    sp.add_argument("--rabbitmq-port", dest="port", type=int, help="RabbitMQ AMQP port")
    sp.add_argument("--rabbitmq-stream-port", dest="stream_port", type=int,
                    help="RabbitMQ stream port")
    sp.add_argument("--reason", help="why (sent as eventlab-reason, kept in the audit log)")
    sp.add_argument("--rate", type=rate, default=0.0, help="records per second (0: no limit)")
    sp.add_argument("--timestamp", choices=("original", "now"), default="original")
    mode = sp.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="plan and list; send nothing")
    mode.add_argument("--execute", action="store_true", help="plan (or resume) and send")
    sp.add_argument("--yes", action="store_true",
                    help="with --execute: confirm sending into a source topic")
    sp.add_argument("--resume", metavar="JOB_ID", help="go on with this job")
    sp.add_argument("--resend-unknown", action="store_true",
                    help="with --resume into SQS/SNS: send the job's unknown records again, "
                         "consenting that each may then be in the target twice (audited)")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.set_defaults(func=cmd_republish)
