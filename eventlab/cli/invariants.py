"""`eventlab invariants`: which entities ever break a declared rule, and at which event."""

from __future__ import annotations

import argparse

from eventlab.cli.common import Commands, add_db, open_existing, print_json


def cmd_invariants(args: argparse.Namespace) -> int:
    """Check every invariant over every position; exit 1 with --strict when one is broken."""
    from eventlab import invariants
    from eventlab.invariants.spec import load_or_demo
    from eventlab.timetravel import reducer_choices

    rules, found = load_or_demo(args.file)
    choice = reducer_choices.default(reducer_choices.configured(
        rules=[args.rules] if args.rules else [],
        reducers=[args.reducer] if args.reducer else []))
    with open_existing(args.db) as store, store.reading() as cur:
        results = invariants.run(cur, rules, choice.load())
    if args.json:
        print_json({"source": found, "reducer": choice.label,
                    "invariants": [r.to_dict(args.limit) for r in results]})
    else:
        print(f"invariants from {found}; reducer {choice.label}")
        for r in results:
            verdict = "ok" if r.ok else "BROKEN"
            print(f"{verdict:7} {r.invariant.name} ({r.invariant.entity_type}): "
                  f"{len(r.violations):,} of {r.entities:,} entities, "
                  f"{r.violating_positions:,} of {r.positions:,} positions, "
                  f"{r.recovered:,} recovered")
            for v in r.violations[:args.limit]:
                print(f"        {v.entity_id} first at seq {v.seq} ({v.event_type}, "
                      f"{v.event_id}, {v.ts}); {v.positions:,} positions"
                      f"{', recovers' if v.recovers else ''}")
    return 1 if args.strict and any(not r.ok for r in results) else 0


def register(commands: Commands) -> None:
    """Add `invariants`."""
    sp = add_db(commands.add_parser("invariants", help="entities that break a declared "
                                                      "invariant, and the first event"))
    sp.add_argument("--file", action="append", help="invariants TOML file (repeatable; default "
                                                    "$EVENTLAB_INVARIANTS, else ./invariants.toml,"
                                                    " else the demo shop's examples)")
    how = sp.add_mutually_exclusive_group()
    how.add_argument("--reducer", help="Python reducer file (default: $EVENTLAB_REDUCER)")
    how.add_argument("--rules", help="rules TOML file (default: $EVENTLAB_RULES, else merge)")
    sp.add_argument("--limit", type=int, default=20,
                    help="violating entities listed per invariant (default 20)")
    sp.add_argument("--strict", action="store_true", help="exit 1 when an invariant is broken")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_invariants)
