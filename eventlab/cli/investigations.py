"""`eventlab investigations` (the saved ones) and `eventlab bundle` (an incident bundle)."""

from __future__ import annotations

import argparse

from eventlab.cli.common import Commands, add_db, open_existing, print_json


def cmd_investigations(args: argparse.Namespace) -> int:
    """List the saved investigations: id, name, who, when."""
    from eventlab import investigations

    with open_existing(args.db) as store, store.reading() as cur:
        found = investigations.listing(cur)
    if args.json:
        print_json([i.to_dict() for i in found])
        return 0
    if not found:
        print("no investigations saved in this database (the Investigations page saves them)")
    for i in found:
        print(f"{i.id}\t{i.name}\t{i.author}\t{i.updated_at:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_bundle(args: argparse.Namespace) -> int:
    """Write an investigation's bundle: events, state timelines, findings, notes, report."""
    from eventlab import investigations

    with open_existing(args.db) as store, store.reading() as cur:
        inv = investigations.load(cur, args.investigation)
        bundle = investigations.write_bundle(cur, inv, args.out)
    if args.json:
        print_json(bundle.to_dict())
    else:
        cut = f" (cut at {investigations.MAX_EVENTS:,})" if bundle.truncated else ""
        print(f"{bundle.events:,} events{cut}, {len(bundle.files)} files in {bundle.folder}")
        print(f"zip: {bundle.zip_path}")
        print(f"report (opens offline): {bundle.folder / 'report.html'}")
    return 0


def register(commands: Commands) -> None:
    """Add `investigations` and `bundle`."""
    sp = add_db(commands.add_parser("investigations", help="list saved investigations"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_investigations)
    sp = add_db(commands.add_parser("bundle", help="write an investigation's incident bundle"))
    sp.add_argument("investigation", help="its id (or exact name)")
    sp.add_argument("--out", required=True, help="folder to write <id>/ and <id>.zip into")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_bundle)
