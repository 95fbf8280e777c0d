"""Assemble the envelope-shaped Arrow table from the clean log and the anomaly plan."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eventlab.demo import catalog as cat
from eventlab.demo import textcols as tx
from eventlab.demo.anomalies import Plan
from eventlab.demo.payloads import data_column, id_widths
from eventlab.demo.simulate import Clean

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("type", pa.string()),
    ("schemaVersion", pa.int32()),
    ("aggregateType", pa.string()),
    ("aggregateId", pa.string()),
    ("version", pa.int64()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("data", pa.string()),
    ("metadata", pa.string()),
])

# Causing slot of each flow slot; -2: the latest order event so far (placed or item added).
_PARENT = np.array([-1, 0, 1, -2, -2, 4, 5, 4, 7, 8, 9, 10, 10, 12, 13, 14], dtype=np.int64)
_EVENT_IDS, _CORRELATION_IDS = 1, 2
_SLOT_BITS = np.uint64(40)
CHUNK_ROWS = 1 << 17

_ACTOR_FLAT = tuple(a for s in cat.SLOTS for a in s.actors)
_ACTOR_START = np.cumsum([0] + [len(s.actors) for s in cat.SLOTS])[:-1].astype(np.uint64)
_ACTOR_LEN = np.array([len(s.actors) for s in cat.SLOTS], dtype=np.uint64)
_ACTOR_IS_CUSTOMER = np.array([a == cat.CUSTOMER_ACTOR for a in _ACTOR_FLAT])


def empty_table() -> pa.Table:
    """A table with the demo schema and no rows."""
    return SCHEMA.empty_table()


def event_keys(slot: np.ndarray, owner: np.ndarray, cev: np.ndarray) -> np.ndarray:
    """A unique integer per event: (slot, order) for flow events, the index for customer ones."""
    is_flow = slot < cat.N_FLOW_SLOTS
    flow_key = slot.astype(np.uint64) << _SLOT_BITS | owner.astype(np.uint64)
    cust_key = np.uint64(cat.N_FLOW_SLOTS) << _SLOT_BITS | cev.astype(np.uint64)
    return np.where(is_flow, flow_key, cust_key)


def _metadata(clean: Clean, src: np.ndarray, seed: int, widths: tuple[int, ...]) -> pa.Array:
    slot, owner, cev = clean.slot[src], clean.owner[src], clean.cev[src]
    is_flow = slot < cat.N_FLOW_SLOTS
    flow = np.where(is_flow, owner, 0)
    corr_key = np.where(is_flow, owner, cev + (1 << 40))
    corr = tx.uuid_strings(*tx.hash_pair(corr_key, tx.seed_key(seed, _CORRELATION_IDS)))

    parent = _PARENT[np.where(is_flow, slot, 0)]
    parent = np.where(parent == -2, clean.flows.n_added[flow], parent)
    has_parent = is_flow & (parent >= 0)
    parent_key = event_keys(np.where(has_parent, parent, 0), flow, cev)
    cause = tx.uuid_strings(*tx.hash_pair(parent_key, tx.seed_key(seed, _EVENT_IDS)), has_parent)
    cause_json = pc.fill_null(tx.join(['"', cause, '"']), "null")

    pick = tx.mix64(event_keys(slot, owner, cev) ^ np.uint64(seed & 0xFFFF))
    actor_idx = (_ACTOR_START[slot] + pick % _ACTOR_LEN[slot]).astype(np.int64)
    customer = np.where(is_flow, clean.flows.customer[flow], clean.customers.ev_owner[cev])
    by_customer = pa.array(_ACTOR_IS_CUSTOMER[actor_idx])
    customer_actor = tx.prefixed_ids("customer:customer-", customer + 1, widths[0])
    actor = pc.if_else(by_customer, customer_actor, pa.array(_ACTOR_FLAT).take(actor_idx))
    source = pa.array(cat.SOURCES).take(pa.array(cat.SLOT_SOURCE[slot]))
    return tx.join([
        '{"correlation_id":"', corr, '","causation_id":', cause_json, ',"actor":"', actor,
        '","source":"', source, '"}',
    ])


def build_table(clean: Clean, plan: Plan, seed: int) -> pa.Table:
    """The export table, built in chunks of rows (cache-friendly, bounded string arrays)."""
    widths = id_widths(clean)
    n = len(plan.src)
    chunks = [slice(begin, min(begin + CHUNK_ROWS, n)) for begin in range(0, n, CHUNK_ROWS)]
    if len(chunks) == 1:
        return pa.Table.from_batches([_batch(clean, plan, chunks[0], seed, widths)], SCHEMA)
    # numpy and Arrow release the GIL in their kernels: chunks build in parallel, in order.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        batches = list(pool.map(lambda rows: _batch(clean, plan, rows, seed, widths), chunks))
    return pa.Table.from_batches(batches, schema=SCHEMA)


def _batch(
    clean: Clean, plan: Plan, rows: slice, seed: int, widths: tuple[int, ...]
) -> pa.RecordBatch:
    """Envelope columns from `plan.src`, payloads from `plan.data_src`, for a slice of rows."""
    src = plan.src[rows]
    slot, kind = clean.slot[src], clean.kind[src]
    keys = event_keys(slot, clean.owner[src], clean.cev[src])
    ids = tx.uuid_strings(*tx.hash_pair(keys, tx.seed_key(seed, _EVENT_IDS)))
    prefixes = [t + "-" for t in cat.ENTITY_TYPES]
    type_idx = pa.array(cat.SLOT_TYPE[slot], mask=plan.null_type[rows])
    columns = [
        ids,
        pa.array(cat.TYPE_NAMES, pa.string()).take(type_idx),
        pa.array(clean.schema[src], pa.int32()),
        pa.array(cat.ENTITY_TYPES, pa.string()).take(pa.array(kind.astype(np.int32))),
        tx.mixed_ids(prefixes, widths, kind, clean.num[src], ~plan.null_aggregate[rows]),
        pa.array(clean.version[src], pa.int64()),
        pa.array(plan.ts[rows], pa.timestamp("us", tz="UTC"), mask=plan.null_timestamp[rows]),
        data_column(clean, plan.data_src[rows], widths),
        _metadata(clean, src, seed, widths),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)
