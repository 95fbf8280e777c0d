"""User SQL cannot write (safety item 17): the parse-tree check refuses writes hidden in CTEs and
subqueries, and the read-only, rolled-back transaction stops them even without the check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sql_support import CTE_DELETE, CTE_UPDATE, fingerprint, seed

from eventlab.errors import SqlRefused
from eventlab.store import db, sandbox
from eventlab.store.eventstore import EventStore
from eventlab.store.sandbox import run_sql
from eventlab.store.sqlcheck import problems

HIDDEN_WRITES = [
    CTE_DELETE,
    CTE_UPDATE,
    "WITH x AS (DELETE FROM investigations RETURNING *) SELECT count(*) FROM x",
    "WITH x AS (DELETE FROM audit_log RETURNING *) SELECT count(*) FROM x",
    "WITH x AS (INSERT INTO events (event_id) VALUES ('x') RETURNING *) SELECT * FROM x",
    "SELECT * FROM (WITH x AS (DELETE FROM events RETURNING *) SELECT * FROM x) s",
    "SELECT (WITH x AS (DELETE FROM events RETURNING 1) SELECT count(*) FROM x) AS n",
    "SELECT 1 AS a UNION ALL (WITH x AS (DELETE FROM events RETURNING 1) SELECT * FROM x)",
    "SELECT * FROM events WHERE event_id IN (WITH x AS (UPDATE events SET seq = 0 "
    "RETURNING event_id) SELECT event_id FROM x)",
    "with X as (/* hi */ delete\n from EVENTS returning *) select * from x",
    "WITH x AS (COPY events TO '/tmp/eventlab-sandbox-copy.csv') SELECT * FROM x",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql("
    "'WITH x AS (DELETE FROM events RETURNING 1) SELECT * FROM x'))",
]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EventStore]:
    with EventStore(seed(tmp_path / "x.duckdb")) as s:
        yield s


@pytest.mark.parametrize("sql", HIDDEN_WRITES)
def test_writes_hidden_in_a_select_are_refused(store: EventStore, sql: str) -> None:
    cur = store.cursor()
    before = fingerprint(cur)
    with pytest.raises(SqlRefused) as err:
        run_sql(cur, sql)
    assert "read-only" in str(err.value) or "not allowed" in str(err.value)
    assert fingerprint(cur) == before
    assert not Path("/tmp/eventlab-sandbox-copy.csv").exists()


def test_the_refusal_names_the_write(store: EventStore) -> None:
    with pytest.raises(SqlRefused, match=r"contains DELETE \(for example in a WITH clause\)"):
        run_sql(store.cursor(), CTE_DELETE)
    with pytest.raises(SqlRefused, match="contains UPDATE"):
        run_sql(store.cursor(), CTE_UPDATE)


@pytest.mark.parametrize("sql", [
    "SUMMARIZE events", "DESCRIBE events", "SHOW TABLES", "TABLE events", "VALUES (1)",
    "UNPIVOT (SELECT event_id, event_type FROM events) ON event_type INTO NAME k VALUE v",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
    "SELECT * FROM r",
    "SELECT * FROM (VALUES (1), (2)) t(a) JOIN range(3) ON a = range",
    "SELECT * FROM events e ASOF JOIN events f ON e.ts >= f.ts LIMIT 1",
    "SELECT 'DELETE FROM events' AS s, '-- UPDATE' AS t /* INSERT */",
])
def test_reads_of_every_shape_still_run(store: EventStore, sql: str) -> None:
    cur = store.cursor()
    before = fingerprint(cur)
    assert run_sql(cur, sql).table.num_rows >= 1
    assert fingerprint(cur) == before


def test_the_tree_walk_names_each_write_kind() -> None:
    tree = {"statements": [{"node": {"type": "SELECT_NODE", "modifiers": [], "cte_map": {
        "map": [{"key": "x", "value": {"query_node": {
            "type": "DELETE_QUERY_NODE", "modifiers": [], "cte_map": {"map": []}}}},
                {"key": "y", "value": {"query_node": {
                    "type": "MERGE_INTO_QUERY_NODE", "modifiers": []}}}]},
        "from_table": {"type": "SOMETHING_NEW", "alias": "", "sample": None},
        "select_list": [{"class": "FUNCTION", "function_name": "NextVal"}]}}]}
    assert problems(tree) == ["DELETE", "MERGE_INTO", "function nextval",
                              "table reference SOMETHING_NEW"]


@pytest.mark.parametrize("sql", [CTE_DELETE, CTE_UPDATE,
                                 "WITH x AS (DELETE FROM audit_log RETURNING 1) "
                                 "SELECT count(*) FROM x"])
def test_the_transaction_stops_a_write_the_check_let_through(
        store: EventStore, sql: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second wall alone: with the check replaced by one that passes everything, the
    write still fails (read-only transaction) and nothing changes."""
    monkeypatch.setattr(sandbox, "check", lambda con, text: text)
    cur = store.cursor()
    before = fingerprint(cur)
    with pytest.raises(SqlRefused, match="read-only mode"):
        run_sql(cur, sql)
    assert fingerprint(cur) == before


def test_only_the_one_parsed_statement_runs(store: EventStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if the one-statement rule failed, the text after the first statement never runs."""
    real = sandbox.check

    def lenient(con: db.Connection, text: str) -> str:
        return real(con, db.statements(con, text)[0][1])

    monkeypatch.setattr(sandbox, "check", lenient)
    cur = store.cursor()
    before = fingerprint(cur)
    assert run_sql(cur, "SELECT 1 AS a; DELETE FROM events").rows() == [[1]]
    assert fingerprint(cur) == before
