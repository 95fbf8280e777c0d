"""`eventlab lag`: consumer groups' lag in records and seconds, rate, time to catch up and
Burrow's verdict; `--watch SECONDS` samples into the database until interrupted."""

from __future__ import annotations

import argparse
import threading
from typing import TYPE_CHECKING, Any

from eventlab.cli.common import (
    Commands,
    add_db,
    kafka_config,
    positive,
    print_json,
    stop_on_signals,
)
from eventlab.errors import SourceError, StoreError

if TYPE_CHECKING:
    from eventlab.lag.snapshot import LagSnapshot
    from eventlab.store.eventstore import EventStore

JSON_KEYS = ("group", "topic", "partition", "committed", "end", "lag", "lag_seconds",
             "lag_seconds_estimated", "lag_seconds_source", "rate_per_s", "eta_seconds",
             "status", "reason")


def _open(path: str | None, *, write: bool) -> EventStore | None:
    """The database: read-write for --watch; else read-only if it exists (history and stored
    timestamps), none when absent or busy and not asked for explicitly."""
    from eventlab.store.eventstore import EventStore, resolve_db_path

    resolved = resolve_db_path(path)
    if write:
        return EventStore(resolved)
    if not resolved.exists():
        if path:
            raise StoreError(f"No database at {resolved}: drop --db, or sample into it with "
                             "--watch SECONDS")
        return None
    try:
        return EventStore(resolved, read_only=True)
    except StoreError:
        if path:
            raise
        return None


def rows(snapshot: LagSnapshot) -> list[dict[str, Any]]:
    """The --json objects, one per group and partition."""
    return [{k: p.to_dict()[k] for k in JSON_KEYS} for p in snapshot.rows()]


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.1f}{unit}"


def print_table(snapshot: LagSnapshot) -> None:
    """A readable table, one line per group and partition, each group's verdict first."""
    from datetime import UTC, datetime

    from eventlab.timeutil import format_utc

    print(f"# {snapshot.bootstrap} at {format_utc(datetime.fromtimestamp(snapshot.taken_at, UTC))}")
    for note in snapshot.notes:
        print(f"# note: {note}")
    if not snapshot.groups:
        print("no consumer groups")
    for g in snapshot.groups:
        members = "unknown" if g.info.members is None else str(len(g.info.members))
        print(f"{g.group}  state={g.info.state} members={members}  lag={g.total_lag:,}"
              + (f" (+{g.no_commit} partition(s) with no commit)" if g.no_commit else "")
              + f"  {g.status}: {g.reason}")
        for p in g.partitions:
            committed = "no commit" if p.committed is None else f"{p.committed:,}"
            secs = _num(p.lag_seconds, " s") + (" (estimated)" if p.lag_seconds_estimated else "")
            lag = "-" if p.lag is None else f"{p.lag:,}"
            print(f"  {p.topic}/{p.partition}  committed={committed} end={p.end:,} lag={lag} "
                  f"lag_seconds={secs} rate={_num(p.rate_per_s, '/s')} "
                  f"eta={_num(p.eta_seconds, ' s')} {p.status}")


def cmd_lag(args: argparse.Namespace) -> int:
    """One snapshot (printed), or --watch: sample every SECONDS into the database."""
    from eventlab.lag import sampler
    from eventlab.lag.snapshot import take_snapshot

    if args.rabbitmq:
        return _rabbitmq_lag(args)
    config = kafka_config(args.bootstrap)
    groups = args.group or None
    opts = {"window": args.window, "allowed_lag": args.allowed_lag}
    store = _open(args.db, write=args.watch is not None)
    try:
        if args.watch is None:
            show(take_snapshot(config, store, groups, **opts), args.json)
            return 0
        assert store is not None
        stop = threading.Event()
        with stop_on_signals(stop):
            n = sampler.watch(config, store, args.watch, stop, groups,
                              on_sample=lambda s: show(s, args.json), **opts)
        if not args.json:
            print(f"stopped after {n} sample(s) into {store.path}")
        return 0
    finally:
        if store is not None:
            store.close()


def _rabbitmq_lag(args: argparse.Namespace) -> int:
    """`--rabbitmq`: named stream consumers (each --consumer on each --stream)."""
    import time

    from eventlab.cli.rabbitmq import rabbit_config
    from eventlab.lag import samples
    from eventlab.lag.rabbitmq_lag import take_stream_snapshot

    config = rabbit_config(args)
    streams = list(args.stream or ())
    if getattr(args, "super_stream", None):  # each partition is a stream: S-0, S-1, ...
        from eventlab.rabbitmq.superstreams import partitions

        streams += [p for s in args.super_stream for p in partitions(config, s)]
    if not streams or not args.consumer:
        raise SourceError("--rabbitmq needs --stream (or --super-stream) and --consumer (the "
                          "names the consumers store their offsets under)")
    pairs = [(s, c) for s in streams for c in args.consumer]
    opts = {"window": args.window, "allowed_lag": args.allowed_lag}
    store = _open(args.db, write=args.watch is not None)
    try:
        if args.watch is None:
            show(take_stream_snapshot(config, pairs, store, **opts), args.json)
            return 0
        assert store is not None
        stop = threading.Event()
        n = 0
        with stop_on_signals(stop):
            while not stop.is_set():
                began = time.monotonic()
                snapshot = take_stream_snapshot(config, pairs, store, **opts)
                samples.write(store, snapshot.sample_rows())
                n += 1
                show(snapshot, args.json)
                stop.wait(max(0.0, args.watch - (time.monotonic() - began)))
        if not args.json:
            print(f"stopped after {n} sample(s) into {store.path}")
        return 0
    finally:
        if store is not None:
            store.close()


def show(snapshot: LagSnapshot, as_json: bool) -> None:
    if as_json:
        print_json(rows(snapshot))
    else:
        print_table(snapshot)


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0.1:
        raise argparse.ArgumentTypeError("the interval must be at least 0.1 s")
    return value


def register(commands: Commands) -> None:
    """Add `lag`."""
    sp = add_db(commands.add_parser(
        "lag", help="consumer groups' lag in records and seconds, with Burrow's verdicts"))
    sp.add_argument("--bootstrap", help="host:port (default: $EVENTLAB_KAFKA_BOOTSTRAP)")
    sp.add_argument("--group", action="append", help="only this group (repeatable)")
    sp.add_argument("--rabbitmq", action="store_true",
                    help="RabbitMQ named stream consumers instead of Kafka groups "
                         "(EVENTLAB_RABBITMQ_*; with --stream and --consumer)")
    sp.add_argument("--stream", action="append", help="with --rabbitmq: a stream (repeatable)")
    sp.add_argument("--super-stream", action="append",
                    help="with --rabbitmq: each partition stream of a super stream (repeatable)")
    sp.add_argument("--consumer", action="append",
                    help="with --rabbitmq: a consumer name (repeatable)")
    sp.add_argument("--json", action="store_true", help="a JSON list, one object per partition")
    sp.add_argument("--watch", type=_seconds, metavar="SECONDS",
                    help="sample every SECONDS into the database until interrupted")
    sp.add_argument("--window", type=positive, default=10,
                    help="samples a verdict looks at (default 10)")
    sp.add_argument("--allowed-lag", type=int, default=0,
                    help="lag (records) that is never a problem (default 0)")
    sp.set_defaults(func=cmd_lag)
