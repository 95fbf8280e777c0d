"""`eventlab state` and `eventlab asof`: the Time travel and As of pages on the command line.

orjson, pyarrow, DuckDB and the fold are imported inside the commands (start-up stays light).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventlab.cli.common import Commands, add_db, open_existing
from eventlab.errors import EventLabError
from eventlab.timeutil import TIME_BASES, parse_utc

if TYPE_CHECKING:
    from eventlab.replay import Fold
    from eventlab.timetravel.reducer_choices import ReducerChoice


def _dumps(obj: Any) -> str:
    import orjson

    return orjson.dumps(obj, default=str).decode()


def _when(raw: str) -> datetime:
    """An ISO 8601 time; naive means UTC."""
    try:
        return parse_utc(raw)
    except ValueError as exc:
        raise EventLabError(f"--at {raw!r} is not an ISO 8601 time, e.g. "
                            "2025-03-05T14:03:00Z") from exc


def _choice(args: argparse.Namespace) -> ReducerChoice:
    from eventlab.timetravel import reducer_choices

    choices = reducer_choices.configured(rules=[args.rules] if args.rules else [],
                                         reducers=[args.reducer] if args.reducer else [])
    return reducer_choices.default(choices)


def _index(fold: Fold, args: argparse.Namespace) -> int:
    from eventlab import timetravel

    if args.seq is not None:
        return fold.index_of_seq(args.seq)
    if args.at is not None:
        target: datetime | int = int(args.at) if args.basis == "offset" else _when(args.at)
        return timetravel.index_at(fold, target, args.basis)
    return len(fold) - 1


def _history(fold: Fold, stop: int) -> list[dict[str, Any]]:
    """`{seq, ts, event_type, event_id, diff}` for the events up to `stop` (included)."""
    from eventlab import timetravel
    from eventlab.replay import FoldError, diff

    out: list[dict[str, Any]] = []
    previous = fold.state_at(-1)
    try:
        for _i, event, state in fold.iter_states(0, stop + 1, copy=True):
            out.append({"seq": event.seq, "ts": event.ts.isoformat(),
                        "event_type": event.event_type, "event_id": event.event_id,
                        "diff": timetravel.change_dicts(diff(previous, state))})
            previous = state
    except FoldError:
        pass  # reported with the state
    return out


def cmd_state(args: argparse.Namespace) -> int:
    """Rebuild one entity's state at a position or time."""
    from eventlab import timetravel
    from eventlab.replay import Fold

    choice = _choice(args)
    with open_existing(args.db) as store, timetravel.paused_gc():
        events = timetravel.load_events(store.cursor(), args.entity_id)
        if not events:
            raise timetravel.EntityNotFound(f"no events for entity {args.entity_id!r}")
        fold = Fold(events, choice.load(), snapshot_every=timetravel.SNAPSHOT_EVERY)
    if args.skip or args.insert_at is not None:
        return _what_if(args, events, fold)
    if args.save_to:
        raise EventLabError("--save-to saves a what-if: give --skip or --insert-at too")
    index = _index(fold, args)
    pos = timetravel.position(fold, index) if index >= 0 else None
    event = pos.event if pos else None
    out: dict[str, Any] = {
        "entity_id": args.entity_id, "entity_type": events[0].entity_type,
        "seq": event.seq if event else None, "ts": event.ts.isoformat() if event else None,
        "event_id": event.event_id if event else None,
        "event_type": event.event_type if event else None,
        "position": index + 1, "events": len(fold), "reducer": fold.reducer.name,
        "basis": args.basis, "state": timetravel.jsonable(pos.state if pos else None),
    }
    error = pos.error if pos else None
    if error is not None:
        out["error"] = str(error)
        out["failed_event"] = {"event_id": error.event_id, "seq": error.seq,
                               "event_type": error.event_type}
    if args.history:
        out["history"] = _history(fold, index)
    if args.json:
        print(_dumps(out))
    else:
        _print_state(out)
    if error is not None:
        print(f"error: {error} (the state shown is the state before that event)",
              file=sys.stderr)
        return 2
    return 0


