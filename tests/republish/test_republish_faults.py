"""Exactly once when the broker goes away mid-job.

1. Lost answers (the hard case): a TCP proxy in front of a real broker forwards the
   producer's requests but drops the broker's answers, then cuts every connection. Records
   the broker wrote come back as `unknown`, never `failed`; the target holds more than the
   ledger could acknowledge. With the proxy back, resume settles them by reading the target's
   provenance headers and sends only the rest: each record is in the target exactly once.
2. Broker killed and restarted: the local broker keeps its log in memory only, so a restart
   on the same port comes back empty and the records acknowledged before the kill are gone.
   Resume reads the acknowledged records back before it touches the target, reports
   "target lost N acknowledged records", marks them lost and stops (status `lost`): it
   neither re-creates the target nor calls the job done (docs/safety.md, item 38). The same
   when the target was re-created with other records at the acknowledged offsets.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from republish_support import load, provenance_of, read_all, records

from eventlab import republish
from eventlab.kafka import admin
from eventlab.kafka.broker import BrokerHandle, find_broker_binary, free_port, start_broker
from eventlab.kafka.config import KafkaConfig
from eventlab.republish import ledger
from eventlab.store import db
from eventlab.store.eventstore import EventStore

N = 400


class Proxy:
    """Forwards 127.0.0.1:listen -> 127.0.0.1:upstream; `drop_answers()` keeps forwarding
    requests but swallows the answers; `cut()` closes every connection and refuses new ones;
    `restore()` forwards normally again."""

    def __init__(self, listen: int, upstream: int) -> None:
        self.upstream = upstream
        self.mode = "up"
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", listen))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == "cut":
                client.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, up]
            threading.Thread(target=self._pump, args=(client, up, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if self.mode == "cut":
                    break
                if answers and self.mode == "drop":
                    continue
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.close()

    def drop_answers(self) -> None:
        self.mode = "drop"

    def cut(self) -> None:
        self.mode = "cut"
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
            self._open.clear()

    def restore(self) -> None:
        self.mode = "up"

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._server.close()


@pytest.fixture
def proxied() -> Iterator[tuple[KafkaConfig, Proxy]]:
    """A broker that advertises the proxy's port, and the proxy."""
    inner, outer = free_port(), free_port()
    proc = subprocess.Popen(
        [find_broker_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{inner}",
         "--advertised-listener-url", f"tcp://127.0.0.1:{outer}",
         "--storage-engine", "memory://tansu/"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = Proxy(outer, inner)
    config = KafkaConfig(bootstrap=f"127.0.0.1:{outer}", timeout_s=2.0)
    deadline = time.monotonic() + 10
    while True:
        try:
            republish_admin_ping(config)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    yield config, proxy
    proxy.close()
    proc.kill()
    proc.wait(5)


def republish_admin_ping(config: KafkaConfig) -> None:
    from eventlab.kafka.admin import ping

    ping(config)


def _planned(store: EventStore, config: KafkaConfig, source_config: KafkaConfig,
             topic_factory: Callable, raw_producer: Callable) -> str:
    src = topic_factory(1)
    # No null header values here: such a record waits for everything before it (a flush),
    # which would stop the job before records pile up unanswered.
    load(store, source_config, src, raw_producer, records(N, nulls=False))
    dry = republish.dry_run(store, config, republish.Selection.query(
        "SELECT event_id FROM events WHERE topic = ?", [src]))
    return dry.plan.job_id


def _copies(config: KafkaConfig, target: str) -> Counter:
    return Counter(int(provenance_of(r)["eventlab-original-offset"])
                   for r in read_all(config, target))


def test_lost_answers_are_unknown_then_settled_exactly_once(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable, proxied: tuple[KafkaConfig, Proxy]) -> None:
    config, proxy = proxied
    job_id = _planned(store, config, kafka_config, topic_factory, raw_producer)
    result: list[republish.JobReport] = []
    worker = threading.Thread(target=lambda: result.append(republish.execute(
        store, config, job_id, rate=400, delivery_timeout_s=2.0)))
    worker.start()
    time.sleep(0.5)
    proxy.drop_answers()  # requests still reach the broker; no answer comes back
    time.sleep(0.6)
    proxy.cut()
    worker.join(60)
    (first,) = result
    assert first.status == "partial" and first.error
    c = first.counts
    print(c, first.error)
    assert c.failed == 0 and c.unknown > 0  # no answer: unknown, never failed
    assert c.sent + c.unknown + c.unsent == N
    proxy.restore()
    target = f"{_target(store, job_id)}"
    written = sum(_copies(config, target).values())
    assert written > c.sent  # the broker wrote records the ledger could not acknowledge

    second = republish.execute(store, config, job_id, action="resume")
    assert second.status == "done", second
    assert second.settled_found + second.settled_missing == c.unknown
    assert second.settled_found == written - c.sent
    assert second.counts.to_dict() == {"planned": N, "sent": N, "failed": 0, "unknown": 0,
                                       "unsent": 0, "lost": 0}
    assert _copies(config, target) == Counter(range(N))  # each record exactly once


def _target(store: EventStore, job_id: str) -> str:
    with store.reading() as cur:
        row = ledger.job(cur, job_id)
    assert row is not None
    return row.plan.target_topics[0]


def test_broker_restarted_empty_mid_job_resume_reports_the_lost_acknowledged_records(
        tmp_path: Path, store: EventStore, kafka_config: KafkaConfig,
        topic_factory: Callable, raw_producer: Callable) -> None:
    port = free_port()
    broker: BrokerHandle = start_broker(port)
    try:
        config = broker.config(timeout_s=2.0)
        job_id = _planned(store, config, kafka_config, topic_factory, raw_producer)
        result: list[republish.JobReport] = []
        worker = threading.Thread(target=lambda: result.append(republish.execute(
            store, config, job_id, rate=400, delivery_timeout_s=2.0)))
        worker.start()
        time.sleep(0.6)
        broker.process.kill()
        broker.process.wait(5)
        worker.join(60)
        (first,) = result
        assert first.status == "partial" and first.counts.failed == 0
        acked = first.counts.sent
        assert 0 < acked < N
        broker.stop()
        broker = start_broker(port)  # same port, empty log: the acknowledged records are gone
        target = _target(store, job_id)

        second = republish.execute(store, config, job_id, action="resume")
        assert second.status == "lost" and second.sent_now == 0, second
        assert second.error and f"target lost {acked:,} acknowledged records" in second.error
        assert "no longer exists" in second.error
        assert second.counts.lost == acked and second.counts.sent == 0
        assert admin.partition_counts(config, [target])[target] is None  # not re-created
        third = republish.execute(store, config, job_id, action="resume")  # stays lost
        assert third.status == "lost" and third.sent_now == 0
        assert third.error and "target lost" in third.error
        with store.reading() as cur:
            assert ledger.job(cur, job_id).status == "lost"  # type: ignore[union-attr]
            outcomes = db.rows(cur, "SELECT action, outcome, detail FROM audit_log WHERE "
                                    "job_id = ? ORDER BY logged_at", [job_id])
        assert [(a, o) for a, o, _ in outcomes[-2:]] == [("resume", "lost")] * 2
        assert f"target lost {acked:,} acknowledged records" in outcomes[-2][2]
    finally:
        broker.stop()


def test_a_target_recreated_with_other_records_is_not_done(
        store: EventStore, kafka_config: KafkaConfig, topic_factory: Callable,
        raw_producer: Callable) -> None:
    port = free_port()
    broker: BrokerHandle = start_broker(port)
    try:
        config = broker.config(timeout_s=2.0)
        job_id = _planned(store, config, kafka_config, topic_factory, raw_producer)
        first = republish.execute(store, config, job_id)
        assert first.status == "done" and first.counts.sent == N
        assert "every acknowledged record verified in the target" in first.notes
        target = _target(store, job_id)
        broker.stop()
        broker = start_broker(port)  # empty; someone re-creates the target with N+5 records
        admin.create_topic(config, target, 1)
        producer_records = [(b"k", b"{}", [], 1_700_000_000_000 + i) for i in range(N + 5)]
        raw_producer(target, 0, producer_records, config=config)

        again = republish.execute(store, config, job_id, action="resume")
        assert again.status == "lost" and again.counts.lost == N and again.sent_now == 0
        assert again.error and "another record is there" in again.error
    finally:
        broker.stop()


def _statuses(cur: object, job_id: str) -> list[tuple[int, str]]:
    from eventlab.store import db

    return [(int(n), s) for n, s in db.rows(
        cur, "SELECT src_offset, status FROM republish_log WHERE job_id = ?", [job_id])]
