"""`eventlab reset-offsets`: rewind (or forward) a consumer group on one topic, dry run by
default; `--execute` commits exactly the plan after the guards; `--undo RESET_ID` restores the
offsets an applied reset found (docs/lag-reset.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from eventlab.cli.common import Commands, add_db, kafka_config, print_json

if TYPE_CHECKING:
    from eventlab.rewind.plan import RewindPlan

TARGETS = {"to_datetime": "to-datetime", "to_offset": "to-offset", "to_earliest": "to-earliest",
           "to_latest": "to-latest", "by": "by", "to_event": "to-event"}


def print_plan(plan: RewindPlan) -> None:
    """One line per partition: current -> new offset and the lag left in records and seconds."""
    print(f"# group {plan.group} on {plan.topic}: {plan.target.describe()}")
    for m in plan.moves:
        current = "no commit" if m.current is None else f"{m.current:,}"
        secs = "-" if m.lag_seconds_after is None else f"{m.lag_seconds_after:,.1f} s"
        print(f"  {plan.topic}/{m.partition}  {current} -> {m.new:,}  lag after {m.lag_after:,} "
              f"records, {secs}" + (f"  ({m.note})" if m.note else "")
              + ("" if m.changes else "  (unchanged)"))


def cmd_reset(args: argparse.Namespace) -> int:
    """Plan, show, audit the dry run; with --execute, commit after every guard."""
    from eventlab.rewind import run
    from eventlab.rewind.plan import PlanError, Target
    from eventlab.store.eventstore import EventStore, resolve_db_path

    config = kafka_config(args.bootstrap)
    store = EventStore(resolve_db_path(args.db))  # read-write: every attempt is audited
    try:
        if args.undo:
            plan = run.plan_undo(config, store, args.undo)
        else:
            if not (args.group and args.topic):
                raise PlanError("--group and --topic are needed (or --undo RESET_ID)")
            chosen = [(k, getattr(args, a)) for a, k in TARGETS.items()
                      if getattr(args, a) not in (None, False)]
            if len(chosen) != 1:
                raise PlanError("give exactly one of --to-datetime, --to-offset, --to-earliest, "
                                "--to-latest, --by, --to-event")
            kind, value = chosen[0]
            plan = run.plan_reset(config, args.group, args.topic,
                                  Target(kind, "" if value is True else str(value)), store)
        out: dict[str, Any] = plan.to_dict()
        if not args.execute:
            run.dry_run(store, plan)
            out["executed"] = False
        else:
            out["reset_id"] = run.execute(config, store, plan, confirm=args.confirm or "",
                                          reason=args.reason or "")
            out["executed"] = True
        if args.json:
            print_json(out)
        else:
            print_plan(plan)
            print(f"reset {out['reset_id']} applied; undo with --undo {out['reset_id']}"
                  if args.execute else "dry run: nothing changed; add --execute --confirm GROUP "
                                       "--reason TEXT to apply")
        return 0
    finally:
        store.close()


def register(commands: Commands) -> None:
    """Add `reset-offsets`."""
    sp = add_db(commands.add_parser(
        "reset-offsets", help="rewind a consumer group on a topic (dry run unless --execute)"))
    sp.add_argument("--bootstrap", help="host:port (default: $EVENTLAB_KAFKA_BOOTSTRAP)")
    sp.add_argument("--group", help="the consumer group")
    sp.add_argument("--topic", help="the topic whose offsets move")
    to = sp.add_mutually_exclusive_group()
    to.add_argument("--to-datetime", metavar="ISO", help="first record at or after this time")
    to.add_argument("--to-offset", metavar="P:O,...", help="explicit offsets per partition")
    to.add_argument("--to-earliest", action="store_true", help="the start of each partition")
    to.add_argument("--to-latest", action="store_true", help="the end of each partition")
    to.add_argument("--by", type=int, metavar="N", help="move by N records (negative rewinds)")
    to.add_argument("--to-event", metavar="EVENT_ID",
                    help="reprocess from this stored event (its partition only)")
    to.add_argument("--undo", metavar="RESET_ID", help="restore the offsets a reset found")
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show and audit the plan (default)")
    mode.add_argument("--execute", action="store_true", help="commit exactly the plan")
    sp.add_argument("--confirm", metavar="GROUP", help="the group name typed back (--execute)")
    sp.add_argument("--reason", help="why (audited; needed with --execute)")
    sp.add_argument("--json", action="store_true", help="the plan (and reset id) as JSON")
    sp.set_defaults(func=cmd_reset)