def _what_if(args: argparse.Namespace, events: Any, real: Any) -> int:
    """`state ID --skip ... --insert-at SEQ --event FILE.json`: the state with those changes,
    beside the real one; nothing is written."""
    from eventlab import timetravel
    from eventlab.replay import Fold
    from eventlab.timetravel import whatif

    changes: list[Any] = whatif.changes_from_ids(events, args.skip or [])
    inserted = None
    if args.insert_at is not None:
        if not args.event:
            raise whatif.WhatIfError("--insert-at needs --event FILE.json "
                                     '({"event_type": ..., "payload": {...}})')
        inserted = _hypothetical(args.event)
        changes.append(whatif.Insert(whatif.index_of_seq(events, args.insert_at),
                                     inserted["event_type"], inserted.get("payload")))
    new = whatif.rewrite(events, changes)
    fold = Fold(new.events, real.reducer, snapshot_every=timetravel.SNAPSHOT_EVERY)
    k = _index(fold, args) if (args.seq is not None or args.at is not None) else len(fold) - 1
    side = whatif.beside(real, fold, new.origin, k)
    out: dict[str, Any] = {
        "entity_id": args.entity_id, "reducer": real.reducer.name, "events": len(fold),
        "real_events": len(real), "position": k + 1, "real_position": side.real_index + 1,
        "skipped": [events[c.index].event_id for c in changes if isinstance(c, whatif.Skip)],
        "inserted": inserted, "state": timetravel.jsonable(side.whatif),
        "real_state": timetravel.jsonable(side.real),
        "differences": timetravel.change_dicts(list(side.differences)),
    }
    if args.save_to:
        out["saved"] = _save_scenario(args, events, real, changes)
    if args.json:
        print(_dumps(out))
    else:
        if args.save_to:
            print(f"saved as what-if {out['saved']} in investigation {args.save_to}")
        print(f"what if, after {k + 1} of {len(fold)} events (real: {side.real_index + 1} of "
              f"{len(real)}), reducer {out['reducer']}:")
        print(json.dumps(out["state"], indent=2, default=str))
        print(f"{len(side.differences)} difference(s) from the real state:")
        for d in out["differences"]:
            print(f"  {d}")
    return 0


def _save_scenario(args: argparse.Namespace, events: Any, real: Any, changes: list[Any]) -> str:
    """`--save-to INV`: keep these changes as a what-if scenario of that investigation
    (a write: refused in read-only mode); returns the scenario's id."""
    from eventlab import investigations
    from eventlab.store.eventstore import EventStore, resolve_db_path
    from eventlab.timetravel import scenario

    saved = scenario.make(args.name or "", args.entity_id, _choice(args), events, changes)
    with EventStore(resolve_db_path(args.db)) as store:
        inv = investigations.load(store.cursor(), args.save_to)
        investigations.save(store, inv.with_scenario(saved, investigations.now()))
    return saved.id


