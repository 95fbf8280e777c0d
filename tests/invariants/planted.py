"""A planted-fault data set: orders whose violations of the demo invariants are known."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from event_rows import add_events, event

from eventlab.store.eventstore import EventStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ITEMS = [{"sku": "a", "qty": 2, "price": 5.1}]
PLACED = {"status": "placed", "items": ITEMS, "total": 10.2}

# (entity, type, payload) in stream order per entity; seq is the position (1-based)
STREAMS: dict[str, list[tuple[str, Any]]] = {
    "order-1": [("OrderPlaced", PLACED), ("OrderPaid", {"status": "paid", "payment_id": "p1"}),
                ("OrderShipped", {"status": "shipped", "shipment_id": "s1"})],
    # shipped unpaid at seq 2 and still at seq 3 (delivered): 2 positions, no recovery
    "order-2": [("OrderPlaced", PLACED), ("OrderShipped", {"status": "shipped"}),
                ("OrderDelivered", {"status": "delivered"})],
    # total wrong from seq 1, fixed by the item added at seq 2 (v2 total_amount)
    "order-3": [("OrderPlaced", {**PLACED, "total": 11}),
                ("OrderItemAdded", {"items": [*ITEMS, {"sku": "b", "qty": 1, "price": 0.8}],
                                    "total_amount": 11.0})],
    # cancelled, then shipped: breaks "no shipment" and "shipped paid" at seq 3
    "order-4": [("OrderPlaced", PLACED),
                ("OrderCancelled", {"status": "cancelled", "reason": "customer_request"}),
                ("OrderShipped", {"status": "shipped", "shipment_id": "s4"})],
    # payment id removed by a null at seq 4 (violation), set again at seq 5 (recovers)
    "order-5": [("OrderPlaced", PLACED), ("OrderPaid", {"status": "paid", "payment_id": "p5"}),
                ("OrderShipped", {"status": "shipped", "shipment_id": "s5"}),
                ("Fixup", {"payment_id": None}), ("Fixup", {"payment_id": "p5b"})],
    # deleted after shipping, placed again unpaid but shipped: state restarts from nothing
    "order-6": [("OrderPlaced", PLACED), ("OrderPaid", {"status": "paid", "payment_id": "p6"}),
                ("OrderShipped", {"status": "shipped"}), ("OrderDeleted", None),
                ("OrderShipped", {"status": "shipped"})],
    # a nested field replaced by a non-object, then a list payload replacing the whole state
    "order-7": [("OrderPlaced", {**PLACED, "status": "shipped", "payment_id": {"id": 1}}),
                ("Odd", [1, 2]), ("OrderPaid", {"status": "shipped", "payment_id": "p7"})],
}
EXPECTED = {
    "a shipped order was paid": {  # entity: (first seq, first type, positions, recovers)
        "order-2": (2, "OrderShipped", 2, False), "order-4": (3, "OrderShipped", 1, False),
        "order-5": (4, "Fixup", 1, True), "order-6": (5, "OrderShipped", 1, False)},
    "an order's total equals the sum of its lines": {"order-3": (1, "OrderPlaced", 1, True)},
    "a cancelled order receives no shipment": {"order-4": (3, "OrderShipped", 1, False)},
}


def plant(store: EventStore) -> None:
    """Insert the streams (in reverse, so stored order is not stream order) plus a customer."""
    rows = []
    for entity, events in STREAMS.items():
        for i, (etype, payload) in enumerate(events):
            rows.append((f"{entity}-{i + 1}", "order", entity, etype, i + 1,
                         T0 + timedelta(minutes=len(rows)),
                         None if payload is None else json.dumps(payload),
                         etype == "OrderDeleted", len(rows)))
    rows.append(("c1", "customer", "customer-1", "CustomerRegistered", 1, T0,
                 json.dumps({"status": "shipped"}), False, 999))
    names = ("event_id", "entity_type", "entity_id", "event_type", "seq", "ts", "payload",
             "is_delete", "offset")
    add_events(store, [event(**dict(zip(names, r, strict=True)), event_version=1,
                             source="planted.jsonl", partition=0) for r in reversed(rows)])
