"""What several command groups share: the --db option, JSON output, the checks and argument
types they repeat, and a clean stop on Ctrl-C / SIGTERM. Light imports only."""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from eventlab.errors import StoreError
from eventlab.ingest.mapping import MappingSpec, load_spec

if TYPE_CHECKING:
    from eventlab.kafka.config import KafkaConfig
    from eventlab.store.eventstore import EventStore

Commands = argparse._SubParsersAction
"""What `register(commands)` gets: the subparsers of the `eventlab` parser."""


def add_db(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The --db option every command that opens a database takes."""
    sp.add_argument("--db", help="database file (default: $EVENTLAB_DB or "
                                 ".eventlab/eventlab.duckdb)")
    return sp


def print_json(obj: Any) -> None:
    """One JSON object on stdout (non-JSON values as their text)."""
    print(json.dumps(obj, default=str, ensure_ascii=False))


def open_existing(path: str | None) -> EventStore:
    """The database a read command opens, read-only; a missing file is an error, not a new
    database."""
    from eventlab.store.eventstore import EventStore, resolve_db_path

    resolved = resolve_db_path(path)
    if not resolved.exists():
        raise StoreError(f"No database at {resolved}. Load data first (`eventlab ingest ...`) "
                         "or pass --db / set EVENTLAB_DB.")
    return EventStore(resolved, read_only=True)


def mapping_spec(args: argparse.Namespace) -> MappingSpec:
    """The mapping a load command was given: --mapping FILE, else --preset (default auto)."""
    if getattr(args, "mapping", None):
        return load_spec(args.mapping)
    return MappingSpec(preset=getattr(args, "preset", None) or "auto")


def kafka_config(bootstrap: str | None) -> KafkaConfig:
    """Kafka settings from EVENTLAB_KAFKA_*, with the command line's bootstrap if given."""
    from eventlab.kafka.config import KafkaConfig

    config = KafkaConfig.from_env()
    return dataclasses.replace(config, bootstrap=bootstrap) if bootstrap else config


def rate(text: str) -> float:
    """An argument type: records per second, 0 for no limit."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("the rate must be >= 0 (0: no limit)")
    return value


def positive(text: str) -> int:
    """An argument type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def ctrl_c_raises() -> None:
    """Make Ctrl-C (SIGINT) raise KeyboardInterrupt in a foreground command even when the
    process started with SIGINT ignored (Python then keeps it ignored: a parent that ignores it,
    such as a test runner's worker, would leave `eventlab broker` deaf to its own "press
    Ctrl-C")."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
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
