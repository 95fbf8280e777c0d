"""Numeric simulation of the demo shop: order flows and customers, as arrays of events.

Nothing here builds strings. Each order flow is a column of 16 slots (see `catalog.SLOTS`) with
a timestamp and a present/absent flag; customer events are a flat list. `clean_events` merges
both, sorts by time, keeps exactly the requested number of earliest events and numbers every
entity's stream 1, 2, 3, ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from eventlab.demo import catalog as cat

US = 1_000_000
HOUR = 3600 * US
DAY = 24 * HOUR


@dataclass(frozen=True)
class Flows:
    """Per-order attributes; `times` and `present` are (16 slots, n orders)."""

    placed: np.ndarray
    customer: np.ndarray  # customer index (0 = customer-00001)
    n_init: np.ndarray  # items when placed (1-3)
    n_added: np.ndarray  # items added afterwards (0-2)
    sku: np.ndarray  # (n, 5) SKU index
    qty: np.ndarray  # (n, 5) 1-3
    totals: np.ndarray  # (n, 5) running total in cents after item j
    address: np.ndarray  # address index at placement (the customer's address then)
    payment_no: np.ndarray  # payment number (0: no payment)
    shipment_no: np.ndarray  # shipment number (0: no shipment)
    method: np.ndarray
    fail_reason: np.ndarray
    carrier: np.ndarray
    times: np.ndarray
    present: np.ndarray


@dataclass(frozen=True)
class Customers:
    """Per-customer attributes and the customer events (registration, changes)."""

    first: np.ndarray
    last: np.ndarray
    domain: np.ndarray
    ev_slot: np.ndarray  # 16, 17 or 18
    ev_owner: np.ndarray  # customer index
    ev_ts: np.ndarray
    ev_address: np.ndarray  # address index (registration and address changes)
    ev_domain: np.ndarray  # e-mail domain index (e-mail changes)


@dataclass(frozen=True)
class Clean:
    """The clean event log, sorted by time: one row per event, before anomalies."""

    flows: Flows
    customers: Customers
    slot: np.ndarray
    owner: np.ndarray  # order index for flow slots, customer index for customer slots
    cev: np.ndarray  # customer-event index (-1 for flow slots)
    ts: np.ndarray  # epoch microseconds
    kind: np.ndarray  # entity kind (catalog.CUSTOMER ...)
    num: np.ndarray  # entity number: the digits of its aggregateId
    version: np.ndarray
    schema: np.ndarray  # schemaVersion 1 or 2
    by_stream: np.ndarray  # row indices grouped by stream, in version order
    stream_start: np.ndarray  # offset of each stream in by_stream
    stream_len: np.ndarray


def _exp(rng: np.random.Generator, mean_s: float, n: int) -> np.ndarray:
    return (rng.exponential(mean_s, n) * US).astype(np.int64)


def _placements(rng: np.random.Generator, n: int, start: int, days: int) -> np.ndarray:
    """Order times over the window following the daily rhythm (UTC hours), sorted."""
    hours = np.arange(days * 24, dtype=np.int64)
    bin_start = start + hours * HOUR
    weights = cat.RHYTHM[(bin_start // HOUR) % 24]
    bins = rng.choice(len(hours), size=n, p=weights / weights.sum())
    return np.sort(bin_start[bins] + rng.integers(0, HOUR, size=n))


def _flow_times(rng: np.random.Generator, t0: np.ndarray, n_added: np.ndarray) -> np.ndarray:
    """Timestamps of all 16 slots; each slot follows its cause by seconds to days."""
    n = len(t0)
    t = np.empty((cat.N_FLOW_SLOTS, n), dtype=np.int64)
    t[0] = t0
    t[1] = t[0] + US + _exp(rng, 180, n)
    t[2] = t[1] + US + _exp(rng, 180, n)
    last = np.choose(n_added, (t[0], t[1], t[2]))
    t[3] = last + 30 * US + _exp(rng, 900, n)  # customer cancels
    t[4] = last + 2 * US + _exp(rng, 60, n)  # payment authorized
    t[5] = t[4] + US + _exp(rng, 5, n)  # payment failed
    t[6] = t[5] + US // 5 + _exp(rng, 1, n)
    t[7] = t[4] + US + _exp(rng, 20, n)  # captured
    t[8] = t[7] + US // 10 + _exp(rng, 1, n)
    t[9] = t[8] + 60 * US + _exp(rng, 1800, n)  # shipment created
    t[10] = t[9] + HOUR // 2 + _exp(rng, 6 * 3600, n)  # dispatched
    t[11] = t[10] + US // 2 + _exp(rng, 2, n)
    t[12] = t[10] + 18 * HOUR + _exp(rng, 30 * 3600, n)  # delivered
    t[13] = t[12] + US + _exp(rng, 30, n)
    t[14] = t[13] + HOUR + _exp(rng, 3 * 86400, n)  # refunded after a return
    t[15] = t[14] + US // 2 + _exp(rng, 2, n)
    return t


def _flows(rng: np.random.Generator, n: int, n_customers: int, start: int, days: int) -> Flows:
    t0 = _placements(rng, n, start, days)
    customer = (n_customers * rng.random(n) ** 2).astype(np.int64)  # a few very active
    n_init = rng.choice(np.array([1, 2, 3]), size=n, p=[0.5, 0.3, 0.2])
    n_added = rng.choice(np.array([0, 1, 2]), size=n, p=[0.7, 0.22, 0.08])
    sku = (cat.N_SKUS * rng.random((n, cat.MAX_ITEMS)) ** 1.6).astype(np.int64)
    qty = rng.choice(np.array([1, 2, 3]), size=(n, cat.MAX_ITEMS), p=[0.78, 0.16, 0.06])
    totals = np.cumsum(cat.sku_prices()[sku] * qty, axis=1)
    cancel = rng.random(n) < 0.04
    fail = ~cancel & (rng.random(n) < 0.06)
    paid = ~cancel & ~fail
    refund = paid & (rng.random(n) < 0.05)
    present = np.zeros((cat.N_FLOW_SLOTS, n), dtype=bool)
    present[0] = True
    present[1], present[2], present[3], present[4] = n_added >= 1, n_added >= 2, cancel, ~cancel
    present[5] = present[6] = fail
    present[7:14] = paid
    present[14] = present[15] = refund
    return Flows(
        placed=t0, customer=customer, n_init=n_init, n_added=n_added, sku=sku, qty=qty,
        totals=totals, address=np.zeros(n, dtype=np.int64),
        payment_no=np.where(present[4], np.cumsum(present[4]), 0),
        shipment_no=np.where(paid, np.cumsum(paid), 0),
        method=rng.integers(len(cat.PAYMENT_METHODS), size=n),
        fail_reason=rng.integers(len(cat.FAIL_REASONS), size=n),
        carrier=rng.integers(len(cat.CARRIERS), size=n),
        times=_flow_times(rng, t0, n_added), present=present,
    )


def _customers(
    rng: np.random.Generator, flows: Flows, n: int, start: int, end: int, whale: int
) -> Customers:
    """Customers register before their first order; customer-00001 moves house very often."""
    first_order = np.full(n, -1, dtype=np.int64)
    ids, first_idx = np.unique(flows.customer, return_index=True)
    first_order[ids] = flows.placed[first_idx]
    lead = (rng.random(n) * np.clip(first_order - start, 0, 2 * HOUR)).astype(np.int64)
    anywhere = start + (rng.random(n) * (end - start)).astype(np.int64)
    reg = np.where(first_order >= 0, first_order - lead, anywhere)
    lam = np.full(n, 0.15)
    lam[1:10] = 4.0
    changes = rng.poisson(lam)
    changes[0] = whale
    owner = np.repeat(np.arange(n, dtype=np.int64), changes)
    ts = reg[owner] + 1 + (rng.random(len(owner)) * (end - 1 - reg[owner])).astype(np.int64)
    p_address = np.where(owner == 0, 0.9, 0.75)
    slot = np.where(rng.random(len(owner)) < p_address, cat.ADDRESS_CHANGED, cat.EMAIL_CHANGED)
    total = n + len(owner)
    return Customers(
        first=rng.integers(len(cat.FIRST_NAMES), size=n),
        last=rng.integers(len(cat.LAST_NAMES), size=n),
        domain=rng.integers(len(cat.EMAIL_DOMAINS), size=n),
        ev_slot=np.concatenate([np.full(n, cat.REGISTERED), slot]).astype(np.int8),
        ev_owner=np.concatenate([np.arange(n, dtype=np.int64), owner]),
        ev_ts=np.concatenate([reg, ts]),
        ev_address=rng.integers(cat.N_ADDRESSES, size=total),
        ev_domain=rng.integers(len(cat.EMAIL_DOMAINS), size=total),
    )


def _order_addresses(flows: Flows, cust: Customers, start: int) -> np.ndarray:
    """The customer's address (index) in force when each order was placed."""
    is_addr = cust.ev_slot != cat.EMAIL_CHANGED
    owner, ts, addr = cust.ev_owner[is_addr], cust.ev_ts[is_addr], cust.ev_address[is_addr]
    span = int(max(ts.max(), flows.placed.max()) - start) // 1000 + 2
    keys = owner * span + (ts - start) // 1000
    order = np.argsort(keys, kind="stable")
    okeys = flows.customer * span + (flows.placed - start) // 1000
    pos = np.searchsorted(keys[order], okeys, side="right") - 1
    found = order[np.clip(pos, 0, None)]
    ok = (pos >= 0) & (owner[found] == flows.customer)
    return np.where(ok, addr[found], flows.customer % cat.N_ADDRESSES)


