"""`eventlab diverge READMODEL` (a read model against the rebuilt states) and
`eventlab demo-readmodel OUT` (the demo shop's read model with planted faults)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from eventlab.cli.common import Commands, add_db, open_existing, print_json


def cmd_diverge(args: argparse.Namespace) -> int:
    """Compare; print counts and the differing fields; exit 1 with --strict on any."""
    from eventlab.diverge import ReadModelSpec, compare, parse_mapping, read_model
    from eventlab.timetravel import fold_each, reducer_choices

    table = read_model(args.readmodel, args.format)
    spec = ReadModelSpec(id_column=args.id_column, at_column=args.at_column,
                         mapping=parse_mapping(args.map or []),
                         ignore=tuple(args.ignore or ()), tolerance=args.tolerance)
    choice = reducer_choices.default(reducer_choices.configured(
        rules=[args.rules] if args.rules else [],
        reducers=[args.reducer] if args.reducer else []))
    with open_existing(args.db) as store, store.reading() as cur:
        report = compare(cur, table, spec, entity_type=args.entity_type,
                         delete_types=tuple(args.delete_type or ()), limit=args.limit,
                         reducer=choice.load(),
                         max_events=fold_each.MAX_EVENTS if args.max_events is None
                         else args.max_events or None,
                         progress=None if args.json else _progress())
    if args.json:
        print_json(report.to_dict(limit=args.limit))
    else:
        c = report.counts
        print(f"{report.entity_type}: {c['match']:,} match, {c['differ']:,} differ, "
              f"{c['missing']:,} missing from the read model, {c['only_in_read_model']:,} "
              f"only in the read model (state at: {report.cut}; reducer {choice.label}, "
              f"{'in DuckDB' if report.path == 'duckdb' else 'through the fold'})")
        for column, n in report.by_field.items():
            if n:
                print(f"  {column}: {n:,} differ")
        for d in report.differences.to_pylist():
            print(f"differ  {d['entity_id']}  {d['column']}: state={d['state_value']!r} "
                  f"read model={d['read_value']!r}  last set by {d['event_type']} "
                  f"seq {d['seq']} ({d['event_id']})")
        for entity_id in report.missing:
            print(f"missing {entity_id}")
        for entity_id in report.only_in_read_model:
            print(f"extra   {entity_id}")
    diverged = sum(n for k, n in report.counts.items() if k != "match")
    return 1 if args.strict and diverged else 0


def _progress() -> Callable[[int, int], None]:
    """Fold progress on stderr, at most every tenth of the events."""
    seen = [0]

    def show(done: int, total: int) -> None:
        if done == total or done - seen[0] >= max(total // 10, 1):
            seen[0] = done
            print(f"folded {done:,} of {total:,} events", file=sys.stderr, flush=True)
    return show


def cmd_demo_readmodel(args: argparse.Namespace) -> int:
    """Write the demo order read model with its planted faults."""
    from eventlab.diverge.demo import write_demo_read_model

    with open_existing(args.db) as store, store.reading() as cur:
        planted = write_demo_read_model(cur, args.out)
    print(f"wrote the demo order read model to {args.out}; planted faults:")
    for p in planted:
        print(f"  {p.kind:14} {p.entity_id}" + (f"  {p.column} (event {p.event_id})"
                                                 if p.column else ""))
    return 0


def register(commands: Commands) -> None:
    """Add `diverge` and `demo-readmodel`."""
    sp = add_db(commands.add_parser(
        "diverge", help="compare a read model (CSV/JSONL/Parquet) with the rebuilt states"))
    sp.add_argument("readmodel", help="the read model file")
    sp.add_argument("--format", choices=["csv", "jsonl", "parquet"],
                    help="file format (default: from the extension)")
    sp.add_argument("--id-column", default="id", help="the entity id column (default id)")
    sp.add_argument("--at-column", help="a column holding the seq or time each row reflects")
    sp.add_argument("--map", action="append", metavar="COLUMN=STATE.PATH",
                    help="compare COLUMN with this state path (repeat; default: every other "
                         "column with the same-named field)")
    sp.add_argument("--ignore", action="append", metavar="COLUMN",
                    help="a column not to compare (repeat)")
    sp.add_argument("--entity-type", help="default: the type most of the ids have events of")
    sp.add_argument("--delete-type", action="append", metavar="EVENT_TYPE",
                    help="an event type that deletes the entity (repeat)")
    how = sp.add_mutually_exclusive_group()
    how.add_argument("--reducer", help="Python reducer file (default: $EVENTLAB_REDUCER); "
                                       "rebuilds the states through the fold")
    how.add_argument("--rules", help="rules TOML file (default: $EVENTLAB_RULES, else merge, "
                                     "which runs inside DuckDB)")
    sp.add_argument("--max-events", type=int,
                    help="with --rules/--reducer: refuse a fold over more events than this "
                         "(0: no bound; default 1,000,000)")
    sp.add_argument("--tolerance", type=float, default=1e-9,
                    help="numbers within this are equal (default 1e-9)")
    sp.add_argument("--limit", type=int, default=100,
                    help="rows listed per kind (counts are always exact; default 100)")
    sp.add_argument("--strict", action="store_true",
                    help="exit 1 when any entity differs, is missing or is extra")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_diverge)

    sp = add_db(commands.add_parser(
        "demo-readmodel", help="write the demo shop's order read model with planted faults"))
    sp.add_argument("out", help="file to write (.csv or .parquet)")
    sp.set_defaults(func=cmd_demo_readmodel)
