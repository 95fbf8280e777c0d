"""The SQL console (safety item 17): refusals leave no trace, the time limit, the row cap."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers_files import flat_events, ingest, write_jsonl, write_parquet

from eventlab.errors import SqlRefused, SqlTimeout
from eventlab.store import db
from eventlab.store.eventstore import EventStore
from eventlab.store.sandbox import SqlResult, check, run_sql


@dataclass
class Console:
    store: EventStore
    root: Path


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """One store for the module: every test checks it leaves the store as it was."""
    tmp_path = tmp_path_factory.mktemp("console")
    data = tmp_path / "data"
    with EventStore(tmp_path / "db" / "x.duckdb") as store:
        ingest(store, write_parquet(data / "a.parquet", flat_events(12)),
               write_jsonl(data / "b.jsonl", [
                   {"entity_id": "o-1", "event_type": "T", "ts": "2026-11-01T09:00:00Z"},
                   b"{bad"]))
        yield Console(store, tmp_path)


def _state(c: Console) -> dict:
    """Everything a refused statement must leave as it was."""
    cur = c.store.cursor()
    try:
        return {
            "events": db.scalar(cur, "SELECT count(*) FROM events"),
            "quarantine": db.scalar(cur, "SELECT count(*) FROM quarantine"),
            "tables": db.rows(cur, "SELECT database_name, schema_name, table_name "
                                   "FROM duckdb_tables() ORDER BY ALL"),
            "views": db.rows(cur, "SELECT view_name FROM duckdb_views() "
                                  "WHERE NOT internal ORDER BY ALL"),
            "threads": db.scalar(cur, "SELECT current_setting('threads')"),
            "memory": db.scalar(cur, "SELECT current_setting('memory_limit')"),
            "databases": db.rows(cur, "SELECT database_name, path FROM duckdb_databases() "
                                      "ORDER BY ALL"),
            "functions": db.scalar(cur, "SELECT count(*) FROM duckdb_functions()"),
            "files": sorted(str(p.relative_to(c.root)) for p in c.root.rglob("*")),
        }
    finally:
        cur.close()


REFUSED = [
    "INSERT INTO events (event_id) VALUES ('x')",
    "UPDATE events SET seq = seq + 1",
    "DELETE FROM events",
    "DROP TABLE events",
    "CREATE TABLE stolen AS SELECT * FROM events",
    "COPY events TO '{tmp}/out.csv'",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "INSTALL httpfs",
    "LOAD json",
    "SET threads = 1",
    "PRAGMA threads = 1",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/*')",
    "SELECT 1; DROP TABLE events",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM force_checkpoint()",
    "SELECT * FROM query('DROP TABLE events')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_parquet('{tmp}/data/a.parquet')",
    "SELECT * FROM '{tmp}/data/a.parquet'",
    "SELECT * FROM Read_Text('/etc/passwd')",
    "SELECT * FROM system.main.read_text('/etc/passwd')",
    "EXPLAIN ANALYZE SELECT 1",
    "VACUUM",
    "CHECKPOINT",
    "EXPORT DATABASE '{tmp}/dump'",
    "DETACH x",
    "USE system",
    "BEGIN TRANSACTION",
    "",
    "   ",
    "SELEC 1",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused_and_no_side_effect(console: Console, sql: str) -> None:
    query = sql.format(tmp=console.root)
    before = _state(console)
    cur = console.store.cursor()
    with pytest.raises(SqlRefused) as err:
        run_sql(cur, query, timeout_s=2)
    assert str(err.value).strip()
    assert _state(console) == before
    assert not (console.root / "out.csv").exists()
    assert not (console.root / "other.duckdb").exists()
    # The connection still answers afterwards.
    assert run_sql(cur, "SELECT count(*) AS n FROM events").rows() == [[13]]


@pytest.mark.parametrize(("sql", "message"), [
    ("DROP TABLE events", "Only SELECT queries run here (this is DROP)"),
    ("SELECT 1; DROP TABLE events", "Exactly one statement is allowed; this has 2."),
    ("SELECT * FROM glob('/*')", "Function(s) not allowed in the console: glob."),
    ("SELECT * FROM read_csv('/etc/passwd')", "the console cannot read files"),
    ("", "Empty query"),
    ("SELEC 1", "The query does not parse"),
])
def test_refusal_messages_say_why(console: Console, sql: str, message: str) -> None:
    with pytest.raises(SqlRefused) as err:
        run_sql(console.store.cursor(), sql)
    assert message in str(err.value)


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "WITH x AS (SELECT 2 AS a) SELECT a FROM x",
    "FROM events LIMIT 1",
    "SELECT entity_id, count(*) FROM events GROUP BY ALL",
    "SELECT * FROM events e JOIN quarantine q ON q.source = e.source",
    "SELECT json_extract_string(payload, '$.n') FROM events",
    "SELECT 'drop table events; read_text(x)' AS s",
])
def test_read_only_selects_are_allowed(console: Console, sql: str) -> None:
    assert check(console.store.cursor(), sql) == sql


def test_query_result_and_to_dict(console: Console) -> None:
    res = run_sql(console.store.cursor(),
                  "SELECT event_id, seq, ts, payload::VARCHAR AS p, NULL AS nothing, "
                  "'\\x01'::BLOB AS b FROM events WHERE source LIKE '%.parquet' "
                  "ORDER BY \"offset\" LIMIT 2")
    assert isinstance(res, SqlResult)
    d = res.to_dict()
    assert d["columns"] == ["event_id", "seq", "ts", "p", "nothing", "b"]
    assert d["truncated"] is False
    assert d["rows"] == [
        ["e0", 1, "2026-11-01 10:00:00+00:00", '{"n":0}', None, "01"],
        ["e1", 1, "2026-11-01 10:01:00+00:00", '{"n":1}', None, "01"]]
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize(("n", "cap", "rows", "truncated"), [
    (25, 10, 10, True),
    (10, 10, 10, False),
    (9, 10, 9, False),
    (0, 10, 0, False),
    (25_000, 12_000, 12_000, True),
    (12_000, 12_000, 12_000, False),
])
def test_row_cap(console: Console, n: int, cap: int, rows: int, truncated: bool) -> None:
    res = run_sql(console.store.cursor(), f"SELECT range AS i FROM range({n})", max_rows=cap)
    assert (res.table.num_rows, res.truncated) == (rows, truncated)
    assert len(res.rows()) == rows
    assert res.to_dict()["truncated"] is truncated
    if rows:
        assert res.rows()[-1] == [rows - 1]


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM range(1000000000000)",
    "SELECT count(*) FROM range(1000000) a, range(1000000) b",
])
def test_time_limit_interrupts_and_the_connection_survives(console: Console,
                                                           sql: str) -> None:
    cur = console.store.cursor()
    started = time.perf_counter()
    with pytest.raises(SqlTimeout, match="ran longer than 0.5 s"):
        run_sql(cur, sql, timeout_s=0.5)
    assert time.perf_counter() - started < 2.0
    assert run_sql(cur, "SELECT count(*) AS n FROM events").rows() == [[13]]


def test_a_fast_query_is_not_interrupted_later(console: Console) -> None:
    cur = console.store.cursor()
    assert run_sql(cur, "SELECT 1 AS one", timeout_s=0.2).rows() == [[1]]
    time.sleep(0.3)  # past the first query's limit: its watchdog must be gone
    assert run_sql(cur, "SELECT count(*) FROM range(100000)", timeout_s=5).rows() == \
        [[100000]]
