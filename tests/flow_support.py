"""Hand-made event sets for the flow tests (tests/flow, tests/cli, tests/app), with every
expected number worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from timetravel_support import insert

from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def ev(entity_id: str, seq: int, event_type: str, second: float, *, entity_type: str = "",
       event_id: str = "", correlation: str | None = None, causation: str | None = None,
       camel: bool = False, topic: str | None = None) -> dict[str, Any]:
    """One event row at T0 + `second` s; metadata with snake_case (or camelCase) ids."""
    meta: dict[str, Any] = {"actor": "test"}
    if correlation is not None:
        meta["correlationId" if camel else "correlation_id"] = correlation
    if causation is not None:
        meta["causationId" if camel else "causation_id"] = causation
    return {"event_id": event_id or f"{entity_id}/{seq}", "entity_type":
            entity_type or entity_id.rstrip("0123456789"), "entity_id": entity_id,
            "event_type": event_type, "event_version": 1, "seq": seq,
            "ts": T0 + timedelta(seconds=second), "payload": json.dumps({"n": seq}),
            "metadata": json.dumps(meta), "is_delete": False, "source": "test",
            "topic": topic, "offset": seq}


# Orders (entity type "order"), inserted out of stream order on purpose:
#   order1: A@0  B@10  C@40         -> A>B 10 s, B>C 30 s
#   order2: A@0  B@20  C@10         -> A>B 20 s, B>C -10 s (a negative gap: 0, counted)
#   order3: A@0  B@30               -> A>B 30 s
#   order4: A@100 C@160             -> A>C 60 s
# and one payment: payment1: X@0 Y@5 -> X>Y 5 s
# Expected (order): ^>A 4; A>B 3 (median 20, p95 20 + 0.9 * 10 = 29); B>C 2 (median 15,
# p95 0 + 0.95 * 30 = 28.5, 1 negative); A>C 1 (60, 60); C>$ 3; B>$ 1.
# Variants (order): A>B>C 2 (50 %), A>B 1 (25 %), A>C 1 (25 %); payment: X>Y 1 (100 %).
FLOW_ROWS = [
    ev("order1", 3, "C", 40), ev("order1", 1, "A", 0), ev("order1", 2, "B", 10),
    ev("order2", 2, "B", 20), ev("order2", 3, "C", 10), ev("order2", 1, "A", 0),
    ev("order3", 1, "A", 0), ev("order3", 2, "B", 30),
    ev("order4", 2, "C", 160), ev("order4", 1, "A", 100),
    ev("payment1", 1, "X", 0), ev("payment1", 2, "Y", 5),
]

# A chain "c1" over four entities (o = order1, p = payment1, n = note1, s = shipment1), with a
# clock skew (e4 is stamped before its cause e3), a parent from another correlation (e8, "c2")
# and a parent that is not stored at all ("gone"); e2 is stored twice; e5 uses camelCase keys.
#   e1 OrderPlaced o @0 (root)        e2 PaymentAuthorized p @10 <- e1
#   e7 NoteAdded n @15 <- e1          e3 PaymentCaptured p @20 <- e2
#   e4 OrderPaid o @18 <- e3          e5 ShipmentCreated s @30 <- e4
#   e6 OrderShipped o @40 <- gone     e8 Imported x @5 (correlation c2)   e9 Linked o @50 <- e8
# Causal order: e1, e2, e3, e4, e5, e7, e8 (outside), e9, [missing gone], e6.
CHAIN_ROWS = [
    ev("order1", 4, "OrderShipped", 40, event_id="e6", correlation="c1", causation="gone",
       topic="orders"),
    ev("shipment1", 1, "ShipmentCreated", 30, event_id="e5", correlation="c1",
       causation="e4", camel=True, topic="shipments"),
    ev("order1", 3, "OrderPaid", 18, event_id="e4", correlation="c1", causation="e3",
       topic="orders"),
    ev("payment1", 2, "PaymentCaptured", 20, event_id="e3", correlation="c1", causation="e2",
       topic="payments"),
    ev("payment1", 1, "PaymentAuthorized", 10, event_id="e2", correlation="c1",
       causation="e1", topic="payments"),
    ev("payment1", 1, "PaymentAuthorized", 10, event_id="e2", correlation="c1",
       causation="e1", topic="payments"),
    ev("note1", 1, "NoteAdded", 15, event_id="e7", correlation="c1", causation="e1"),
    ev("order1", 1, "OrderPlaced", 0, event_id="e1", correlation="c1", topic="orders"),
    ev("import1", 1, "Imported", 5, event_id="e8", correlation="c2"),
    ev("order1", 5, "Linked", 50, event_id="e9", correlation="c1", causation="e8",
       topic="orders"),
    ev("other1", 1, "Unrelated", 7, event_id="u1", correlation="c3"),
]
CHAIN_ORDER = ["e1", "e2", "e3", "e4", "e5", "e7", "e8", "e9", "e6"]


def flow_db(path: Path, rows: list[dict[str, Any]] | None = None) -> Path:
    """A database file holding `rows` (default FLOW_ROWS), closed again."""
    with EventStore(path) as store:
        insert(store, FLOW_ROWS if rows is None else rows)
    return path
