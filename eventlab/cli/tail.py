"""`eventlab tail`: follow topics live, decoded and filtered, without storing anything."""

from __future__ import annotations

import argparse
import threading

from eventlab.cli.common import Commands, kafka_config, mapping_spec, positive, stop_on_signals
from eventlab.ingest.mapping import PRESETS


def _line(r: dict) -> str:
    what = r["entity_id"] if r["reason"] is None else f"QUARANTINE: {r['reason']}"
    ts = r["timestamp"].isoformat() if r["timestamp"] else ""
    value = (r["value"] or "").replace("\n", " ")
    return "\t".join((r["topic"], str(r["partition"]), str(r["offset"]), ts, str(r["key"]),
                      str(what), str(r["event_type"]), value[:120]))


def cmd_tail(args: argparse.Namespace) -> int:
    """Print records as they arrive (oldest of each poll first) until --max or Ctrl-C."""
    from eventlab.ingest import live_tail

    config = kafka_config(args.bootstrap)
    where = live_tail.parse_filters(args.filter or [])
    spec = mapping_spec(args)
    state = live_tail.start(config, args.topic, back=args.back)
    shown, stop = 0, threading.Event()
    print("\t".join(("topic", "partition", "offset", "timestamp", "key",
                     "entity_id / reason", "event_type", "value")), flush=True)
    with stop_on_signals(stop):
        while not stop.is_set() and (args.max is None or shown < args.max):
            state = live_tail.poll(config, state, spec=spec, where=where, keep=args.max or 100)
            for r in reversed(state.fresh):
                if args.max is not None and shown >= args.max:
                    break
                print(_line(r), flush=True)
                shown += 1
            if args.max is not None and shown >= args.max:
                break
            stop.wait(args.interval)
    print(f"# {shown} record(s) shown, {state.read} read; load from here: eventlab "
          f"ingest-kafka {' '.join('--topic ' + t for t in state.topics)} --from "
          f"{state.load_from_text}", flush=True)
    return 0


def register(commands: Commands) -> None:
    """Add `tail`."""
    sp = commands.add_parser("tail", help="follow topics live, decoded and filtered; stores "
                                          "nothing")
    sp.add_argument("--bootstrap", help="host:port[,...] (default $EVENTLAB_KAFKA_BOOTSTRAP)")
    sp.add_argument("--topic", required=True, action="append", help="repeat for several")
    sp.add_argument("--filter", action="append", metavar="NAME=VALUE",
                    help="types=T (repeatable), key=K, jpath=$.a.b with jop=OP and jval=V "
                         "(Explore's names), header=NAME or header=NAME=VALUE")
    sp.add_argument("--max", type=positive, help="stop after N records shown")
    sp.add_argument("--back", type=int, default=0,
                    help="start N records before the end of each partition (default 0: only "
                         "new records)")
    sp.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS, help="mapping preset (default auto)")
    sp.set_defaults(func=cmd_tail)
