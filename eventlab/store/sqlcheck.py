"""The first wall of the SQL sandbox: DuckDB's own parse tree must show nothing but reading.

DuckDB classes `WITH x AS (DELETE FROM events RETURNING *) SELECT count(*) FROM x` as a SELECT
statement (measured with duckdb 2.0.1), so the statement type alone says little. The check
therefore walks the whole tree `json_serialize_sql` gives, CTEs and subqueries included:
every query node must be a SELECT, a set operation or a CTE (`DELETE_QUERY_NODE`,
`UPDATE_QUERY_NODE`, `INSERT_QUERY_NODE`, `COPY_QUERY_NODE` and anything unknown are refused),
every table reference one of the known reading kinds, and no function may be one with side
effects. Statements `json_serialize_sql` cannot serialize (it serializes only SELECT) are
refused. The second wall, a read-only transaction that is always rolled back, is in
`eventlab.store.sandbox` (docs/safety.md, item 17).
"""

from __future__ import annotations

import json
from typing import Any

from eventlab.errors import SqlRefused
from eventlab.store import db

FORBIDDEN_FUNCTIONS = frozenset({
    "checkpoint", "force_checkpoint", "query", "query_table", "setseed", "nextval",
    "pragma_database_size", "set_config", "read_blob", "read_text", "glob",
    "json_execute_serialized_sql", "duckdb_secrets", "which_secret",
})
"""Table or scalar functions that change state, run other SQL or read files or secrets:
refused even inside a SELECT."""
READ_QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE",
                              "CTE_NODE"})
"""Query nodes that only read."""
READ_TABLE_REFS = frozenset({"BASE_TABLE", "TABLE_FUNCTION", "SUBQUERY", "JOIN",
                             "EXPRESSION_LIST", "EMPTY", "PIVOT", "SHOW_REF", "COLUMN_DATA"})
"""Table references (FROM items) that only read."""


def problems(tree: Any) -> list[str]:
    """What in a `json_serialize_sql` tree is not a read (pure; empty when it only reads)."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        kind = node.get("type")
        if "class" in node:  # an expression
            name = node.get("function_name")
            if isinstance(name, str) and name.lower() in FORBIDDEN_FUNCTIONS:
                found.add(f"function {name.lower()}")
        elif "modifiers" in node or (isinstance(kind, str) and kind.endswith("_NODE")):
            if kind not in READ_QUERY_NODES:
                found.add(_verb(kind))
        elif "sample" in node and "alias" in node and kind not in READ_TABLE_REFS:
            found.add(f"table reference {kind}")
    return sorted(found)


def _verb(kind: Any) -> str:
    """`DELETE_QUERY_NODE` -> `DELETE`."""
    return str(kind).removesuffix("_NODE").removesuffix("_QUERY") or "an unknown statement"


def check(con: db.Connection, sql: str) -> str:
    """Return the text of the one read-only SELECT in `sql`, or raise SqlRefused saying why."""
    if not sql or not sql.strip():
        raise SqlRefused("Empty query: write one SELECT statement.")
    try:
        statements = db.statements(con, sql)
    except db.DuckError as exc:
        raise SqlRefused(f"The query does not parse: {first_line(exc)}") from exc
    if len(statements) != 1:
        raise SqlRefused(f"Exactly one statement is allowed; this has {len(statements)}.")
    kind, text = statements[0]
    if kind != "SELECT":
        raise SqlRefused(f"Only SELECT queries run here (this is {kind}); the console "
                         "is read-only.")
    tree = json.loads(db.scalar(con, "SELECT json_serialize_sql(?)", [text]))
    if tree.get("error"):
        raise SqlRefused(f"The query is not a plain SELECT: {tree.get('error_message')}")
    bad = problems(tree)
    functions = [b.removeprefix("function ") for b in bad if b.startswith("function ")]
    writes = [b for b in bad if not b.startswith("function ")]
    if writes:
        raise SqlRefused(f"Only reading is allowed: the query contains {', '.join(writes)} "
                         "(for example in a WITH clause); the console is read-only.")
    if functions:
        raise SqlRefused(f"Function(s) not allowed in the console: {', '.join(functions)}.")
    return text


def first_line(exc: BaseException) -> str:
    """The first line of a driver message (DuckDB adds hints on the next lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