def _simulate(m: int, seed: int, n_flows: int, start: int, days: int) -> tuple[Flows, Customers]:
    rng = np.random.default_rng([seed, n_flows])
    end = start + days * DAY
    n_customers = max(2, math.ceil(n_flows / 3))
    flows = _flows(rng, n_flows, n_customers, start, days)
    whale = int(np.clip(m // 1000, 20, 1000))
    customers = _customers(rng, flows, n_customers, start, end, whale)
    flows = replace(flows, address=_order_addresses(flows, customers, start))
    return flows, customers


def clean_events(m: int, seed: int, start: int, days: int) -> Clean:
    """Exactly `m` (>= 1) events: the earliest of a simulation sized to fill the window."""
    end = start + days * DAY
    n_flows = max(1, math.ceil(m / 8.45))  # ~8.5 in-window events per order
    for _attempt in range(8):
        flows, customers = _simulate(m, seed, n_flows, start, days)
        ts_all = np.concatenate([flows.times[flows.present], customers.ev_ts])
        in_window = int((ts_all < end).sum())
        if len(ts_all) >= m and m <= in_window <= m * 1.03 + 20:
            break
        grown = math.ceil(n_flows * (m * 1.01 + 10) / max(in_window, 1))
        n_flows = max(1, grown if len(ts_all) >= m else max(grown, n_flows + 1))
    while len(ts_all) < m:  # never short: grow until there are enough events
        n_flows = math.ceil(n_flows * 1.2) + 1
        flows, customers = _simulate(m, seed, n_flows, start, days)
        ts_all = np.concatenate([flows.times[flows.present], customers.ev_ts])
    return _assemble(m, flows, customers, start, days)


def _assemble(m: int, flows: Flows, cust: Customers, start: int, days: int) -> Clean:
    fs, ff = np.nonzero(flows.present)
    n_cust_ev = len(cust.ev_ts)
    slot = np.concatenate([fs.astype(np.int8), cust.ev_slot])
    owner = np.concatenate([ff.astype(np.int64), cust.ev_owner])
    cev = np.concatenate([np.full(len(ff), -1, dtype=np.int64), np.arange(n_cust_ev)])
    ts = np.concatenate([flows.times[fs, ff], cust.ev_ts])
    keep = _argsort_stable(ts)[:m]
    slot, owner, cev, ts = slot[keep], owner[keep], cev[keep], ts[keep]

    kind = cat.SLOT_KIND[slot]
    num = owner + 1  # customer and order numbers
    for k, numbers in ((cat.PAYMENT, flows.payment_no), (cat.SHIPMENT, flows.shipment_no)):
        rows = np.flatnonzero(kind == k)
        num[rows] = numbers[owner[rows]]
    stream_key = kind.astype(np.int64) * (int(num.max()) + 1) + num
    by_stream = _argsort_stable(stream_key)  # rows are in time order, and stay so per stream
    sorted_key = stream_key[by_stream]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    lengths = np.diff(np.r_[starts, m])
    version = np.empty(m, dtype=np.int64)
    version[by_stream] = np.arange(m) - np.repeat(starts, lengths) + 1

    versioned = np.isin(slot, cat.VERSIONED_SLOTS)
    schema = np.where(versioned & (ts >= cutover_time(start, days)), 2, 1).astype(np.int32)
    return Clean(
        flows=flows, customers=cust, slot=slot, owner=owner, cev=cev, ts=ts, kind=kind,
        num=num, version=version, schema=schema, by_stream=by_stream, stream_start=starts,
        stream_len=lengths,
    )


def _argsort_stable(keys: np.ndarray) -> np.ndarray:
    """A stable argsort, but mostly with numpy's much faster SIMD quicksort.

    The result of a stable sort is unique, so it is the same on every machine: either sort
    unique (key, index) values when they fit in 63 bits, or quicksort and then put the few
    runs of equal keys back in index order.
    """
    n = len(keys)
    low = int(keys.min()) if n else 0
    span = (int(keys.max()) - low + 1) if n else 1
    if span * n < 2**62:
        return np.argsort((keys - low) * n + np.arange(n))
    order = np.argsort(keys)
    ranked = keys[order]
    tied = np.flatnonzero(ranked[1:] == ranked[:-1])
    if len(tied) > n // 100:
        return np.argsort(keys, kind="stable")
    pos = np.unique(np.concatenate([tied, tied + 1]))
    order[pos] = order[pos][np.lexsort((order[pos], ranked[pos]))]
    return order


def cutover_time(start: int, days: int) -> int:
    """When OrderPlaced / OrderItemAdded switch from schema v1 to v2 (epoch microseconds)."""
    return start + (days // 2 * DAY if days >= 2 else 12 * HOUR)
