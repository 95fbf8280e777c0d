"""The demo shop: an online shop as an event-sourced domain, generated from a seed.

`generate(events, seed=42, start=None, days=7)` returns exactly `events` rows as an Arrow table
in log order (the order a producer wrote them; `timestamp` mostly rises). The same arguments
give the same table; `write_export` writes it as Parquet partitioned by day. Used for teaching,
tests and benchmarks (about 2 s per million events on a two-core machine, 3 GB peak for 5M).

Columns (the common "envelope" shape)
-------------------------------------
id              event id, a uuid4-shaped hex string derived from the seed
type            event type, past tense (see EVENT_TYPES)
schemaVersion   int32, 1 or 2 (only OrderPlaced and OrderItemAdded have a v2)
aggregateType   customer | order | payment | shipment
aggregateId     'customer-00042', 'order-000123', 'payment-000077', 'shipment-000050'
                (5 / 6 digits, wider only when there are more entities)
version         int64, the event's position in its entity's stream: 1, 2, 3, ...
timestamp       timestamp[us, UTC]
data            the payload, a JSON object
metadata        JSON: correlation_id, causation_id (null for the first event of a flow),
                actor ('customer:customer-00042', 'system:payments', 'user:ops-anna', ...),
                source (customer-service, order-service, payment-service, shipping-service)

The window starts at `start` (default 2025-03-03 00:00 UTC; naive means UTC) and lasts `days`
days. The shop opens at `start`, so the first day is a little quieter. Orders follow a daily
rhythm in UTC: quiet from 01:00 to 06:00, busiest from 18:00 to 21:00.

Flows, entities and payloads
----------------------------
An order flow shares one correlation_id across order, payment and shipment events; each event's
causation_id is the id of the event that caused it (the arrows below). Payment and shipment
numbers count up in order of placement, independently of order numbers.

  OrderPlaced        order     {order_id, customer_id, status: "placed", items: [{sku, qty,
                               price}], total (v1) | total_amount (v2), currency: "EUR",
                               address: {street, city, zip, country}}     1-3 items
  OrderItemAdded     order     {status: "placed", item, items (the whole list), total |
                               total_amount}      0-2 per order, minutes apart (30% of orders)
  OrderCancelled     order     {status: "cancelled", reason: "customer_request"}   4% of orders,
                               before payment; or reason "payment_failed" after PaymentFailed
  PaymentAuthorized  payment   {payment_id, order_id, status: "authorized", amount, currency,
                               method: card|paypal|sepa_debit|klarna}  <- last order event
  PaymentFailed      payment   {status: "failed", reason}        6% of payments, then cancel
  PaymentCaptured    payment   {status: "captured", captured_amount}  <- PaymentAuthorized
  OrderPaid          order     {status: "paid", payment_id}           <- PaymentCaptured
  ShipmentCreated    shipment  {shipment_id, order_id, status: "created", carrier, address}
  ShipmentDispatched shipment  {status: "dispatched", tracking_number}   hours later
  OrderShipped       order     {status: "shipped", shipment_id, carrier, tracking_number}
  ShipmentDelivered  shipment  {status: "delivered"}                     1-3 days later
  OrderDelivered     order     {status: "delivered"}
  PaymentRefunded    payment   {status: "refunded", refunded_amount, reason: "returned"}
                               5% of delivered orders, days after delivery
  OrderRefunded      order     {status: "refunded", refunded_amount}  <- PaymentRefunded
  CustomerRegistered      customer  {customer_id, name, email, address, status: "active"}
  CustomerAddressChanged  customer  {address}
  CustomerEmailChanged    customer  {email}

A full flow has about 10 events; with cancellations and the flows still running when the window
ends, an export holds about 8.5 events per order (about 5,900 orders per 50,000 events) and one
customer per three orders. Every order, payment and shipment event carries `status`, and lists
are always sent whole, so a JSON merge patch (RFC 7396) of the payloads in version order gives
the entity's state (after upcasting v1, the order's total_amount equals the sum of qty * price).
An order's address is its customer's address at the time of placement.

Customers register shortly before their first order. A few customers order a lot (customer
numbers follow a power law: customer-00001 places the most orders). customer-00002 to -00010
change their address or e-mail a few times, and **customer-00001** changes it very often:
events // 1000 changes, at least 20 and at most 1000 (about 20 events even in a 1,000-event
export) - the entity for time-travel demos.

Schema versions: the v1 -> v2 rename
------------------------------------
The order's `total` was renamed `total_amount` in schema version 2 of OrderPlaced and
OrderItemAdded. Events from `start` + `days // 2` days on are v2 (from 2025-03-06 00:00 UTC in
the default 7-day export; from `start` + 12 h when `days` is 1), earlier ones v1. An order
placed before the switch whose items are added after it mixes both, so a plain merge fold shows
both fields; an upcaster `data["total_amount"] = data.pop("total")` for v1 events fixes it. All
other event types are version 1.

Planted anomalies
-----------------
Each kind appears max(1, round(events / 2000)) times (25 each in 50,000 events; 7 kinds, 0.35%
of rows), none in exports under 100 events. Each sits in its own stream, so counts are exact.

exact duplicate        a producer retry: the same row again (same id and every column), a few
                       rows later. Find: group by every column having count(*) > 1.
conflicting duplicate  the same id and envelope with the payload of another event of the same
                       type (OrderPlaced, PaymentAuthorized, OrderPaid, ShipmentCreated,
                       OrderShipped or CustomerRegistered). Find: group by id having
                       count(distinct data) > 1.
out-of-order time      an event (version >= 2) whose timestamp is 1 s to minutes before its
                       predecessor's (a skewed clock); version order is right. Find:
                       timestamp < lag(timestamp) over (partition by aggregateId order by
                       version).
sequence gap           a middle event of a stream is missing (versions 1, 2, 4, ...); events it
                       caused keep a causation_id that matches no row. Find: version -
                       lag(version) over (partition by aggregateId order by version) > 1.
null aggregateId       the last event of a stream with aggregateId null (quarantined on ingest;
null type              being last, its loss leaves no gap). Likewise a null `type` and a null
null timestamp         `timestamp` (each in its own stream).

Both kinds of duplicates also repeat (aggregateId, version). Rows keep their place in the log:
`write_export` files a row under the day it was written, even if its timestamp is null or skewed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa

from eventlab.demo import catalog as cat
from eventlab.demo.anomalies import clean_size, plant
from eventlab.demo.simulate import clean_events
from eventlab.demo.table import build_table, empty_table
from eventlab.timeutil import as_utc

DEFAULT_START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday, 00:00 UTC

EVENT_TYPES: dict[str, str] = {
    s.event_type: cat.ENTITY_TYPES[s.kind] for s in sorted(cat.SLOTS, key=lambda s: s.kind)
}


def _epoch_us(moment: datetime) -> int:
    return (as_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def generate_with_arrival(
    events: int, seed: int = 42, start: datetime | None = None, days: int = 7
) -> tuple[pa.Table, pa.Array]:
    """`generate`, plus each row's original (arrival) time, which orders the log."""
    if events < 0:
        raise ValueError(f"events must be >= 0, got {events}")
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if events == 0:
        return empty_table(), pa.array([], pa.timestamp("us", tz="UTC"))
    seed = seed & 0x7FFFFFFFFFFFFFFF
    clean = clean_events(clean_size(events), seed, _epoch_us(start or DEFAULT_START), days)
    plan = plant(clean, events, seed)
    arrival = pa.array(plan.arrival, pa.timestamp("us", tz="UTC"))
    return build_table(clean, plan, seed), arrival


def generate(
    events: int, seed: int = 42, start: datetime | None = None, days: int = 7
) -> pa.Table:
    """Exactly `events` rows of the demo shop in log order; the same seed gives the same table.

    `start` (UTC; naive means UTC) begins a window of `days` days, by default 2025-03-03.
    """
    return generate_with_arrival(events, seed, start, days)[0]
