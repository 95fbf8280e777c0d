"""RabbitMQ as a republish target (`republish/target.py`): a stream, an exchange, or queues by
name (a dead-letter redrive through the default exchange).

- Stream: published over the stream protocol with the job id as the publisher name and the
  record's position in the plan (n + 1) as its publishing id, so the broker drops any record
  of the job it already stored: a resumed job cannot duplicate, even before settling. Unknown
  records are settled, and acknowledged ones verified, by reading the stream back for the
  job's provenance application properties.
- Exchange / queue: AMQP 0.9.1 with publisher confirms and `mandatory`: a message no queue
  takes is returned by the broker and its record marked `failed` ("unroutable ..."), never
  lost. An exchange cannot be read back (consumers take what it routed): unknown records stay
  unknown, and "verified" means confirmed and routed by the broker.

Each chunk is marked `unknown` (committed) before it is sent, then its outcomes written, as
for Kafka (`republish/send.py`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pyarrow.compute as pc

from eventlab.errors import SourceError
from eventlab.kafka.provenance import _header_value
from eventlab.rabbitmq import publish
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all
from eventlab.republish import guards, ledger
from eventlab.republish import plan as planning
from eventlab.republish.guards import RepublishRefused
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import RABBITMQ_EXCHANGE, RABBITMQ_QUEUE, RABBITMQ_STREAM, Plan
from eventlab.republish.send import report_progress
from eventlab.republish.verify import Lost, Verification
from eventlab.store import db
from eventlab.store.eventstore import EventStore

CHUNK = 2_000
Row = dict[str, Any]
Outcome = tuple[int, str, int | None, int | None, str | None]
"""(n, status, partition, offset, error) of one record."""


def rabbit_target(config: RabbitConfig, kind: str) -> StreamTarget | ExchangeTarget:
    """The RabbitMQ target of `kind` (stream, exchange or queue)."""
    if kind == RABBITMQ_STREAM:
        return StreamTarget(config)
    if kind in (RABBITMQ_EXCHANGE, RABBITMQ_QUEUE):
        return ExchangeTarget(config, kind)
    raise SourceError(f"a RabbitMQ connection cannot write a {kind} target")


def _rows(store: EventStore, plan: Plan, rate: float | None) -> Iterator[list[Row]]:
    """The records still to send, in plan order, a chunk at a time (as they go out); with a
    rate, a chunk is about a second of sending, so the ledger moves every second."""
    sql, params = ledger.records_sql(plan.job_id, int(time.time() * 1000), plan.actor,
                                     plan.reason, None)
    with store.reading() as cur:
        table = db.arrow(cur, sql, params)
    size = CHUNK if not rate else max(20, min(CHUNK, int(rate)))
    for start in range(0, table.num_rows, size):
        yield table.slice(start, size).to_pylist()


def _headers(row: Row, drop_dead_letter: bool
             ) -> tuple[list[publish.Header], list[publish.Header]]:
    """(original headers, provenance headers) of a row of `ledger.records_sql`."""
    keys, values = row["hkeys"], row["hvalues"]
    original = list(zip(keys, values[:len(keys)], strict=True))
    if drop_dead_letter:
        original = [(k, v) for k, v in original if not publish.is_dead_letter_header(k)]
    prov = list(zip(planning.PROVENANCE, values[len(keys):], strict=True))
    return original, prov


def _send_all(store: EventStore, plan: Plan, rate: float | None, cancel: threading.Event,
              progress: Callable[[Counts], None] | None,
              send_chunk: Callable[[list[Row]], tuple[list[Outcome], str | None]]
              ) -> tuple[int, str | None]:
    """Mark each chunk unknown (committed), send it, write its outcomes; stop at an error,
    a cancel. (records handed over, error)."""
    handed = 0
    t0 = time.monotonic()
    for rows in _rows(store, plan, rate):
        gone = [r for r in rows if r["missing"]]
        rows = [r for r in rows if not r["missing"]]
        outcomes: list[Outcome] = [(r["n"], ledger.FAILED, None, None,
                                    "the source record is no longer in the store") for r in gone]
        error = None
        if rows:
            with store.transaction() as cur:
                ledger.mark_range(cur, plan.job_id, rows[0]["n"], rows[-1]["n"], ledger.UNKNOWN)
            if rate:
                ahead = t0 + handed / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            sent, error = send_chunk(rows)
            outcomes += sent
            handed += sum(1 for o in sent if o[1] != ledger.UNSENT)
        ns, statuses, parts, offs, errors = (list(c) for c in zip(*outcomes, strict=True))
        with store.transaction() as cur:
            ledger.write_outcomes(cur, plan.job_id, ns, statuses, parts, offs, errors)
        report_progress(store, plan.job_id, progress)
        if error is not None:
            return handed, error
        if cancel.is_set():
            break
    return handed, None


def _replayed(config: RabbitConfig, stream: str, job_id: str) -> list[tuple[int, tuple]]:
    """(offset, identity) of every message of the job in `stream`, in offset order."""
    table = read_all(config, stream, start="first", until="end")
    if table is None:
        return []
    headers = table.column("headers").combine_chunks()
    mine = pc.equal(_header_value(headers, planning.REPLAY_ID), job_id.encode())
    cols = [_header_value(headers, h).to_pylist() for h in planning.IDENTITY]
    offsets = table.column("offset").to_pylist()
    return [(offsets[i], tuple((c[i] or b"").decode() for c in cols))
            for i, hit in enumerate(mine.to_pylist()) if hit]


class StreamTarget:
    """RabbitMQ streams, written with deduplication (see the module)."""

    kind = RABBITMQ_STREAM
    creates = True

    def __init__(self, config: RabbitConfig) -> None:
        self.config = config

    def describe(self) -> str:
        """The server (no secret)."""
        return self.config.describe()

    def partition_counts(self, names: Sequence[str]) -> dict[str, int | None]:
        """1 for each existing stream, None for a missing one."""
        async def run() -> dict[str, int | None]:
            async with publish.StreamPublisher(self.config) as pub:
                return {n: (1 if await pub.exists(n) else None) for n in names}
        return asyncio.run(run())

    def ensure(self, plan: Plan) -> None:
        """Declare the planned streams that are missing (when creation is allowed)."""
        async def run() -> None:
            async with publish.StreamPublisher(self.config) as pub:
                for stream in plan.target_topics:
                    if await pub.exists(stream):
                        continue
                    if stream not in plan.create:
                        raise SourceError(f"target stream {stream} no longer exists on "
                                          f"{self.describe()}; plan again")
                    if not guards.create_topics():
                        raise RepublishRefused(f"target stream {stream} does not exist and "
                                               f"creation is off ({guards.CREATE_TOPICS}=0)")
                    await pub.create(stream)
        asyncio.run(run())

    def _found(self, store: EventStore, job_id: str
               ) -> dict[tuple[str, tuple], list[int]]:
        with store.reading() as cur:
            streams = sorted({t for (t,) in db.rows(
                cur, "SELECT DISTINCT target_topic FROM republish_log WHERE job_id = ? AND "
                     "status IN ('unknown', 'acked')", [job_id])})
        exists = self.partition_counts(streams) if streams else {}
        found: dict[tuple[str, tuple], list[int]] = {}
        for stream in streams:
            if exists.get(stream):
                for offset, ident in _replayed(self.config, stream, job_id):
                    found.setdefault((stream, ident), []).append(offset)
        return found

    def settle(self, store: EventStore, job_id: str) -> tuple[int, int, int]:
        """Unknown records found in the stream become acked (with their offset), the others
        unsent (their resend is deduplicated by the broker anyway)."""
        with store.reading() as cur:
            unknown = ledger.unknown_rows(cur, job_id)
        if not unknown:
            return 0, 0, 0
        found = self._found(store, job_id)
        outcomes: list[Outcome] = []
        for n, target, s_topic, s_part, s_off, event_id in unknown:
            hits = found.get((target, planning.identity(s_topic, s_part, s_off, event_id)))
            outcomes.append((n, ledger.ACKED, 0, hits[0], None) if hits else
                            (n, ledger.UNSENT, None, None, "not found in the target when settled"))
        hit = sum(1 for o in outcomes if o[1] == ledger.ACKED)
        extra = sum(len(v) - 1 for v in found.values() if len(v) > 1)
        with store.transaction() as cur:
            ledger.write_outcomes(cur, job_id, *(list(c) for c in zip(*outcomes, strict=True)))
        return hit, len(outcomes) - hit, extra

    def verify(self, store: EventStore, job_id: str) -> Verification:
        """Every acknowledged record is looked for in its stream by its provenance; found ones
        get their offset in the ledger, missing ones are `lost`."""
        with store.reading() as cur:
            rows = ledger.acked_rows(cur, job_id)
        if not rows:
            return Verification(0)
        found = self._found(store, job_id)
        lost: list[Lost] = []
        located: list[Outcome] = []
        for n, target, _part, off, s_topic, s_part, s_off, event_id in rows:
            hits = found.get((target, planning.identity(s_topic, s_part, s_off, event_id)))
            if hits:
                if off is None:
                    located.append((n, ledger.ACKED, 0, hits[0], None))
            else:
                lost.append(Lost(n, target, 0, -1 if off is None else off,
                                 "not found in the stream (deleted or truncated)"))
        if located:
            with store.transaction() as cur:
                ledger.write_outcomes(cur, job_id, *(list(c) for c in zip(*located, strict=True)))
        return Verification(len(rows), tuple(lost))

    def send(self, store: EventStore, plan: Plan, rate: float | None,
             cancel: threading.Event, progress: Callable[[Counts], None] | None,
             delivery_timeout_s: float) -> tuple[int, str | None]:
        """Publish as publisher `plan.job_id`, publishing id n + 1 (see the module)."""
        async def run() -> tuple[int, str | None]:
            async with publish.StreamPublisher(self.config) as pub:
                loop = asyncio.get_running_loop()

                def send_chunk(rows: list[Row]) -> tuple[list[Outcome], str | None]:
                    fut = asyncio.run_coroutine_threadsafe(self._chunk(pub, plan, rows,
                                                                       delivery_timeout_s), loop)
                    return fut.result()

                return await asyncio.to_thread(_send_all, store, plan, rate, cancel, progress,
                                               send_chunk)
        return asyncio.run(run())

    async def _chunk(self, pub: publish.StreamPublisher, plan: Plan, rows: list[Row],
                     timeout_s: float) -> tuple[list[Outcome], str | None]:
        by_stream: dict[str, list[Row]] = {}
        for r in rows:
            by_stream.setdefault(r["target_topic"], []).append(r)
        outcomes: list[Outcome] = []
        error = None
        for stream, mine in by_stream.items():
            messages = []
            for r in mine:
                original, prov = _headers(r, plan.drop_dlq_headers)
                messages.append(publish.stream_message(r["value"], original, prov, r["n"] + 1))
            answers = await pub.send(stream, plan.job_id, messages, timeout_s)
            for r in mine:
                pid = r["n"] + 1
                if pid not in answers:
                    outcomes.append((r["n"], ledger.UNKNOWN, None, None,
                                     f"no answer within {timeout_s:g} s"))
                    error = "the broker did not confirm every message; resume when it is back"
                elif answers[pid] is None:
                    outcomes.append((r["n"], ledger.ACKED, 0, None, None))
                else:
                    outcomes.append((r["n"], ledger.FAILED, None, None, answers[pid]))
                    error = f"the broker refused a message ({answers[pid]}); resume to retry"
        return outcomes, error


class ExchangeTarget:
    """An exchange (routing key: the plan's, else the record's `x-routing-key`, else empty)
    or queues by name through the default exchange; confirms and mandatory routing."""

    creates = False

    def __init__(self, config: RabbitConfig, kind: str) -> None:
        self.config = config
        self.kind = kind

    def describe(self) -> str:
        """The server (no secret)."""
        return self.config.describe()

    def partition_counts(self, names: Sequence[str]) -> dict[str, int | None]:
        """1 for each existing exchange (queue), None for a missing one."""
        what = "exchange" if self.kind == RABBITMQ_EXCHANGE else "queue"
        with publish.ExchangePublisher(self.config) as pub:
            return {n: (1 if pub.exists(what, n) else None) for n in names}

    def ensure(self, plan: Plan) -> None:
        """Every target must exist (EventLab declares no exchange or queue)."""
        missing = [t for t, n in self.partition_counts(plan.target_topics).items() if n is None]
        if missing:
            raise SourceError(f"missing on {self.describe()}: {', '.join(missing)}; declare "
                              "them, then resume")

    def settle(self, store: EventStore, job_id: str) -> tuple[int, int, int]:
        """An exchange cannot be read back: unknown records stay unknown."""
        return 0, 0, 0

    def verify(self, store: EventStore, job_id: str) -> Verification:
        """Nothing to read back: confirmed and routed is as far as an exchange can say."""
        return Verification(0)

    def send(self, store: EventStore, plan: Plan, rate: float | None,
             cancel: threading.Event, progress: Callable[[Counts], None] | None,
             delivery_timeout_s: float) -> tuple[int, str | None]:
        """Publish each record, mandatory, waiting for its confirm."""
        with publish.ExchangePublisher(self.config) as pub:
            def send_chunk(rows: list[Row]) -> tuple[list[Outcome], str | None]:
                out: list[Outcome] = []
                for i, r in enumerate(rows):
                    if cancel.is_set():
                        out += [(x["n"], ledger.UNSENT, None, None, None) for x in rows[i:]]
                        break
                    if rate and i:
                        time.sleep(1 / rate)
                    original, prov = _headers(r, plan.drop_dlq_headers)
                    exchange, key = self._route(plan, r["target_topic"], original)
                    try:
                        why = pub.publish(exchange, key, r["value"] or b"",
                                          publish.basic_properties(original, prov))
                    except SourceError as exc:
                        out.append((r["n"], ledger.UNKNOWN, None, None, str(exc)))
                        out += [(x["n"], ledger.UNSENT, None, None, None) for x in rows[i + 1:]]
                        return out, f"sending stopped: {exc}"
                    out.append((r["n"], ledger.FAILED if why else ledger.ACKED,
                                None if why else 0, None, why))
                return out, None

            return _send_all(store, plan, rate, cancel, progress, send_chunk)

    def _route(self, plan: Plan, target: str, headers: list[publish.Header]
               ) -> tuple[str, str]:
        if self.kind == RABBITMQ_QUEUE:
            return "", target
        if plan.routing_key is not None:
            return target, plan.routing_key
        stored = next((v for k, v in headers if k == "x-routing-key" and v is not None), b"")
        return target, stored.decode("utf-8", "replace")
