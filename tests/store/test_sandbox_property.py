"""Property (safety item 17): whatever way a write verb is dressed up (CTEs, subqueries, set
operations, comments, case, whitespace, a second statement), the sandbox refuses it with a
message and the store's tables stay exactly as they were."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sql_support import fingerprint, seed

from eventlab.errors import SqlRefused
from eventlab.store.eventstore import EventStore
from eventlab.store.sandbox import run_sql

TABLES = ("events", "investigations", "audit_log")
# Data-changing statements that may sit inside a WITH clause (with RETURNING).
DML = (
    "DELETE FROM {t} RETURNING *",
    "DELETE FROM {t} WHERE true RETURNING 1 AS one",
    "UPDATE {t} SET {c} = {c} RETURNING *",
    "INSERT INTO {t} SELECT * FROM {t} RETURNING *",
    "INSERT INTO {t} BY NAME (SELECT * FROM {t} LIMIT 1) RETURNING *",
)
# Everything else that writes or changes the instance; as a statement of its own.
OTHER = (
    "DROP TABLE {t}", "TRUNCATE {t}", "ALTER TABLE {t} RENAME TO gone", "CREATE TABLE x AS "
    "SELECT * FROM {t}", "CREATE OR REPLACE TABLE {t} AS SELECT 1 AS a", "COPY {t} TO "
    "'/tmp/eventlab-prop.csv'", "COPY {t} FROM '/tmp/eventlab-prop.csv'", "ATTACH "
    "'/tmp/eventlab-prop.duckdb' AS p", "DETACH DATABASE memory", "SET threads = 1",
    "RESET threads", "PRAGMA threads = 1", "CHECKPOINT", "FORCE CHECKPOINT", "VACUUM {t}",
    "EXPORT DATABASE '/tmp/eventlab-prop'", "CALL checkpoint()", "INSTALL httpfs",
    "LOAD json", "CREATE MACRO m() AS 1", "CREATE SEQUENCE s", "USE system",
    "BEGIN TRANSACTION", "COMMIT", "ROLLBACK", "UPDATE {t} SET {c} = {c}",
    "DELETE FROM {t}", "INSERT INTO {t} SELECT * FROM {t}", "SELECT * FROM checkpoint()",
    "SELECT nextval('s')", "SELECT * FROM query('DELETE FROM {t}')",
)
COLUMN = {"events": "event_type", "investigations": "name", "audit_log": "detail"}
WRAPPERS = (
    "{w}",
    "WITH x AS ({d}) SELECT count(*) FROM x",
    "WITH x AS MATERIALIZED ({d}) SELECT * FROM x",
    "WITH a AS (SELECT 1 AS one), x AS ({d}) SELECT * FROM a, x",
    "SELECT * FROM (WITH x AS ({d}) SELECT * FROM x) s",
    "SELECT (WITH x AS ({d}) SELECT count(*) FROM x) AS n",
    "SELECT 1 AS one UNION ALL (WITH x AS ({d}) SELECT count(*) FROM x)",
    "SELECT * FROM events WHERE seq IN (WITH x AS ({d}) SELECT 1 FROM x)",
    "SELECT 1; {w}",
    "{w}; SELECT 1",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2), "
    "x AS ({d}) SELECT * FROM r, x",
)
SPACES = (" ", "  ", "\n", "\t", " /* c */ ", "/**/", " -- c\n", " --\n ", "\r\n")


@st.composite
def hostile(draw: st.DrawFn) -> str:
    """One statement with a write verb somewhere in it, dressed up."""
    table = draw(st.sampled_from(TABLES))
    fill = {"t": table, "c": COLUMN[table]}
    dml = draw(st.sampled_from(DML)).format(**fill)
    other = draw(st.sampled_from((*OTHER, *DML))).format(**fill)
    sql = draw(st.sampled_from(WRAPPERS)).format(d=dml, w=other)
    out = []
    for ch in sql:
        if ch == " ":
            out.append(draw(st.sampled_from(SPACES)))
        elif ch.isalpha():
            out.append(ch.upper() if draw(st.booleans()) else ch.lower())
        else:
            out.append(ch)
    lead = draw(st.sampled_from(("", "-- note\n", "/* note */", "\n  ")))
    tail = draw(st.sampled_from(("", ";", " ;", "-- end", "/* end */")))
    return lead + "".join(out) + tail


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventStore]:
    with EventStore(seed(tmp_path_factory.mktemp("prop") / "x.duckdb")) as s:
        yield s


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sql=hostile())
def test_no_write_ever_changes_the_store(store: EventStore, sql: str) -> None:
    cur = store.cursor()
    try:
        before = fingerprint(cur)
        with pytest.raises(SqlRefused) as err:
            run_sql(cur, sql, timeout_s=5)
        message = str(err.value)
        assert message.strip() and "Traceback" not in message
        assert fingerprint(cur) == before
        assert not any(Path(p).exists() for p in ("/tmp/eventlab-prop.csv",
                                                  "/tmp/eventlab-prop.duckdb",
                                                  "/tmp/eventlab-prop"))
    finally:
        cur.close()
