"""The `data` column: JSON payloads of the demo events, built per event slot with Arrow.

Every order, payment and shipment event carries `status`, so a JSON merge patch (RFC 7396) of
the payloads in version order yields the entity's current state. Lists (order items) are always
sent whole, because a merge patch replaces arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pyarrow as pa

from eventlab.demo import catalog as cat
from eventlab.demo import textcols as tx
from eventlab.demo.simulate import Clean


def id_widths(clean: Clean) -> tuple[int, ...]:
    """Digits of customer, order, payment and shipment numbers (grow past 5/6 if needed)."""
    flows = clean.flows
    tops = (len(clean.customers.first), len(flows.placed), flows.payment_no.max(),
            flows.shipment_no.max())
    return tuple(max(w, len(str(int(t)))) for t, w in zip(tops, cat.ID_WIDTHS, strict=True))


class _Rows:
    """Lazily computed fields of a group of rows that share one slot."""

    def __init__(self, clean: Clean, rows: np.ndarray, widths: tuple[int, ...]) -> None:
        self.clean, self.rows, self.widths = clean, rows, widths
        self.flows, self.cust = clean.flows, clean.customers
        self.n = len(rows)

    @cached_property
    def f(self) -> np.ndarray:
        return self.clean.owner[self.rows]

    @cached_property
    def ev(self) -> np.ndarray:
        return self.clean.cev[self.rows]

    @cached_property
    def c(self) -> np.ndarray:
        return self.cust.ev_owner[self.ev]

    def _id(self, kind: int, nums: np.ndarray) -> pa.Array:
        return tx.prefixed_ids(cat.ENTITY_TYPES[kind] + "-", nums, self.widths[kind])

    @cached_property
    def order_id(self) -> pa.Array:
        return self._id(cat.ORDER, self.f + 1)

    @cached_property
    def payment_id(self) -> pa.Array:
        return self._id(cat.PAYMENT, self.flows.payment_no[self.f])

    @cached_property
    def shipment_id(self) -> pa.Array:
        return self._id(cat.SHIPMENT, self.flows.shipment_no[self.f])

    @cached_property
    def n_items(self) -> np.ndarray:
        """Items in the order once all additions are done."""
        return self.flows.n_init[self.f] + self.flows.n_added[self.f]

    def items(self, k: np.ndarray) -> pa.Array:
        """JSON list of the order's first `k` items."""
        n_plain = 3 * cat.N_SKUS
        code = self.flows.sku[self.f] * 3 + self.flows.qty[self.f] - 1
        parts: list[tx.Part] = ["["]
        for j in range(cat.MAX_ITEMS):
            idx = np.where(j < k, code[:, j] + (n_plain if j else 0), 2 * n_plain)
            parts.append(cat.item_json().take(pa.array(idx)))
        return tx.join([*parts, "]"])

    def item(self, j: np.ndarray) -> pa.Array:
        """JSON object of the order's item number `j` (0-based)."""
        sku = self.flows.sku[self.f, j]
        return cat.item_json().take(pa.array(sku * 3 + self.flows.qty[self.f, j] - 1))

    def total(self, k: np.ndarray) -> list[tx.Part]:
        """'"total":12.34' in schema v1, '"total_amount":12.34' in v2, after `k` items."""
        key = np.where(self.clean.schema[self.rows] == 2, '"total_amount":', '"total":')
        return [pa.array(key, pa.string()), tx.money(self.flows.totals[self.f, k - 1])]

    @cached_property
    def amount(self) -> pa.Array:
        return tx.money(self.flows.totals[self.f, self.n_items - 1])

    @cached_property
    def address(self) -> pa.Array:
        return cat.address_json().take(pa.array(self.flows.address[self.f]))

    @cached_property
    def carrier(self) -> pa.Array:
        return pa.array(cat.CARRIERS).take(pa.array(self.flows.carrier[self.f]))

    @cached_property
    def tracking(self) -> pa.Array:
        digits = tx.mix64(self.f.astype(np.uint64)) % np.uint64(10**10)
        return tx.join([self.carrier, tx.digit_strings(digits.astype(np.int64), 10)])

    def take(self, pool: tuple[str, ...], idx: np.ndarray) -> pa.Array:
        return pa.array(pool, pa.string()).take(pa.array(idx))

    def email(self, changed: bool) -> pa.Array:
        first = self.take(tuple(n.lower() for n in cat.FIRST_NAMES), self.cust.first[self.c])
        last = self.take(tuple(n.lower() for n in cat.LAST_NAMES), self.cust.last[self.c])
        if changed:
            domain = self.take(cat.EMAIL_DOMAINS, self.cust.ev_domain[self.ev])
            return tx.join([first, last, ".", tx.int_strings(self.ev), "@", domain])
        domain = self.take(cat.EMAIL_DOMAINS, self.cust.domain[self.c])
        return tx.join([first, ".", last, tx.int_strings(self.c + 1), "@", domain])


