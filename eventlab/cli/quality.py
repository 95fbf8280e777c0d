"""`eventlab check`: the data-quality findings of a database, as text or one JSON object."""

from __future__ import annotations

import argparse

from eventlab.cli.common import Commands, add_db, open_existing, print_json


def cmd_check(args: argparse.Namespace) -> int:
    """Run every check; exit 1 with --strict when a finding is a warning or an error."""
    from eventlab import quality, settings
    from eventlab.quality.known_types import handled_types, rules_file

    late = args.late_seconds if args.late_seconds is not None else settings.late_event_seconds()
    types, label = handled_types(rules_file(args.rules))
    with open_existing(args.db) as store, store.reading() as cur:
        report = quality.run_checks(cur, handled_types=types, reducer=label, late_seconds=late)
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"{report.events:,} events checked in {report.seconds:.1f} s")
        for f in report.findings:
            print(f"{f.severity.upper():8} {f.kind:20} {f.count:>9,}  {f.explanation}")
            for ex in f.examples[:3]:
                print("         e.g. " + ", ".join(f"{k}={v}" for k, v in ex.items()))
    bad = [f for f in report.findings if f.severity in ("error", "warning")]
    return 1 if args.strict and bad else 0


def register(commands: Commands) -> None:
    """Add `check`."""
    sp = add_db(commands.add_parser("check", help="data-quality findings of a database"))
    sp.add_argument("--rules", help="rules TOML file for unknown_event_type (default: the "
                                    "first of $EVENTLAB_RULES)")
    sp.add_argument("--late-seconds", type=float, help="late_event threshold (default "
                                                       "$EVENTLAB_LATE_EVENT_SECONDS or 300)")
    sp.add_argument("--strict", action="store_true",
                    help="exit 1 when a finding is a warning or an error")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_check)
