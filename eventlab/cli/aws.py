"""`eventlab aws-local`: a local SNS/SQS endpoint (moto's emulator) on 127.0.0.1 for demos.

Errors end the command with status 1 and an `error:` line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eventlab.aws import local
from eventlab.cli.common import Commands, ctrl_c_raises
from eventlab.errors import EventLabError


def cmd_aws_local(args: argparse.Namespace) -> int:
    """`eventlab aws-local [--port 4566] [--detach | --stop]`."""
    try:
        if args.stop:
            if local.stop_detached(args.port):
                print(f"stopped the local SNS/SQS endpoint on 127.0.0.1:{args.port}")
                return 0
            print(f"no detached local SNS/SQS endpoint runs on port {args.port} (no live state "
                  f"file at {local.state_path(args.port)})", file=sys.stderr)
            return 1
        if args.detach:
            endpoint = local.detach(args.port)
            _describe(endpoint, "running in the background")
            print(f"  stop it with: eventlab aws-local --stop --port {args.port}")
            return 0
        ctrl_c_raises()
        endpoint = local.start_local(args.port,
                                     log_path=Path(".eventlab") / f"aws-local-{args.port}.log")
        _describe(endpoint, "running")
        print("  press Ctrl-C to stop it; every queue and topic is forgotten when it stops",
              flush=True)
        try:
            while endpoint.running():
                time.sleep(0.5)
        except KeyboardInterrupt:
            endpoint.stop()
            return 0
        print(f"the endpoint exited on its own; see {endpoint.log_path}", file=sys.stderr)
        return 1
    except EventLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _describe(endpoint: local.LocalEndpoint, what: str) -> None:
    print(f"local SNS/SQS endpoint (moto's emulator, not AWS) {what} at {endpoint.url} "
          f"(pid {endpoint.pid})")
    print(f"  EVENTLAB_AWS_ENDPOINT_URL={endpoint.url} AWS_ACCESS_KEY_ID=testing "
          "AWS_SECRET_ACCESS_KEY=testing")
    print(f"  log: {endpoint.log_path}", flush=True)


def register(commands: Commands) -> None:
    """Add `aws-local`."""
    sp = commands.add_parser("aws-local", help="run a local SNS/SQS emulator (moto; "
                                               "127.0.0.1 only)")
    sp.add_argument("--port", type=int, default=local.DEFAULT_PORT,
                    help=f"port on 127.0.0.1 (default {local.DEFAULT_PORT})")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true",
                      help="run in the background; state in .eventlab/aws-local-PORT.json")
    mode.add_argument("--stop", action="store_true", help="stop the detached endpoint on --port")
    sp.set_defaults(func=cmd_aws_local)
