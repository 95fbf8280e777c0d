"""The demo shop's entities, rebuilt in Python (the same states as `rules.toml`).

Use it with `eventlab app --reducer eventlab/demo/reducer.py` (or EVENTLAB_REDUCER). EventLab
calls `upcast(event)` on every event, then `apply(state, event)`; `apply` gets a private copy of
the state and may edit it in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventlab.replay import merge_patch  # RFC 7396, for event types this file does not know

NAME = "demo shop (Python)"

State = dict[str, Any]
VERSIONED = ("OrderPlaced", "OrderItemAdded")


def upcast_v1_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Schema version 2 renamed the order's `total` to `total_amount`."""
    payload = dict(payload)
    if "total" in payload:
        payload["total_amount"] = payload.pop("total")
    return payload


def upcast(event: Any) -> Any:
    """Bring old event versions to the current one, one version step at a time."""
    version = event.event_version or 1
    if event.event_type in VERSIONED and version < 2 and isinstance(event.payload, dict):
        return event.replace(payload=upcast_v1_v2(event.payload), event_version=2)
    return event


def _copy(state: State, data: dict[str, Any], fields: tuple[str, ...],
          renames: dict[str, str] | None = None) -> None:
    """Copy the fields present in the payload (a missing one leaves the state as it is)."""
    for name in fields:
        if name in data:
            state[(renames or {}).get(name, name)] = data[name]


def _when(state: State, name: str, event: Any) -> None:
    state[name] = event.ts.isoformat()


def _count(state: State, name: str) -> None:
    state[name] = (state.get(name) or 0) + 1


def _customer_registered(state: State, data: dict[str, Any], event: Any) -> None:
    _copy(state, data, ("customer_id", "name", "email", "address", "status"))
    _when(state, "registered_at", event)


def _address_changed(state: State, data: dict[str, Any], event: Any) -> None:
    _copy(state, data, ("address",))
    _count(state, "address_changes")


def _email_changed(state: State, data: dict[str, Any], event: Any) -> None:
    _copy(state, data, ("email",))
    _count(state, "email_changes")


def _order_placed(state: State, data: dict[str, Any], event: Any) -> None:
    _copy(state, data, ("order_id", "customer_id", "status", "items", "total_amount",
                        "currency", "address"))
    _when(state, "placed_at", event)


def _item_added(state: State, data: dict[str, Any], event: Any) -> None:
    _copy(state, data, ("status", "items", "total_amount"))
    _count(state, "items_added")


def _status_and(fields: tuple[str, ...], at: str | None = None,
                renames: dict[str, str] | None = None) -> Callable[..., None]:
    """A handler that copies `status` and `fields` and stamps the time as `at`."""
    def handle(state: State, data: dict[str, Any], event: Any) -> None:
        _copy(state, data, ("status", *fields), renames)
        if at:
            _when(state, at, event)
    return handle


HANDLERS: dict[str, Callable[[State, dict[str, Any], Any], None]] = {
    "CustomerRegistered": _customer_registered,
    "CustomerAddressChanged": _address_changed,
    "CustomerEmailChanged": _email_changed,
    "OrderPlaced": _order_placed,
    "OrderItemAdded": _item_added,
    "OrderCancelled": _status_and(("reason",), "cancelled_at", {"reason": "cancel_reason"}),
    "OrderPaid": _status_and(("payment_id",), "paid_at"),
    "OrderShipped": _status_and(("shipment_id", "carrier", "tracking_number"), "shipped_at"),
    "OrderDelivered": _status_and((), "delivered_at"),
    "OrderRefunded": _status_and(("refunded_amount",), "refunded_at"),
    "PaymentAuthorized": _status_and(("payment_id", "order_id", "amount", "currency",
                                      "method"), "authorized_at"),
    "PaymentFailed": _status_and(("reason",), None, {"reason": "failure_reason"}),
    "PaymentCaptured": _status_and(("captured_amount",), "captured_at"),
    "PaymentRefunded": _status_and(("refunded_amount", "reason"), None,
                                   {"reason": "refund_reason"}),
    "ShipmentCreated": _status_and(("shipment_id", "order_id", "carrier", "address"),
                                   "created_at"),
    "ShipmentDispatched": _status_and(("tracking_number",), "dispatched_at"),
    "ShipmentDelivered": _status_and((), "delivered_at"),
}


def apply(state: State | None, event: Any) -> State | None:
    """The entity's state after the event."""
    if event.is_delete:
        return None
    state = {} if state is None else state
    handler = HANDLERS.get(event.event_type)
    if handler is None:
        return state if event.payload is None else merge_patch(state, event.payload)
    handler(state, event.payload if isinstance(event.payload, dict) else {}, event)
    return state
