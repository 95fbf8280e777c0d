"""`eventlab produce`: compose one message, see its exact bytes (dry run), send it.

Into a Kafka topic (--topic), or a RabbitMQ stream (--to-rabbitmq-stream) or exchange
(--to-rabbitmq-exchange with --routing-key) through EVENTLAB_RABBITMQ_* (or --rabbitmq-host /
--rabbitmq-port / --rabbitmq-stream-port); --message-id, --correlation-id, --content-type and
--type set the RabbitMQ properties, --header its application properties in order. A corrected
copy of an event read from a RabbitMQ stream goes back to that stream unless told otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
from pathlib import Path
from typing import Any

from eventlab.cli.common import Commands, add_db, kafka_config, print_json

FORMATS = ("json", "text", "hex", "none")  # eventlab.produce.plan.FORMATS, kept light
PROPERTIES = ("message_id", "correlation_id", "content_type", "type")  # RABBIT_PROPERTIES


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("a header is NAME=VALUE")
    return name, value


def _draft(args: argparse.Namespace, store: Any) -> Any:
    from eventlab.produce import prefill
    from eventlab.produce.plan import Draft
    from eventlab.timeutil import parse_utc

    if args.from_event or args.example_of:
        with store.reading() as cur:
            draft = (prefill.from_event(cur, args.from_event) if args.from_event
                     else prefill.latest_example(cur, args.example_of))
    else:
        draft = Draft(topic=args.topic or "")
    changes: dict[str, Any] = {}
    if args.topic:
        changes.update(topic=args.topic, target_kind="kafka")
    if args.to_rabbitmq_stream:
        changes.update(topic=args.to_rabbitmq_stream, target_kind="rabbitmq-stream")
    if args.to_rabbitmq_exchange is not None:
        changes.update(topic=args.to_rabbitmq_exchange, target_kind="rabbitmq-exchange",
                       routing_key=args.routing_key or "")
    elif args.routing_key is not None:
        changes["routing_key"] = args.routing_key
    props = dict(draft.properties)
    for name in PROPERTIES:
        if getattr(args, name) is not None:
            props[name] = getattr(args, name)
    if props:
        changes["properties"] = tuple(props.items())
    if args.value is not None or args.value_file:
        changes["value"] = (Path(args.value_file).read_text(encoding="utf-8")
                            if args.value_file else args.value)
        changes["value_format"] = args.format
    elif args.format == "none":
        changes.update(value=None, value_format="none")
    if args.key is not None:
        changes.update(key=args.key, key_format=args.key_format)
    if args.header:
        changes.update(headers=tuple(args.header), header_format="text")
    if args.partition is not None:
        changes["partition"] = args.partition
    if args.timestamp:
        changes["timestamp"] = parse_utc(args.timestamp)
    if args.reason:
        changes["reason"] = args.reason
    return dataclasses.replace(draft, **changes)


def _show(plan: Any) -> None:
    d = plan.to_dict()
    print(f"dry run {plan.produce_id}: 1 message to {plan.target()}, {plan.bytes} bytes")
    for p in d["properties"]:
        print(f"property {p['key']}: 0x{p['hex']}  ({p['text']})")
    for name in ("key", "value"):
        part = d[name]
        print(f"{name}: " + ("null" if part is None else f"0x{part['hex']}"
                             + (f"  ({part['text']})" if part["text"] is not None else "")))
    for h in d["headers"]:
        print(f"header {h['key']}: 0x{h['hex']}" + (f"  ({h['text']})" if h["text"] else ""))
    print(f"timestamp_ms: {plan.timestamp_ms if plan.timestamp_ms is not None else 'now'}")
    for note in plan.notes:
        print(f"note: {note}")


def cmd_produce(args: argparse.Namespace) -> int:
    """Plan the message (always shown), and with --execute send it."""
    from eventlab.produce.send import dry_run, send
    from eventlab.store.eventstore import EventStore, resolve_db_path

    aws = "sqs" if args.to_sqs else "sns" if args.to_sns else None
    if aws is not None:  # SQS/SNS: eventlab/produce/aws_send.py, the same guards and audit
        from eventlab.produce import aws_send

        args.topic = (args.to_sqs or args.to_sns).rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        dry_run = functools.partial(aws_send.dry_run, kind=aws)  # type: ignore[assignment]
        send = functools.partial(aws_send.send, kind=aws)  # type: ignore[assignment]
    with EventStore(resolve_db_path(args.db)) as store:
        draft = _draft(args, store)
        if aws is not None:
            from eventlab.aws.config import AwsConfig

            config: Any = AwsConfig.from_env()
        elif draft.target_kind == "kafka":
            config = kafka_config(args.bootstrap)
        else:
            from eventlab.cli.rabbitmq import rabbit_config

            config = rabbit_config(args)
        plan = dry_run(store, config, draft)
        if not args.execute:
            if args.json:
                print_json({"dry_run": True, **plan.to_dict()})
            else:
                _show(plan)
            return 0
        result = send(store, config, plan, confirm=args.confirm)
    if args.json:
        print_json({"dry_run": False, **plan.to_dict(), **dataclasses.asdict(result)})
    else:
        _show(plan)
        print(f"sent: {result.state}" + (f", partition {result.partition} offset "
                                         f"{result.offset}" if result.offset is not None else
                                         f" ({result.error})" if result.error else ""))
    return 0 if result.state == "acked" else 1


def register(commands: Commands) -> None:
    """Add `produce`."""
    sp = add_db(commands.add_parser(
        "produce", help="send one message composed by hand (dry run first; guarded, audited)"))
    sp.add_argument("--bootstrap", help="host:port[,...] (default $EVENTLAB_KAFKA_BOOTSTRAP)")
    target = sp.add_mutually_exclusive_group()
    target.add_argument("--topic", help="target Kafka topic (default: the prefilled event's)")
    target.add_argument("--to-rabbitmq-stream", metavar="STREAM",
                        help="a RabbitMQ stream (it must exist; deduplicated by the produce id)")
    target.add_argument("--to-rabbitmq-exchange", metavar="EXCHANGE",
                        help="a RabbitMQ exchange (confirms, mandatory: unroutable is said)")
    target.add_argument("--to-sqs", metavar="QUEUE", help="into this SQS queue (name or URL; "
                                                          "EVENTLAB_AWS_*)")
    target.add_argument("--to-sns", metavar="TOPIC_ARN", help="into this SNS topic (ARN or name)")
    sp.add_argument("--routing-key", help="with --to-rabbitmq-exchange (default: empty)")
    for name in PROPERTIES:
        sp.add_argument(f"--{name.replace('_', '-')}", dest=name,
                        help=f"RabbitMQ property {name}")
    sp.add_argument("--rabbitmq-host", dest="host", help="RabbitMQ host ($EVENTLAB_RABBITMQ_HOST)")
    sp.add_argument("--rabbitmq-port", dest="port", type=int, help="RabbitMQ AMQP port")
    sp.add_argument("--rabbitmq-stream-port", dest="stream_port", type=int,
                    help="RabbitMQ stream protocol port")
    sp.add_argument("--partition", type=int, help="default: by the key, else 0")
    sp.add_argument("--key", help="the key (see --key-format)")
    sp.add_argument("--key-format", choices=FORMATS, default="text")
    src = sp.add_mutually_exclusive_group()
    src.add_argument("--value", help="the value (see --format)")
    src.add_argument("--value-file", help="read the value from this file")
    sp.add_argument("--format", choices=FORMATS, default="json",
                    help="json (checked, sent as typed; default), text, hex, none (tombstone)")
    sp.add_argument("--header", type=_header, action="append", metavar="NAME=VALUE",
                    help="repeatable, in order; replaces prefilled headers (RabbitMQ: the "
                         "application properties)")
    sp.add_argument("--timestamp", help="ISO 8601 (naive = UTC); default: now (RabbitMQ: "
                                        "no timestamp property)")
    pre = sp.add_mutually_exclusive_group()
    pre.add_argument("--from-event", metavar="EVENT_ID",
                     help="prefill from a stored event: a corrected copy")
    pre.add_argument("--example-of", metavar="EVENT_TYPE",
                     help="prefill from the newest stored event of this type")
    sp.add_argument("--reason", help="recorded in the eventlab-reason header and the audit")
    mode = sp.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="show the exact bytes; send nothing")
    mode.add_argument("--execute", action="store_true", help="plan and send")
    sp.add_argument("--confirm", metavar="TOPIC",
                    help="the topic's name, typed back, when EventLab loaded from it")
    sp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    sp.set_defaults(func=cmd_produce)
