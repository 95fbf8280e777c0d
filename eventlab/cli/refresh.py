"""`eventlab refresh`: bring every per-data-version fact of a database up to date at once."""

from __future__ import annotations

import argparse
import time

from eventlab.cli.common import Commands, add_db


def cmd_refresh(args: argparse.Namespace) -> int:
    """Refresh the summaries, follows facts, current states, payload shapes and search index,
    saying what each did and how long it took (the pages do the same lazily, one by one)."""
    from eventlab.cli.common import open_existing
    from eventlab.facts import FACTS
    from eventlab.store.eventstore import EventStore

    with open_existing(args.db) as probe:  # a missing file is an error, not a new database
        path = probe.path
    with EventStore(path) as store:
        for name, run in FACTS.items():
            started = time.perf_counter()
            did = run(store)
            print(f"{name:15} {did:12} {time.perf_counter() - started:8.1f} s")
    return 0


def register(commands: Commands) -> None:
    """Add `refresh`."""
    sp = add_db(commands.add_parser(
        "refresh", help="bring the per-data-version facts (summaries, follows, current "
                        "states, payload shapes, search index) up to date, e.g. once after a "
                        "large ingest"))
    sp.set_defaults(func=cmd_refresh)
