"""The demo shop's order read model, with planted faults (for the tutorial, the Tour, tests).

Built from the database's own order states (the merge reducer, `asof.population` at the end of
time), so every row is right except the planted ones, each on the first order (by id) that
fits, and each naming the event a divergence report must name:

- `missed_event`: an order's OrderPaid never reached the projection: `payment_id` is empty;
- `doubled_event`: an OrderItemAdded applied twice: `total` is higher by the item's price;
- `stale_row`: a row that stopped after the first event (OrderPlaced) while the order was
  paid and shipped since: `status`, `payment_id`, `tracking_number` are behind;
- `extra_row`: an order id with no events at all;
- `dropped_row`: an order the projection never wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from eventlab.asof import population
from eventlab.diverge.readmodel import DivergeError
from eventlab.store import db
from eventlab.store.order import ORDER_SQL

COLUMNS: tuple[str, ...] = ("status", "customer_id", "currency", "total", "payment_id",
                            "tracking_number")
EXTRA_ID = "order-readmodel-extra"
_END = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Planted:
    """One planted fault: its kind, the order, the column and the event a report names."""

    kind: str
    entity_id: str
    column: str | None
    event_id: str | None


def _last_setter(con: db.Connection, entity_id: str, field: str) -> str:
    """The id of the last event (stream order) whose payload has `field`."""
    return db.scalar(con, f"SELECT arg_max(event_id, struct_pack({ORDER_SQL})) FROM events "
                          f"WHERE entity_id = ? AND json_exists(payload, ?)",
                     [entity_id, f"$.{field}"])


def _pick(con: db.Connection, sql: str, used: set[str], params: list[Any]) -> str:
    for (entity_id,) in db.rows(con, sql, params):
        if entity_id not in used:
            used.add(entity_id)
            return entity_id
    raise DivergeError("the database has no order to plant this fault on: load the demo shop "
                       "first (`eventlab demo --out data/demo && eventlab ingest data/demo`)")


def _types(counts: dict[str, int]) -> str:
    """An entity-id query: orders with exactly these counts of these event types."""
    return ("SELECT entity_id FROM events WHERE entity_type = 'order' GROUP BY entity_id "
            "HAVING " + " AND ".join(f"count(*) FILTER (WHERE event_type = '{t}') = {n}"
                                      for t, n in counts.items())
            + " AND count(DISTINCT event_id) = count(*) ORDER BY entity_id LIMIT 200")


def demo_read_model(con: db.Connection) -> tuple[pa.Table, list[Planted]]:
    """The order read model (id + COLUMNS) and its planted faults."""
    states = population(con, _END, entity_type="order")
    rows: dict[str, dict[str, Any]] = {}
    for entity_id, state in zip(states.column("entity_id").to_pylist(),
                                states.column("state").to_pylist(), strict=True):
        value = json.loads(state) if state else None
        if isinstance(value, dict):
            rows[entity_id] = {c: value.get(c) for c in COLUMNS}
    used: set[str] = set()
    planted: list[Planted] = []

    missed = _pick(con, _types({"OrderPaid": 1, "OrderShipped": 1}), used, [])
    rows[missed]["payment_id"] = None
    planted.append(Planted("missed_event", missed, "payment_id",
                           _last_setter(con, missed, "payment_id")))

    doubled = _pick(con, "SELECT entity_id FROM events WHERE event_type = 'OrderItemAdded' "
                         "AND json_exists(payload, '$.total') AND entity_id IN ("
                         + _types({"OrderItemAdded": 1, "OrderPlaced": 1}) + ") ORDER BY 1",
                    used, [])
    event_id, price, qty = db.rows(
        con, "SELECT event_id, payload->>'$.item.price', payload->>'$.item.qty' FROM events "
             "WHERE entity_id = ? AND event_type = 'OrderItemAdded'", [doubled])[0]
    rows[doubled]["total"] = round(float(rows[doubled]["total"])
                                   + float(price) * float(qty or 1), 2)
    planted.append(Planted("doubled_event", doubled, "total", event_id))

    stale = _pick(con, _types({"OrderPaid": 1, "OrderShipped": 1, "OrderPlaced": 1}), used, [])
    first = json.loads(db.scalar(con, f"SELECT payload FROM events WHERE entity_id = ? "
                                      f"ORDER BY {ORDER_SQL} LIMIT 1", [stale]))
    rows[stale] = {c: first.get(c) for c in COLUMNS}
    planted.append(Planted("stale_row", stale, "status", _last_setter(con, stale, "status")))

    dropped = _pick(con, _types({"OrderPlaced": 1}), used, [])
    del rows[dropped]
    planted.append(Planted("dropped_row", dropped, None, None))

    rows[EXTRA_ID] = {"status": "placed", "customer_id": "customer-00001", "currency": "EUR",
                      "total": 1.0, "payment_id": None, "tracking_number": None}
    planted.append(Planted("extra_row", EXTRA_ID, None, None))

    ids = sorted(rows)
    table = pa.table({"id": pa.array(ids, pa.string()),
                      **{c: pa.array([_plain(rows[i][c]) for i in ids],
                                     pa.float64() if c == "total" else pa.string())
                         for c in COLUMNS}})
    return table, planted


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str)):
        return value
    return json.dumps(value)


def write_demo_read_model(con: db.Connection, path: str | Path) -> list[Planted]:
    """Write the demo read model (CSV or Parquet by the file's extension)."""
    table, planted = demo_read_model(con)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() in (".parquet", ".pq"):
        pq.write_table(table, target)
    else:
        pacsv.write_csv(table, target)
    return planted
