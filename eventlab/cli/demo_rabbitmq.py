"""`eventlab demo-rabbitmq` (the demo shop published through an exchange to a stream, a
classic and a quorum queue with a DLQ) and `eventlab demo-rabbitmq-consumer` (a slow NAMED
stream consumer storing its offset on the broker, plus a worker on the classic queue that
dead-letters the poison). Connection: EVENTLAB_RABBITMQ_* and --host/--port/--stream-port."""

from __future__ import annotations

import argparse
import threading
import time

from eventlab.cli.common import Commands, positive, rate, stop_on_signals
from eventlab.cli.rabbitmq import _connection_args, rabbit_config


def cmd_demo_rabbitmq(args: argparse.Namespace) -> int:
    """Declare the demo topology and publish the shop until done or stopped."""
    from eventlab.demo.rabbitmq_shop import publish_shop

    config = rabbit_config(args)
    stop = threading.Event()
    print(f"publishing {args.events:,} demo events to exchange shop on {config.describe()}",
          flush=True)
    with stop_on_signals(stop):
        report = publish_shop(config, events=args.events, seed=args.seed, rate=args.rate,
                              stop=stop, progress=lambda r: print(r.summary(), flush=True))
    print(report.summary(), flush=True)
    return 0


def cmd_demo_rabbitmq_consumer(args: argparse.Namespace) -> int:
    """Run the named stream consumer (and the queue worker) until Ctrl-C or SIGTERM."""
    from eventlab.demo.rabbitmq_shop import run_queue_worker
    from eventlab.rabbitmq.named_consumer import run_named_consumer
    from eventlab.rabbitmq.publish import ExchangePublisher

    config = rabbit_config(args)
    stop = threading.Event()
    worker: dict[str, object] = {}
    thread = None
    if args.queue:
        def work() -> None:
            try:
                worker["state"] = run_queue_worker(config, args.queue, rate=args.queue_rate,
                                                   stop=stop)
            except Exception as exc:  # noqa: BLE001 - said on stdout, the consumer goes on
                print(f"queue worker stopped: {exc}", flush=True)
        thread = threading.Thread(target=work, name="demo-queue-worker", daemon=True)
    print(f"consuming stream {args.stream} as {args.name} at up to {args.rate:g} messages/s "
          f"(offset stored on the broker); queue worker on {args.queue or '-'}", flush=True)
    with stop_on_signals(stop):
        if thread is not None:
            deadline = time.monotonic() + args.wait
            with ExchangePublisher(config) as pub:
                while not pub.exists("queue", args.queue) \
                        and time.monotonic() < deadline and not stop.is_set():
                    time.sleep(0.5)
            thread.start()
        state = run_named_consumer(config, args.stream, args.name, rate=args.rate, stop=stop,
                                   progress=lambda s: print(s.line(), flush=True),
                                   progress_every_s=args.progress_every,
                                   max_messages=args.max_messages, wait_for_stream_s=args.wait)
        stop.set()
        if thread is not None and thread.is_alive():
            thread.join(timeout=10)
    print(f"stopped: {state.line()}", flush=True)
    if "state" in worker:
        print(f"stopped: {worker['state'].line()}", flush=True)  # type: ignore[attr-defined]
    return 0


def register(commands: Commands) -> None:
    """Add `demo-rabbitmq` and `demo-rabbitmq-consumer`."""
    sp = commands.add_parser("demo-rabbitmq", help="publish the demo shop to RabbitMQ (stream, "
                                                   "classic and quorum queue, DLQ)")
    _connection_args(sp)
    sp.add_argument("--events", type=int, default=50_000)
    sp.add_argument("--seed", type=int, default=42)
    sp.add_argument("--rate", type=rate, default=0.0,
                    help="messages per second (default 0: as fast as confirms allow)")
    sp.set_defaults(func=cmd_demo_rabbitmq)

    sp = commands.add_parser("demo-rabbitmq-consumer",
                             help="a slow named stream consumer (offset stored on the broker) "
                                  "and a queue worker that dead-letters poison")
    _connection_args(sp)
    sp.add_argument("--stream", default="shop-events")
    sp.add_argument("--name", default="shop-projector",
                    help="the consumer name its offset is stored under (default shop-projector)")
    sp.add_argument("--rate", type=rate, default=100.0,
                    help="stream messages processed per second (default 100; 0: no limit)")
    sp.add_argument("--queue", default="shop-orders",
                    help="classic queue the worker consumes ('' for none; default shop-orders)")
    sp.add_argument("--queue-rate", type=rate, default=200.0,
                    help="queue messages per second (default 200; 0: no limit)")
    sp.add_argument("--max-messages", type=positive,
                    help="stop after this many stream messages (default: run until stopped)")
    sp.add_argument("--progress-every", type=float, default=2.0, metavar="SECONDS")
    sp.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="wait up to this long for the stream and queue to appear")
    sp.set_defaults(func=cmd_demo_rabbitmq_consumer)
