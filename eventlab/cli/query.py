"""`eventlab sql` (one sandboxed read-only query) and `eventlab stats` (a database's numbers)."""

from __future__ import annotations

import argparse
import sys

from eventlab.cli.common import Commands, add_db, open_existing, print_json


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one read-only query through the console's sandbox."""
    from eventlab.store.sandbox import run_sql

    with open_existing(args.db) as store:
        result = run_sql(store.cursor(), args.query, timeout_s=args.timeout, max_rows=args.max_rows)
    if args.json:
        print_json(result.to_dict())
        return 0
    print("\t".join(result.columns))
    for row in result.rows():
        print("\t".join("" if v is None else str(v) for v in row))
    if result.truncated:
        print(f"({result.notice})", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the header numbers of a store."""
    with open_existing(args.db) as store:
        st = store.stats()
    data = {"events": st.events, "entities": st.entities, "event_types": st.event_types,
            "first_ts": st.first_ts, "last_ts": st.last_ts, "quarantined": st.quarantined}
    if args.json:
        print_json(data)
    else:
        for k, v in data.items():
            print(f"{k}: {v}")
    return 0


def register(commands: Commands) -> None:
    """Add `sql` and `stats`."""
    sp = add_db(commands.add_parser("sql", help="run one read-only SELECT (sandboxed)"))
    sp.add_argument("query")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    sp.add_argument("--max-rows", type=int, default=10_000)
    sp.set_defaults(func=cmd_sql)

    sp = add_db(commands.add_parser("stats", help="counts of a database"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_stats)