Builder = Callable[[_Rows], list[tx.Part]]


def _placed(r: _Rows) -> list[tx.Part]:
    k = r.flows.n_init[r.f]
    return [
        '{"order_id":"', r.order_id, '","customer_id":"',
        r._id(cat.CUSTOMER, r.flows.customer[r.f] + 1), '","status":"placed","items":',
        r.items(k), ",", *r.total(k), f',"currency":"{cat.CURRENCY}","address":', r.address, "}",
    ]


def _item_added(nth: int) -> Builder:
    def build(r: _Rows) -> list[tx.Part]:
        k = r.flows.n_init[r.f] + nth
        return ['{"status":"placed","item":', r.item(k - 1), ',"items":', r.items(k), ",",
                *r.total(k), "}"]
    return build


def _authorized(r: _Rows) -> list[tx.Part]:
    return [
        '{"payment_id":"', r.payment_id, '","order_id":"', r.order_id,
        '","status":"authorized","amount":', r.amount, f',"currency":"{cat.CURRENCY}","method":"',
        r.take(cat.PAYMENT_METHODS, r.flows.method[r.f]), '"}',
    ]


def _registered(r: _Rows) -> list[tx.Part]:
    first = r.take(cat.FIRST_NAMES, r.cust.first[r.c])
    last = r.take(cat.LAST_NAMES, r.cust.last[r.c])
    return [
        '{"customer_id":"', r._id(cat.CUSTOMER, r.c + 1), '","name":"', first, " ", last,
        '","email":"', r.email(changed=False), '","address":',
        cat.address_json().take(pa.array(r.cust.ev_address[r.ev])), ',"status":"active"}',
    ]


_BUILDERS: tuple[Builder | str, ...] = (
    _placed,
    _item_added(1),
    _item_added(2),
    '{"status":"cancelled","reason":"customer_request"}',
    _authorized,
    lambda r: ['{"status":"failed","reason":"', r.take(cat.FAIL_REASONS,
                                                        r.flows.fail_reason[r.f]), '"}'],
    '{"status":"cancelled","reason":"payment_failed"}',
    lambda r: ['{"status":"captured","captured_amount":', r.amount, "}"],
    lambda r: ['{"status":"paid","payment_id":"', r.payment_id, '"}'],
    lambda r: ['{"shipment_id":"', r.shipment_id, '","order_id":"', r.order_id,
               '","status":"created","carrier":"', r.carrier, '","address":', r.address, "}"],
    lambda r: ['{"status":"dispatched","tracking_number":"', r.tracking, '"}'],
    lambda r: ['{"status":"shipped","shipment_id":"', r.shipment_id, '","carrier":"',
               r.carrier, '","tracking_number":"', r.tracking, '"}'],
    '{"status":"delivered"}',
    '{"status":"delivered"}',
    lambda r: ['{"status":"refunded","refunded_amount":', r.amount, ',"reason":"returned"}'],
    lambda r: ['{"status":"refunded","refunded_amount":', r.amount, "}"],
    _registered,
    lambda r: ['{"address":', cat.address_json().take(pa.array(r.cust.ev_address[r.ev])), "}"],
    lambda r: ['{"email":"', r.email(changed=True), '"}'],
)


def data_column(clean: Clean, rows: np.ndarray, widths: tuple[int, ...]) -> pa.Array:
    """The JSON payload of each of the clean `rows`, in the order given."""
    slot = clean.slot[rows]
    order = np.argsort(slot, kind="stable")
    bounds = np.searchsorted(slot[order], np.arange(len(cat.SLOTS) + 1))
    chunks = []
    for s, build in enumerate(_BUILDERS):
        group = rows[order[bounds[s]: bounds[s + 1]]]
        if not len(group):
            continue
        if isinstance(build, str):
            chunks.append(tx.const(build, len(group)))
        else:
            chunks.append(tx.join(build(_Rows(clean, group, widths))))
    if not chunks:
        return pa.array([], pa.string())
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = np.arange(len(rows))
    return pa.concat_arrays(chunks).take(pa.array(inverse))
