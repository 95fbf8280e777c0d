"""Static vocabulary of the demo shop: event slots, actors, people, addresses and products.

Everything here is fixed (independent of the seed), so a SKU or an address index means the same
thing in every export. Pools are small; payloads pick from them by index (see `payloads`).
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa

ENTITY_TYPES: tuple[str, ...] = ("customer", "order", "payment", "shipment")
CUSTOMER, ORDER, PAYMENT, SHIPMENT = range(4)
ID_WIDTHS: tuple[int, ...] = (5, 6, 6, 6)  # digits after 'customer-', 'order-', ...

CUSTOMER_ACTOR = "customer"  # placeholder: the acting customer, "customer:customer-00042"


class Slot(NamedTuple):
    """One step of a business flow: its event type, entity kind, producing service, actors."""

    event_type: str
    kind: int
    source: str
    actors: tuple[str, ...]


_OPS = ("user:ops-anna", "user:ops-ben", "user:ops-chen", "user:ops-dara")
_SUPPORT = ("user:support-eli", "user:support-fay")

# Order-flow slots 0-15 (one column per order in the simulation), customer slots 16-18.
SLOTS: tuple[Slot, ...] = (
    Slot("OrderPlaced", ORDER, "order-service", (CUSTOMER_ACTOR,)),  # 0
    Slot("OrderItemAdded", ORDER, "order-service", (CUSTOMER_ACTOR,)),  # 1
    Slot("OrderItemAdded", ORDER, "order-service", (CUSTOMER_ACTOR,)),  # 2
    Slot("OrderCancelled", ORDER, "order-service", (CUSTOMER_ACTOR,)),  # 3 customer_request
    Slot("PaymentAuthorized", PAYMENT, "payment-service", ("system:payments",)),  # 4
    Slot("PaymentFailed", PAYMENT, "payment-service", ("system:payments",)),  # 5
    Slot("OrderCancelled", ORDER, "order-service", ("system:orders",)),  # 6 payment_failed
    Slot("PaymentCaptured", PAYMENT, "payment-service", ("system:payments",)),  # 7
    Slot("OrderPaid", ORDER, "order-service", ("system:orders",)),  # 8
    Slot("ShipmentCreated", SHIPMENT, "shipping-service", ("system:fulfillment",)),  # 9
    Slot("ShipmentDispatched", SHIPMENT, "shipping-service", _OPS),  # 10
    Slot("OrderShipped", ORDER, "order-service", ("system:orders",)),  # 11
    Slot("ShipmentDelivered", SHIPMENT, "shipping-service", ("system:carrier-gateway",)),  # 12
    Slot("OrderDelivered", ORDER, "order-service", ("system:orders",)),  # 13
    Slot("PaymentRefunded", PAYMENT, "payment-service", _SUPPORT),  # 14
    Slot("OrderRefunded", ORDER, "order-service", ("system:orders",)),  # 15
    Slot("CustomerRegistered", CUSTOMER, "customer-service", (CUSTOMER_ACTOR,)),  # 16
    Slot("CustomerAddressChanged", CUSTOMER, "customer-service",
         (CUSTOMER_ACTOR,) * 5 + _SUPPORT[:1]),  # 17
    Slot("CustomerEmailChanged", CUSTOMER, "customer-service", (CUSTOMER_ACTOR,)),  # 18
)
N_FLOW_SLOTS = 16
REGISTERED, ADDRESS_CHANGED, EMAIL_CHANGED = 16, 17, 18
VERSIONED_SLOTS = (0, 1, 2)  # OrderPlaced and OrderItemAdded: v1 `total`, v2 `total_amount`

TYPE_NAMES: tuple[str, ...] = tuple(dict.fromkeys(s.event_type for s in SLOTS))
SLOT_TYPE = np.array([TYPE_NAMES.index(s.event_type) for s in SLOTS], dtype=np.int32)
SLOT_KIND = np.array([s.kind for s in SLOTS], dtype=np.int8)
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(s.source for s in SLOTS))
SLOT_SOURCE = np.array([SOURCES.index(s.source) for s in SLOTS], dtype=np.int32)
ACTORS: tuple[str, ...] = tuple(dict.fromkeys(a for s in SLOTS for a in s.actors))

# Relative order intensity per UTC hour: quiet at night, a peak in the evening.
RHYTHM = np.array([
    0.30, 0.20, 0.15, 0.10, 0.10, 0.15, 0.30, 0.60, 0.90, 1.00, 1.00, 1.05,
    1.10, 1.10, 1.00, 1.00, 1.00, 1.10, 1.30, 1.50, 1.60, 1.40, 1.00, 0.60,
])

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katja",
    "Leon", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tara", "Umar", "Vera", "Yusuf",
    "Zoe", "Luca",
)
LAST_NAMES = (
    "Schmidt", "Novak", "Rossi", "Garcia", "Jansen", "Dubois", "Kowalski", "Berg", "Silva",
    "Weber", "Horvat", "Nielsen", "Costa", "Fischer", "Moreau", "Lindqvist", "Ivanova",
    "Murphy", "Keller", "Popescu", "Meyer", "Bauer", "Santos", "Varga",
)
EMAIL_DOMAINS = ("example.com", "example.org", "mail.example.net", "post.example.de")
PAYMENT_METHODS = ("card", "paypal", "sepa_debit", "klarna")
FAIL_REASONS = ("card_declined", "insufficient_funds", "expired_card", "fraud_suspected")
CARRIERS = ("DHL", "UPS", "DPD", "GLS")
CURRENCY = "EUR"

_STREETS = (
    "Lindenstrasse", "Hauptstrasse", "Rue de la Paix", "Via Roma", "Calle Mayor", "Kerkstraat",
    "Bahnhofstrasse", "Gartenweg", "Mill Lane", "Station Road", "Ulica Dluga", "Storgatan",
    "Rua Augusta", "Vaci utca", "Schillerplatz", "Market Street",
)
_CITIES = (
    ("Berlin", "10", "DE"), ("Hamburg", "20", "DE"), ("Munich", "80", "DE"),
    ("Vienna", "10", "AT"), ("Paris", "75", "FR"), ("Lyon", "69", "FR"), ("Milan", "20", "IT"),
    ("Madrid", "28", "ES"), ("Amsterdam", "10", "NL"), ("Warsaw", "00", "PL"),
    ("Stockholm", "11", "SE"), ("Lisbon", "11", "PT"), ("Budapest", "10", "HU"),
    ("Dublin", "D0", "IE"),
)
N_ADDRESSES = 4096
N_SKUS = 500
MAX_ITEMS = 5  # at most 3 items when placed plus 2 added


@cache
def address_json() -> pa.StringArray:
    """JSON objects of the address pool, e.g. {"street":"Via Roma 12","city":"Milan",...}."""
    rng = np.random.default_rng(7)
    street = rng.integers(len(_STREETS), size=N_ADDRESSES)
    number = rng.integers(1, 200, size=N_ADDRESSES)
    city = rng.integers(len(_CITIES), size=N_ADDRESSES)
    zips = rng.integers(100, 999, size=N_ADDRESSES)
    out = []
    for s, n, c, z in zip(street, number, city, zips, strict=True):
        name, zp, country = _CITIES[c]
        out.append(
            f'{{"street":"{_STREETS[s]} {n}","city":"{name}","zip":"{zp}{z}",'
            f'"country":"{country}"}}'
        )
    return pa.array(out, pa.string())


@cache
def sku_prices() -> np.ndarray:
    """Unit price in cents of every SKU (index i is SKU-0001 + i), all ending in .99."""
    rng = np.random.default_rng(11)
    euros = np.exp(rng.normal(3.2, 0.9, size=N_SKUS)).clip(2, 400).astype(np.int64)
    return euros * 100 + 99


@cache
def item_json() -> pa.StringArray:
    """Item objects for every (sku, qty 1-3): index sku * 3 + qty - 1; then a ','-led copy.

    The second half (offset `3 * N_SKUS`) is the same items preceded by a comma, and the last
    entry is the empty string, so a list of items is a join of `take`s (see payloads.items).
    """
    prices = sku_prices()
    plain = [
        f'{{"sku":"SKU-{i + 1:04d}","qty":{q},"price":{prices[i] // 100}.{prices[i] % 100:02d}}}'
        for i in range(N_SKUS)
        for q in (1, 2, 3)
    ]
    return pa.array(plain + ["," + p for p in plain] + [""], pa.string())
