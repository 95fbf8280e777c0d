"""`eventlab broker`: the local Kafka-protocol broker (Tansu, in memory, 127.0.0.1 only) in the
foreground, detached in the background, or stopping a detached one.

Its errors end the command with status 1 and an `error:` line (a broker that will not start is
not a usage mistake).
"""

from __future__ import annotations

import argparse
import sys

from eventlab.cli.common import Commands, ctrl_c_raises
from eventlab.errors import EventLabError
from eventlab.kafka import broker


def run_foreground(port: int) -> int:
    """Run the broker until Ctrl-C; the exit status."""
    ctrl_c_raises()
    handle = broker.start_broker(port, log_path=None)
    print(f"Kafka broker (Tansu, in memory) listening on {handle.bootstrap}")
    print(f"  bootstrap: {handle.bootstrap}   (EVENTLAB_KAFKA_BOOTSTRAP={handle.bootstrap})")
    print("  press Ctrl-C to stop it; everything it holds is lost when it stops", flush=True)
    try:
        code = handle.process.wait()
    except KeyboardInterrupt:
        print("\nstopping the broker ...", flush=True)
        handle.stop()
        return 0
    print(f"the broker exited on its own with code {code}:\n{broker.log_tail(handle.log_path)}",
          file=sys.stderr)
    handle.stop()
    return 1


def cmd_broker(args: argparse.Namespace) -> int:
    """`eventlab broker [--port 9092] [--detach | --stop]`."""
    try:
        if args.stop:
            if broker.stop_detached(args.port):
                print(f"stopped the broker on 127.0.0.1:{args.port}")
                return 0
            print(f"no detached broker runs on port {args.port} "
                  f"(no live pid file at {broker.pid_path(args.port)})", file=sys.stderr)
            return 1
        if args.detach:
            handle = broker.detach(args.port)
            print(f"Kafka broker (Tansu, in memory) running in the background on "
                  f"{handle.bootstrap} (pid {handle.pid})")
            print(f"  log: {handle.log_path}")
            print(f"  stop it with: eventlab broker --stop --port {args.port}")
            return 0
        return run_foreground(args.port)
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def register(commands: Commands) -> None:
    """Add `broker`."""
    sp = commands.add_parser("broker", help="run a local Kafka-compatible broker (Tansu, in "
                                            "memory, 127.0.0.1 only)")
    sp.add_argument("--port", type=int, default=broker.DEFAULT_PORT,
                    help=f"port on 127.0.0.1 (default {broker.DEFAULT_PORT})")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="run in the background; pid file in .eventlab/broker-PORT.pid")
    mode.add_argument("--stop", action="store_true", help="stop the detached broker on --port")
    sp.set_defaults(func=cmd_broker)
