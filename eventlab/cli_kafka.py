"""Kafka commands of `eventlab`: `broker`, `demo-consumer`, and `demo --kafka` (`demo_to_kafka`).

Kafka modules are imported inside the commands, so other commands start fast. Connection
security (SSL/SASL) comes from the EVENTLAB_KAFKA_* environment variables
(`eventlab.kafka.config.ENV_VARS`); the bootstrap given on the command line replaces
EVENTLAB_KAFKA_BOOTSTRAP.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from eventlab.errors import SourceError

if TYPE_CHECKING:
    from eventlab.kafka.config import KafkaConfig

BROKER_PORT = 9092  # eventlab.kafka.broker.BROKER_PORT, without importing Kafka at startup


def _config(bootstrap: str | None) -> KafkaConfig:
    """Settings from the environment, with the command line's bootstrap if given."""
    from eventlab.kafka.config import KafkaConfig

    config = KafkaConfig.from_env()
    return dataclasses.replace(config, bootstrap=bootstrap) if bootstrap else config


def _rate(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the rate must be >= 0 (0: no limit)")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set `stop` (a clean stop) instead of raising, while inside."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# -- demo --kafka ------------------------------------------------------------------------------

def add_demo_kafka_arguments(sp: argparse.ArgumentParser) -> None:
    """The Kafka options of `eventlab demo` (used with --kafka)."""
    sp.add_argument("--topic", help="topic to produce to (with --kafka)")
    sp.add_argument("--rate", type=_rate, default=0.0,
                    help="records per second (default 0: as fast as possible)")
    sp.add_argument("--cloudevents", choices=["binary", "structured"],
                    help="CloudEvents 1.0 instead of the JSON envelope: binary (ce_ headers, "
                         "value = data) or structured (one JSON document)")
    sp.add_argument("--partitions", type=_positive, default=3,
                    help="partitions when the topic is created (default 3)")


def demo_to_kafka(args: argparse.Namespace) -> int:
    """`eventlab demo --kafka B --topic T ...`: produce the demo and print a summary."""
    from eventlab.kafka.produce import produce_demo

    if not args.topic:
        raise SourceError("--kafka needs --topic TOPIC (the topic to produce the demo to)")
    config = _config(args.kafka)
    tty = sys.stderr.isatty()

    def progress(sent: int, seconds: float) -> None:
        if tty:
            sys.stderr.write(f"\r{sent:,} records in {seconds:.0f} s ({sent / seconds:,.0f}/s)")
            sys.stderr.flush()

    report = produce_demo(config, args.topic, events=args.events, seed=args.seed,
                          mode=args.cloudevents or "envelope", rate=args.rate,
                          partitions=args.partitions, progress=progress)
    if tty:
        sys.stderr.write("\n")
    print(report.summary())
    return 0


# -- demo-consumer -----------------------------------------------------------------------------

def cmd_demo_consumer(args: argparse.Namespace) -> int:
    """Run the slow demo consumer group until Ctrl-C or SIGTERM."""
    from eventlab.kafka.democonsumer import run_demo_consumer

    config = _config(args.bootstrap)
    stop = threading.Event()
    print(f"consuming {args.topic} as group {args.group} at up to {args.rate:g} records/s on "
          f"{config.bootstrap}; Ctrl-C or SIGTERM stops it (the first records may take a few "
          "seconds: the group is joining)", flush=True)

    def progress(state: Any) -> None:
        print(state.line(), flush=True)

    with _stop_on_signals(stop):
        state = run_demo_consumer(config, args.topic, args.group, rate=args.rate, stop=stop,
                                  progress=progress, progress_every_s=args.progress_every,
                                  max_records=args.max_records)
    print(f"stopped: {state.line()}", flush=True)
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    """`eventlab broker`: hand over to `eventlab.kafka.broker.broker_main`."""
    from eventlab.kafka.broker import broker_main

    argv = ["--port", str(args.port)]
    if args.detach:
        argv.append("--detach")
    if args.stop:
        argv.append("--stop")
    return broker_main(argv)


def register(sub: Any) -> None:
    """Add `broker` and `demo-consumer` to the `eventlab` subcommands."""
    sp = sub.add_parser("broker", help="run a local Kafka-compatible broker (Tansu, in memory, "
                                       "127.0.0.1 only)")
    sp.add_argument("--port", type=int, default=BROKER_PORT,
                    help=f"port on 127.0.0.1 (default {BROKER_PORT})")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="run in the background; pid file in .eventlab/broker-PORT.pid")
    mode.add_argument("--stop", action="store_true", help="stop the detached broker on --port")
    sp.set_defaults(func=cmd_broker)

    sp = sub.add_parser("demo-consumer",
                        help="a slow consumer group on a topic, so its lag is visible")
    sp.add_argument("--bootstrap",
                    help="bootstrap servers (default: $EVENTLAB_KAFKA_BOOTSTRAP or "
                         "127.0.0.1:9092)")
    sp.add_argument("--topic", required=True)
    sp.add_argument("--group", required=True, help="consumer group id")
    sp.add_argument("--rate", type=_rate, default=100.0,
                    help="records processed per second (default 100; 0: no limit)")
    sp.add_argument("--max-records", type=_positive,
                    help="stop after this many records (default: run until stopped)")
    sp.add_argument("--progress-every", type=float, default=2.0, metavar="SECONDS",
                    help="seconds between progress lines (default 2)")
    sp.set_defaults(func=cmd_demo_consumer)
