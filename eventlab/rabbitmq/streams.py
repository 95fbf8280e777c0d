"""RabbitMQ streams read as raw record batches (rstream, the stream protocol): the one place
that calls the stream client.

EventLab subscribes without a name (no `reference`), so the broker tracks no consumer of
ours and stores no offset for us: positions live in EventLab's store. `StreamReader` runs the
asyncio client in a thread and yields what Kafka's reader yields: ("batch", Arrow table in
`kafka.reader.RAW_SCHEMA`, next offset per (stream, 0)), ("idle", ...), ("done", reason) or
("error", exception). A batch's positions cover exactly its records: the batch and its
positions, stored in one transaction, resume with no gap and no duplicate. Messages reach us
as raw bytes (`decoder` is the identity) and are turned into records by `records.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import pyarrow as pa
from rstream import Consumer, ConsumerOffsetSpecification, OffsetType
from rstream import exceptions as rexc
from rstream.recovery import BackOffRecoveryStrategy

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.records import raw_table

StreamStart = Literal["first", "last", "next"] | int | datetime
"""Where a read starts when no position is stored: the first message, the last chunk, only
new messages, an offset, or the first chunk at or after a time."""
StreamUntil = Literal["end", "follow"] | int
"""Where a read stops: the end taken at start, never (follow), or after N messages."""
END_PROBE_S = 1.5
"""How long an `until="end"` read waits for the last chunk before calling a stream empty
(RabbitMQ 3.10 has no stream statistics command to ask for the end)."""

for _name in ("rstream", "rstream.client", "rstream.consumer"):  # errors reach users as ours
    logging.getLogger(_name).setLevel(logging.CRITICAL)


def connection_error(config: RabbitConfig, exc: BaseException, doing: str) -> SourceError:
    """Our error for a client exception, each cause said as such (no secret in it)."""
    where = f"RabbitMQ at {config.host}:{config.stream_port} (vhost {config.vhost!r})"
    if isinstance(exc, rexc.AuthenticationFailure | rexc.SASLError):
        return SourceError(f"{where} refused the login of user {config.user!r} while {doing}: "
                           "check EVENTLAB_RABBITMQ_USER and EVENTLAB_RABBITMQ_PASSWORD")
    if isinstance(exc, rexc.VirtualHostAccessFailure):
        return SourceError(f"{where}: the virtual host {config.vhost!r} does not exist or user "
                           f"{config.user!r} may not use it ({doing}); check "
                           "EVENTLAB_RABBITMQ_VHOST")
    if isinstance(exc, rexc.StreamDoesNotExist):
        return SourceError(f"{where} has no stream of that name ({doing}): check the name, or "
                           "declare it with x-queue-type=stream")
    if isinstance(exc, rexc.StreamNotAvailable):
        return BrokerUnavailable(f"{where}: the stream is not available ({doing}): its "
                                 "leader may be restarting; try again shortly")
    if isinstance(exc, ConnectionRefusedError):
        return BrokerUnavailable(f"{where} refused the connection while {doing}: is RabbitMQ "
                                 "running with the stream plugin (rabbitmq_stream) on that "
                                 "port? Check EVENTLAB_RABBITMQ_HOST and "
                                 "EVENTLAB_RABBITMQ_STREAM_PORT")
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | OSError):
        return BrokerUnavailable(f"{where} did not answer within {config.timeout_s:g} s while "
                                 f"{doing}: check the address, the port and the network")
    return SourceError(f"RabbitMQ error while {doing} ({where}): {type(exc).__name__}: {exc}")


def _consumer(config: RabbitConfig, on_close: Any = None) -> Consumer:
    return Consumer(config.host, config.stream_port, username=config.user,
                    password=config.password.reveal(), vhost=config.vhost,
                    ssl_context=config.ssl_context(), max_retries=1,
                    connection_name="eventlab", on_close_handler=on_close,
                    recovery_strategy=BackOffRecoveryStrategy(False))


def _offset_spec(start: StreamStart) -> ConsumerOffsetSpecification:
    if isinstance(start, datetime):
        return ConsumerOffsetSpecification(OffsetType.TIMESTAMP, int(start.timestamp() * 1000))
    if isinstance(start, int):
        return ConsumerOffsetSpecification(OffsetType.OFFSET, start)
    kinds = {"first": OffsetType.FIRST, "last": OffsetType.LAST, "next": OffsetType.NEXT}
    return ConsumerOffsetSpecification(kinds[start], None)


class StreamReader:
    """Read streams as raw batches with exact positions; iterate it, `stop()` to end it."""

    def __init__(self, config: RabbitConfig, streams: list[str], *, start: StreamStart = "first",
                 until: StreamUntil = "end", resume: Mapping[str, int] | None = None,
                 batch_records: int = 20_000, max_batches: int = 8,
                 labels: Mapping[str, tuple[str, int]] | None = None) -> None:
        self.config = config
        self.labels = dict(labels or {})
        """Stream -> the (topic, partition) its records are stored as (a super stream's
        partition: (super stream, index)); others are (stream, 0)."""
        self.streams = list(streams)
        self.start = start
        self.until = until
        self.resume = dict(resume or {})
        self.batch_records = batch_records
        self._out: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=max_batches)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ends: dict[str, int | None] = {}
        self._done_sent = False

    # -- the consuming side --------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, Any, Any]]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="eventlab-rabbitmq-reader",
                                            daemon=True)
            self._thread.start()
        while True:
            try:
                item = self._out.get(timeout=0.2)
            except queue.Empty:
                if self._thread is not None and not self._thread.is_alive() \
                        and self._out.empty():
                    return
                continue
            yield item
            if item[0] in ("done", "error"):
                return

    def stop(self) -> None:
        """Ask the reader to end; it closes its connection and returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_s + 5)

    # -- the asyncio side ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            reason = asyncio.run(self._main())
            if not self._done_sent:
                self._put(("done", reason, None))
        except SourceError as exc:
            self._put(("error", exc, None))
        except Exception as exc:  # noqa: BLE001 - a client failure, reported as ours
            self._put(("error", connection_error(self.config, exc, "reading streams"), None))

    def _put(self, item: tuple[str, Any, Any]) -> None:
        while not self._stop.is_set() or item[0] in ("done", "error"):
            try:
                self._out.put(item, timeout=0.2)
                return
            except queue.Full:
                if item[0] in ("done", "error") and self._stop.is_set():
                    return
                continue

    async def _bounded(self, coro: Coroutine[Any, Any, Any], doing: str) -> Any:
        try:
            return await asyncio.wait_for(coro, self.config.timeout_s)
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise connection_error(self.config, exc, doing) from exc

    async def _exists(self, consumer: Consumer, stream: str) -> bool:
        """Does the stream exist? Waits out "not available" (a leader being elected just
        after the server started) up to the timeout."""
        deadline = time.monotonic() + self.config.timeout_s
        while True:
            try:
                return bool(await self._bounded(consumer.stream_exists(stream),
                                                f"looking up stream {stream!r}"))
            except SourceError as exc:
                if not isinstance(exc.__cause__, rexc.StreamNotAvailable) \
                        or time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.25)

    async def _main(self) -> str:
        closed: list[str] = []

        async def on_close(info: Any) -> None:
            closed.append(str(getattr(info, "reason", info)))

        consumer = _consumer(self.config, on_close)
        try:
            await self._bounded(consumer.start(), "connecting")
            for stream in self.streams:
                if not await self._exists(consumer, stream):
                    raise SourceError(
                        f"RabbitMQ at {self.config.host}:{self.config.stream_port} (vhost "
                        f"{self.config.vhost!r}) has no stream {stream!r}: check the name")
            if self.until == "end":
                for stream in self.streams:
                    self.ends[stream] = await self._end_of(consumer, stream)
            reason = await self._read(consumer, closed)
            # said before closing: every batch is out, and closing takes a while (~0.5 s)
            self._put(("done", reason, None))
            self._done_sent = True
            return reason
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.close(), 5)

    async def _end_of(self, consumer: Consumer, stream: str) -> int | None:
        """The next offset after the last message now (None: the stream is empty)."""
        found: list[int] = []

        async def on_message(msg: bytes, ctx: Any) -> None:
            found.append(ctx.offset)

        sub = await self._bounded(consumer.subscribe(
            stream, on_message, decoder=_identity,
            offset_specification=ConsumerOffsetSpecification(OffsetType.LAST, None),
            initial_credit=1), f"finding the end of stream {stream!r}")
        deadline = time.monotonic() + END_PROBE_S
        last_seen = -1
        while time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            if found and found[-1] == last_seen:
                break  # the last chunk has been delivered whole
            last_seen = found[-1] if found else -1
        await self._bounded(consumer.unsubscribe(sub), f"reading stream {stream!r}")
        return max(found) + 1 if found else None

    async def _read(self, consumer: Consumer, closed: list[str]) -> str:
        buffers: dict[str, list[tuple[int, int, bytes]]] = {s: [] for s in self.streams}
        nexts: dict[str, int] = {}
        done: set[str] = set()
        total = 0
        limit = self.until if isinstance(self.until, int) else None
        for stream, end in self.ends.items():
            if end is None or self.resume.get(stream, -1) >= end:
                done.add(stream)

        def handler(stream: str) -> Any:
            buf = buffers[stream]
            end = self.ends.get(stream)

            async def on_message(msg: bytes, ctx: Any) -> None:
                nonlocal total
                if stream in done or (limit is not None and total >= limit):
                    return
                offset = ctx.offset
                if offset < nexts.get(stream, 0):
                    return  # a chunk re-sent from its start
                buf.append((offset, ctx.timestamp, msg))
                nexts[stream] = offset + 1
                total += 1
                if end is not None and offset + 1 >= end:
                    done.add(stream)
                while len(buf) >= self.batch_records and not self._stop.is_set():
                    if not self._out.full():
                        self._flush(stream, buf, nexts)
                        break
                    await asyncio.sleep(0.005)  # back-pressure: no credit while we wait

            return on_message

        for stream in self.streams:
            if stream in done:
                continue
            start: StreamStart = self.resume.get(stream, self.start)
            if isinstance(start, int):
                nexts[stream] = start
            await self._bounded(consumer.subscribe(
                stream, handler(stream), decoder=_identity,
                offset_specification=_offset_spec(start), initial_credit=8),
                f"subscribing to stream {stream!r}")
        pending_since: float | None = None
        idle_since = time.monotonic()
        idle_sent = False
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            pending = [s for s in self.streams if buffers[s]]
            if pending:
                pending_since = pending_since or now
                idle_since = now
            finished = (self.until == "end" and (
                len(done) == len(self.streams) or now - idle_since > 2 * END_PROBE_S)) or (
                limit is not None and total >= limit)
            if pending and (finished or self._stop.is_set() or now - pending_since > 0.2):
                for stream in pending:
                    while self._out.full() and not self._stop.is_set():
                        await asyncio.sleep(0.005)
                    self._flush(stream, buffers[stream], nexts)
                pending_since = None
                idle_sent = False
            if finished:
                return "end of stream" if self.until == "end" else f"read {total} messages"
            if self._stop.is_set():
                return "stopped"
            if closed:
                raise BrokerUnavailable(
                    f"RabbitMQ at {self.config.host}:{self.config.stream_port} closed the "
                    f"connection while reading {', '.join(self.streams)} ({closed[0]}): what "
                    "was read before is stored; run again to resume")
            if not pending and not idle_sent and now - idle_since > 0.3:
                self._put(("idle", None, None))
                idle_sent = True

    def _flush(self, stream: str, buf: list[tuple[int, int, bytes]],
               nexts: dict[str, int]) -> None:
        topic, partition = self.labels.get(stream, (stream, 0))
        table = raw_table(topic, partition, buf)
        positions = {(topic, partition): buf[-1][0] + 1}
        buf.clear()
        self._out.put_nowait(("batch", table, positions))


def _identity(data: bytes) -> bytes:
    return data


def read_all(config: RabbitConfig, stream: str, **kwargs: Any) -> pa.Table | None:
    """Every batch of one bounded read, concatenated (peek and tests); None when empty."""
    reader = StreamReader(config, [stream], **kwargs)
    tables = []
    try:
        for kind, item, _pos in reader:
            if kind == "batch":
                tables.append(item)
            elif kind == "error":
                raise item
            elif kind == "done":
                break
    finally:
        reader.stop()
    return pa.concat_tables(tables) if tables else None
