"""`eventlab flow transitions|variants|chain`: the Flow page on the command line.

DuckDB and pyarrow are imported inside the commands (start-up stays light). Start and end of
streams are `^` and `$` in `from_type` / `to_type` (as in Explore's `follows=` links).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from eventlab.cli.common import Commands, add_db, open_existing, positive, print_json
from eventlab.errors import EventLabError
from eventlab.timeutil import parse_utc


def _time(raw: str | None, flag: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return parse_utc(raw)
    except ValueError as exc:
        raise EventLabError(f"{flag} {raw!r} is not an ISO 8601 time, e.g. "
                            "2025-03-05T14:03:00Z") from exc


def _scope(args: argparse.Namespace) -> Any:
    from eventlab.flow import Scope

    return Scope(args.entity_type, _time(args.start, "--from"), _time(args.end, "--to"))


def _num(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 6)


def _seconds_text(value: float | None) -> str:
    from eventlab.flow import duration

    return duration(value)


def cmd_transitions(args: argparse.Namespace) -> int:
    """Directly-follows transitions with counts, median and p95 seconds."""
    from eventlab import flow

    with open_existing(args.db) as store, store.reading() as cur:
        rows = flow.transitions(cur, _scope(args)).to_pylist()
    out = [{"from_type": r["from_type"], "to_type": r["to_type"], "count": r["count"],
            "median_seconds": _num(r["median_seconds"]), "p95_seconds": _num(r["p95_seconds"]),
            "negative_gaps": r["negative_gaps"]} for r in rows]
    if args.json:
        print_json(out)
        return 0
    if not out:
        print("no transitions (no events in this scope)")
        return 0
    width = max(len(f"{r['from_type']} -> {r['to_type']}") for r in out)
    print(f"{'transition':<{width}}  {'count':>10}  {'median':>12}  {'p95':>12}  negative")
    for r in out:
        name = f"{r['from_type']} -> {r['to_type']}"
        print(f"{name:<{width}}  {r['count']:>10,}  {_seconds_text(r['median_seconds']):>12}  "
              f"{_seconds_text(r['p95_seconds']):>12}  {r['negative_gaps']:>8,}")
    print("(^ = start of an entity's stream, $ = its end)")
    return 0


def cmd_variants(args: argparse.Namespace) -> int:
    """The most common complete event-type sequences per entity type."""
    from eventlab import flow

    with open_existing(args.db) as store, store.reading() as cur:
        rows = flow.variants(cur, _scope(args), args.top).to_pylist()
    out = [{"entity_type": r["entity_type"], "variant": r["variant"], "length": r["length"],
            "entities": r["entities"], "share": round(r["share"], 6)} for r in rows]
    if args.json:
        print_json(out)
        return 0
    if not out:
        print("no variants (no events in this scope)")
        return 0
    current = None
    for r in out:
        if r["entity_type"] != current:
            current = r["entity_type"]
            print(f"{current}:")
        print(f"  {r['entities']:>9,}  {r['share'] * 100:5.1f}%  {' > '.join(r['variant'])}")
    return 0


def _event_dict(e: Any, depth: int | None = None) -> dict[str, Any]:
    out = {"event_id": e.event_id, "entity_type": e.entity_type, "entity_id": e.entity_id,
           "event_type": e.event_type, "seq": e.seq, "ts": e.ts.isoformat(),
           "topic": e.topic, "causation_id": e.causation_id,
           "correlation_id": e.correlation_id, "depth": e.depth if depth is None else depth}
    if not e.in_correlation:
        out["outside_correlation"] = True
    return out


def cmd_chain(args: argparse.Namespace) -> int:
    """Every event of a correlation id in causal order, missing parents marked."""
    from eventlab import flow

    with open_existing(args.db) as store, store.reading() as cur:
        corr = args.correlation_id
        if args.event:
            corr = flow.correlation_of(cur, corr)
        chain = flow.chain(cur, corr)
    if args.json:
        print_json({"correlation_id": chain.correlation_id,
                    "events": [_event_dict(e) for e in chain.events],
                    "missing_parents": list(chain.missing_parents),
                    "entities": list(chain.lanes), "topics": list(chain.topics),
                    "duplicates": chain.duplicates})
        return 0
    print(f"correlation {chain.correlation_id}: {len(chain.events)} events, "
          f"{len(chain.lanes)} entities, {len(chain.missing_parents)} missing parents")
    for row in chain.rows:
        pad = "  " * row.depth
        if row.event is None:
            print(f"{pad}! missing parent {row.missing_id} (not in the store)")
            continue
        e = row.event
        print(f"{pad}{e.event_type}  {e.entity_id} seq {e.seq}  {e.ts.isoformat()}  "
              f"{e.event_id}" + ("" if e.in_correlation else
                                 f"  (correlation {e.correlation_id})"))
    return 0


def _scope_args(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sp.add_argument("--entity-type", help="only entities of this type")
    sp.add_argument("--from", dest="start", metavar="ISO",
                    help="only events at or after this time (naive = UTC)")
    sp.add_argument("--to", dest="end", metavar="ISO",
                    help="only events at or before this time (naive = UTC)")
    sp.add_argument("--json", action="store_true", help="print one JSON value")
    return add_db(sp)


def register(commands: Commands) -> None:
    """Add `flow transitions`, `flow variants` and `flow chain`."""
    group = commands.add_parser("flow", help="event flow: transitions, variants, correlation "
                                             "chains")
    sub = group.add_subparsers(dest="flow_command", required=True)
    sp = _scope_args(sub.add_parser(
        "transitions", help="directly-follows transitions (pm4py's DFG) with median and p95 "
                            "seconds between"))
    sp.set_defaults(func=cmd_transitions)
    sp = _scope_args(sub.add_parser("variants", help="the most common complete event "
                                                     "sequences per entity type"))
    sp.add_argument("--top", type=positive, default=10,
                    help="variants per entity type (default 10)")
    sp.set_defaults(func=cmd_variants)
    sp = add_db(sub.add_parser("chain", help="every event of a correlation id, in causal "
                                             "order"))
    sp.add_argument("correlation_id", help="the correlation id (with --event: an event id)")
    sp.add_argument("--event", action="store_true",
                    help="the argument is an event id: open that event's chain")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_chain)
