"""The pieces `make demo-rabbitmq` starts, against the real server: the shop reaches the
stream and both queues, the worker dead-letters the poison into the DLQ (with x-death), and
the slow named consumer stores offsets on the broker so its lag is visible and grows."""

from __future__ import annotations

import os
import threading
import time

from eventlab.demo.rabbitmq_shop import ShopTopology, is_poison, publish_shop, run_queue_worker
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.rabbitmq import amqp
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.consumers import consumer_positions
from eventlab.rabbitmq.named_consumer import run_named_consumer
from eventlab.rabbitmq.queues import queue_depth
from eventlab.rabbitmq.streams import read_all
from eventlab.store import db
from eventlab.store.eventstore import EventStore

EVENTS = 600


def _topology(tag: str) -> ShopTopology:
    p = f"demo-{tag}-{os.getpid()}"
    return ShopTopology(exchange=p, stream=f"{p}-events", classic=f"{p}-orders",
                        quorum=f"{p}-audit", dlx=f"{p}-dlx", dlq=f"{p}-dlq")


def test_is_poison_is_what_does_not_parse() -> None:
    assert is_poison(b'{"id": "x", "data": {"items": [{"sku": "SKU') and is_poison(b"")
    assert not is_poison(b'{"id": "x"}')


def test_shop_reaches_stream_and_queues_and_poison_lands_in_the_dlq(
        rabbit_config: RabbitConfig) -> None:
    topo = _topology("dlq")
    report = publish_shop(rabbit_config, events=EVENTS, topo=topo)
    assert set(report.poison) == {"not-json", "non-utf8-key", "tombstone", "null-header", "huge"}
    total = report.published
    assert queue_depth(rabbit_config, topo.quorum).ready == total
    with EventStore(":memory:") as store:
        stored = ingest_streams(store, rabbit_config, [topo.stream])
        assert stored.records_read == total
        with store.reading() as cur:
            types = db.rows(cur, "SELECT count(DISTINCT event_type) FROM events")[0][0]
        assert types > 3  # the shop's event types, mapped from the envelope

    worker = run_queue_worker(rabbit_config, topo.classic, max_messages=total)
    assert (worker.acked, worker.rejected) == (total - 2, 2)  # not-json and the tombstone
    deadline = time.monotonic() + 10
    while queue_depth(rabbit_config, topo.dlq).ready < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    with amqp.channel(rabbit_config, "reading the DLQ") as ch:
        dead = [ch.basic_get(topo.dlq, auto_ack=True) for _ in range(2)]
    assert {props.headers["poison"] for _m, props, _b in dead} == {"not-json", "tombstone"}
    for _m, props, _b in dead:
        death = props.headers["x-death"][0]
        assert death["queue"] == topo.classic and death["reason"] == "rejected"
    assert queue_depth(rabbit_config, topo.classic).ready == 0


def test_slow_named_consumer_stores_offsets_and_its_lag_grows(
        rabbit_config: RabbitConfig) -> None:
    topo = _topology("lag")
    publish_shop(rabbit_config, events=200, topo=topo)  # a backlog to start with
    stop = threading.Event()
    states = []
    consumer = threading.Thread(target=lambda: states.append(run_named_consumer(
        rabbit_config, topo.stream, "shop-projector", rate=20, stop=stop)))
    consumer.start()
    try:
        lags = []
        for _ in range(2):
            time.sleep(2.5)
            publish_shop(rabbit_config, events=150, seed=len(lags) + 1, topo=topo)
            pos, = consumer_positions(rabbit_config, [(topo.stream, "shop-projector")])
            assert pos.stored is not None and 0 < pos.stored < pos.end  # stored on the broker
            lags.append(pos.end - pos.next_offset)
        assert lags[1] > lags[0] > 0  # publishing outpaces 20 messages/s
    finally:
        stop.set()
        consumer.join(timeout=30)
    state, = states
    assert state.stored is not None
    # every message from the first one up to the stored offset was processed, none twice
    # (offsets skip where the broker wrote its offset-tracking entries)
    assert read_all(rabbit_config, topo.stream, until=state.processed).column(
        "offset")[-1].as_py() == state.stored
    # restarted under the same name, it resumes just after the offset it stored
    again = run_named_consumer(rabbit_config, topo.stream, "shop-projector", rate=0,
                               max_messages=300)
    assert again.processed == 300
    assert read_all(rabbit_config, topo.stream, start=state.stored + 1, until=300).column(
        "offset")[-1].as_py() == again.stored