def _hypothetical(path: str) -> dict[str, Any]:
    from eventlab.timetravel.whatif import WhatIfError

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WhatIfError(f"--event {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("event_type"), str):
        raise WhatIfError(f'--event {path}: expected {{"event_type": "...", "payload": {{...}}}}')
    return doc


def _print_state(out: dict[str, Any]) -> None:
    import orjson

    where = (f"event {out['position']} of {out['events']} · seq {out['seq']} · {out['ts']} · "
             f"{out['event_type']}" if out["seq"] is not None else "before its first event")
    print(f"{out['entity_id']} ({out['entity_type']}) · {where}")
    print(f"reducer: {out['reducer']} · basis: {TIME_BASES[out['basis']]}")
    print(orjson.dumps(out["state"], option=orjson.OPT_INDENT_2, default=str).decode())
    for item in out.get("history", []):
        changes = "; ".join(_change_text(c) for c in item["diff"]) or "(no change)"
        print(f"seq {item['seq']:>6}  {item['ts']}  {item['event_type']}: {changes}")


def _change_text(change: dict[str, Any]) -> str:
    path = change["path"] or "(state)"
    if change["op"] == "add":
        return f"+ {path} = {_dumps(change['new'])}"
    if change["op"] == "remove":
        return f"- {path}"
    return f"~ {path}: {_dumps(change['old'])} -> {_dumps(change['new'])}"


def cmd_asof(args: argparse.Namespace) -> int:
    """The state of every entity (of a type) as of a time, computed in DuckDB."""
    import pyarrow.parquet as pq

    from eventlab import asof

    at = _when(args.at)
    with open_existing(args.db) as store:
        cur = store.cursor()
        reader = asof.population_reader(cur, at, entity_type=args.entity_type,
                                        basis=args.basis, delete_types=tuple(args.deletes))
        if args.out:
            writer = None
            rows = 0
            for batch in reader:
                if writer is None:
                    writer = pq.ParquetWriter(args.out, batch.schema, compression="zstd")
                writer.write_batch(batch)
                rows += batch.num_rows
            if writer is None:
                writer = pq.ParquetWriter(args.out, reader.schema, compression="zstd")
            writer.close()
            print(f"wrote {rows:,} entities as of {at.isoformat()} to {args.out}")
            return 0
        if args.json:
            _stream_json(reader, at, args)
            return 0
        _print_summary(reader, at, args)
    return 0


def _rows(reader: Any) -> Any:
    for batch in reader:
        yield from batch.to_pylist()


def _entity(row: dict[str, Any]) -> dict[str, Any]:
    import orjson

    return {"entity_id": row["entity_id"], "entity_type": row["entity_type"],
            "seq": row["seq"], "ts": row["ts"].isoformat() if row["ts"] else None,
            "event_type": row["event_type"], "event_id": row["event_id"],
            "deleted": row["state"] is None,
            "state": None if row["state"] is None else orjson.loads(row["state"])}


def _stream_json(reader: Any, at: datetime, args: argparse.Namespace) -> None:
    """One JSON object, written as it streams (a population can be millions of entities)."""
    out = sys.stdout
    count = deleted = 0
    out.write(_dumps({"at": at.isoformat(), "entity_type": args.entity_type,
                      "basis": args.basis})[:-1] + ',"entities":[')
    for row in _rows(reader):
        out.write(("," if count else "") + _dumps(_entity(row)))
        count += 1
        deleted += row["state"] is None
    out.write(f'],"count":{count},"deleted":{deleted}}}\n')


def _print_summary(reader: Any, at: datetime, args: argparse.Namespace) -> None:
    by_type: dict[str, list[int]] = {}
    shown = 0
    for row in _rows(reader):
        counts = by_type.setdefault(row["entity_type"], [0, 0])
        counts[0] += 1
        counts[1] += row["state"] is None
        if shown < 10:
            state = row["state"] or "(deleted)"
            print(f"{row['entity_id']}\tseq {row['seq']}\t{state[:100]}")
            shown += 1
    total = sum(c[0] for c in by_type.values())
    if total > shown:
        print(f"... ({total - shown:,} more; use --json or --out FILE.parquet)")
    print(f"as of {at.isoformat()} ({TIME_BASES[args.basis]}):")
    for entity_type, (n, d) in sorted(by_type.items()):
        print(f"  {entity_type}: {n:,} entities, {n - d:,} existing, {d:,} deleted")


def register(commands: Commands) -> None:
    """Add `state` and `asof`."""
    sp = add_db(commands.add_parser("state", help="rebuild one entity's state at a position "
                                                  "or time"))
    sp.add_argument("entity_id")
    where = sp.add_mutually_exclusive_group()
    where.add_argument("--at", help="ISO 8601 time (naive = UTC): the last event at or before "
                                    "it; an offset with --basis offset")
    where.add_argument("--seq", type=int, help="the last event with this seq or lower")
    how = sp.add_mutually_exclusive_group()
    how.add_argument("--reducer", help="Python reducer file (default: $EVENTLAB_REDUCER)")
    how.add_argument("--rules", help="rules TOML file (default: $EVENTLAB_RULES, else merge)")
    sp.add_argument("--basis", choices=list(TIME_BASES), default="event_time",
                    help="what --at compares with (default event_time)")
    sp.add_argument("--history", action="store_true",
                    help="also each event up to there with what it changed")
    sp.add_argument("--skip", nargs="+", metavar="EVENT_ID",
                    help="what if: replay without these events (EVENT_ID:K skips only the K-th "
                         "stored copy of an id)")
    sp.add_argument("--insert-at", type=int, metavar="SEQ",
                    help="what if: replay a hypothetical event just before seq SEQ")
    sp.add_argument("--event", metavar="FILE.json",
                    help='the hypothetical event: {"event_type": "...", "payload": {...}}')
    sp.add_argument("--save-to", metavar="INVESTIGATION",
                    help="with --skip / --insert-at: save the what-if into this investigation "
                         "(id or name); its bundle replays it")
    sp.add_argument("--name", help="the saved what-if's name (default: its changes)")
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.set_defaults(func=cmd_state)

    sp = add_db(commands.add_parser("asof", help="the state of every entity as of a time "
                                                 "(merge reducer, in DuckDB)"))
    sp.add_argument("--at", required=True, help="ISO 8601 time (naive = UTC)")
    sp.add_argument("--entity-type", help="only entities of this type")
    sp.add_argument("--basis", choices=list(TIME_BASES), default="event_time",
                    help="what --at compares with (default event_time; as of has no offset "
                         "basis)")
    sp.add_argument("--deletes", nargs="*", default=[], metavar="EVENT_TYPE",
                    help="event types that delete the entity (besides tombstones)")
    out = sp.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--out", metavar="FILE.parquet", help="write the entities to Parquet")
    sp.set_defaults(func=cmd_asof)
