"""Invariants: business rules declared as data, checked over every position of every entity.

`spec` reads them (TOML, a small grammar in `grammar`, never evaluated as code); `duckdb_path`
checks them in one DuckDB pass for the merge reducer, `fold_path` through the fold for any
reducer; both give the same `results`. `run` picks the path.
"""

from __future__ import annotations

from collections.abc import Sequence

from eventlab.invariants.results import Result, Violation
from eventlab.invariants.spec import Invariant, InvariantFileError, load, load_file, parse_text
from eventlab.replay.reducer import Reducer
from eventlab.store import db

__all__ = ["Invariant", "InvariantFileError", "Result", "Violation", "load", "load_file",
           "parse_text", "run"]


def run(con: db.Connection, invariants: Sequence[Invariant],
        reducer: Reducer | None = None, *, max_events: int | None = None) -> list[Result]:
    """Check every invariant: in DuckDB for the merge reducer (`reducer` None or a
    `MergeReducer`), else through the fold with `reducer`, refused above `max_events` events
    of a type (default `fold_each.MAX_EVENTS`, the bound divergence uses; 0: no bound)."""
    from eventlab.invariants import duckdb_path, fold_path
    from eventlab.replay.merge import MergeReducer
    from eventlab.timetravel import fold_each

    if reducer is None or type(reducer) is MergeReducer:
        deletes = sorted(reducer.delete_types) if reducer is not None else []
        return duckdb_path.check(con, invariants, deletes)
    bound = fold_each.MAX_EVENTS if max_events is None else (max_events or None)
    return fold_path.check(con, invariants, reducer, max_events=bound)


def findings(con: db.Connection, names: Sequence[str], reducer: Reducer | None = None,
             limit: int = 100) -> list[dict]:
    """The results of the named invariants (of the configured files, else the demo's) as
    dicts with at most `limit` violations each: what an investigation's bundle holds. A name
    no longer declared is listed with `"missing": true`."""
    from eventlab.invariants.spec import load_or_demo

    declared = {inv.name: inv for inv in load_or_demo()[0]}
    chosen = [declared[n] for n in names if n in declared]
    done = {r.invariant.name: r.to_dict(limit) for r in run(con, chosen, reducer)} \
        if chosen else {}
    return [done.get(n, {"name": n, "missing": True}) for n in names]
