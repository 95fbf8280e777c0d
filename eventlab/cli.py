"""`eventlab ...` commands: thin wrappers over the same functions the pages use."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from eventlab import cli_kafka, cli_replay
from eventlab.errors import EventLabError, StoreError
from eventlab.ingest.mapping import PRESETS, MappingSpec, load_spec
from eventlab.kafka import commands as kafka_commands


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, default=str, ensure_ascii=False))


class _Progress:
    """A one-line progress bar on stderr, shown only on a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r{stage} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _spec(args: argparse.Namespace) -> MappingSpec:
    if getattr(args, "mapping", None):
        return load_spec(args.mapping)
    return MappingSpec(preset=getattr(args, "preset", None) or "auto")


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load export files into the store."""
    from eventlab.ingest.file_ingest import ingest_paths
    from eventlab.store.eventstore import EventStore

    spec = _spec(args)
    with EventStore(args.db, memory_limit=args.memory_limit) as store:
        report = ingest_paths(
            store,
            args.paths,
            fmt=args.format,
            spec=spec,
            progress=None if args.json else _Progress(),
        )
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary())
        if report.mapping:
            print("mapping: " + json.dumps(report.mapping))
    nothing = report.files_read == 0 and not report.files_skipped
    if nothing or (args.strict and (report.files_failed or report.rows_quarantined)):
        return 1
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    """Run one read-only query through the console's sandbox."""
    from eventlab.store.eventstore import EventStore
    from eventlab.store.sandbox import run_sql

    with EventStore(_existing_db(args.db), read_only=True) as store:
        result = run_sql(store.cursor(), args.query, timeout_s=args.timeout, max_rows=args.max_rows)
    if args.json:
        _print_json(result.to_dict())
        return 0
    print("\t".join(result.columns))
    for row in result.rows():
        print("\t".join("" if v is None else str(v) for v in row))
    if result.truncated:
        print(f"(truncated at {result.max_rows:,} rows)", file=sys.stderr)
    return 0


def _existing_db(path: str | None) -> Path:
    """The database a read command opens; a missing file is an error, not a new database."""
    from eventlab.store.eventstore import resolve_db_path

    resolved = resolve_db_path(path)
    if not resolved.exists():
        raise StoreError(f"No database at {resolved}. Load data first (`eventlab ingest ...`) "
                         "or pass --db / set EVENTLAB_DB.")
    return resolved


def cmd_stats(args: argparse.Namespace) -> int:
    """Print the header numbers of a store."""
    from eventlab.store.eventstore import EventStore

    with EventStore(_existing_db(args.db), read_only=True) as store:
        st = store.stats()
    data = {
        "events": st.events,
        "entities": st.entities,
        "event_types": st.event_types,
        "first_ts": st.first_ts,
        "last_ts": st.last_ts,
        "quarantined": st.quarantined,
    }
    if args.json:
        _print_json(data)
    else:
        for k, v in data.items():
            print(f"{k}: {v}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Write the demo domain as a Parquet export, or produce it to a Kafka topic."""
    if args.kafka:
        return cli_kafka.demo_to_kafka(args)
    from eventlab.demo import write_export

    paths = write_export(args.out, events=args.events, seed=args.seed)
    print(f"wrote {args.events:,} demo events to {len(paths)} file(s) under {args.out}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Start the Streamlit app on 127.0.0.1."""
    env = dict(os.environ)
    if args.db:
        env["EVENTLAB_DB"] = str(Path(args.db).resolve())
    cmd = [
        sys.executable,
        "-m",
        "eventlab.ui.serve",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    return subprocess.call(cmd, env=env)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs test to list commands)."""
    p = argparse.ArgumentParser(prog="eventlab", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def with_db(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument(
            "--db", help="database file (default: $EVENTLAB_DB or .eventlab/eventlab.duckdb)"
        )
        return sp

    sp = with_db(sub.add_parser("ingest", help="load Parquet/JSONL/CSV exports"))
    sp.add_argument("paths", nargs="+", help="files, folders, globs or hive folders")
    sp.add_argument("--format", choices=["parquet", "jsonl", "csv"])
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--mapping", help="TOML mapping file")
    g.add_argument("--preset", choices=PRESETS, help="mapping preset (default auto)")
    sp.add_argument(
        "--strict",
        action="store_true",
        help="exit non-zero if any file failed or any row was quarantined",
    )
    sp.add_argument("--json", action="store_true", help="print one JSON object")
    sp.add_argument("--memory-limit", default="4GB", help="DuckDB memory limit for the load")
    sp.set_defaults(func=cmd_ingest)

    kafka_commands.add_parser(sub, with_db)

    sp = with_db(sub.add_parser("sql", help="run one read-only SELECT (sandboxed)"))
    sp.add_argument("query")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    sp.add_argument("--max-rows", type=int, default=10_000)
    sp.set_defaults(func=cmd_sql)

    sp = with_db(sub.add_parser("stats", help="counts of a database"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_stats)

    sp = sub.add_parser("demo", help="write the demo shop domain as Parquet, or produce it "
                                     "to Kafka")
    target = sp.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", help="folder for the Parquet export")
    target.add_argument("--kafka", metavar="BOOTSTRAP",
                        help="produce to Kafka at host:port instead (needs --topic)")
    sp.add_argument("--events", type=int, default=50_000)
    sp.add_argument("--seed", type=int, default=42)
    cli_kafka.add_demo_kafka_arguments(sp)
    sp.set_defaults(func=cmd_demo)

    sp = with_db(sub.add_parser("app", help="start the web app on 127.0.0.1"))
    sp.add_argument("--port", type=int, default=8501)
    sp.set_defaults(func=cmd_app)

    cli_kafka.register(sub)
    cli_replay.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `eventlab` command."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EventLabError as exc:
        if getattr(args, "json", False):
            _print_json({"error": str(exc), "kind": type(exc).__name__})
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
