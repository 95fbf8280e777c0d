"""A NAMED stream consumer that stores its offset on the broker (`store_offset`): the demo's
slow projector, so the Consumers page and `eventlab lag --rabbitmq` have a lag to show.

This is the demo's own consumer, under a name the user chooses; EventLab's readers stay
unnamed and store nothing on the broker (docs/rabbitmq.md). It resumes after the offset it
stored last (the stream clients' convention: the stored offset is the last message
processed), processes at most `rate` messages/s, and stores its offset about once a second
and when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rstream import ConsumerOffsetSpecification, OffsetType
from rstream import exceptions as rexc

from eventlab.errors import SourceError
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import _consumer, connection_error


@dataclass
class NamedProgress:
    """How far the named consumer got: messages processed, the offset stored last."""

    stream: str
    name: str
    processed: int = 0
    stored: int | None = None
    seconds: float = 0.0

    def line(self) -> str:
        """One progress line for the terminal."""
        rate = self.processed / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.name} on {self.stream}: processed {self.processed:,} ({rate:,.0f}/s), "
                f"stored offset {'-' if self.stored is None else self.stored}")


def run_named_consumer(config: RabbitConfig, stream: str, name: str, *, rate: float = 100.0,
                       stop: threading.Event | None = None,
                       progress: Callable[[NamedProgress], None] | None = None,
                       progress_every_s: float = 2.0, max_messages: int | None = None,
                       wait_for_stream_s: float = 0.0) -> NamedProgress:
    """Consume `stream` as `name` at <= `rate` messages/s (0: no limit) until `stop` is set
    or `max_messages` were processed, storing the offset on the broker as it goes."""
    stop = stop or threading.Event()
    return asyncio.run(_run(config, stream, name, rate, stop, progress, progress_every_s,
                            max_messages, wait_for_stream_s))


async def _run(config: RabbitConfig, stream: str, name: str, rate: float,
               stop: threading.Event, progress: Callable[[NamedProgress], None] | None,
               progress_every_s: float, max_messages: int | None,
               wait_s: float) -> NamedProgress:
    state = NamedProgress(stream, name)
    consumer = _consumer(config)
    try:
        await _bounded(config, consumer.start(), "connecting")
        deadline = time.monotonic() + wait_s
        while not await _bounded(config, consumer.stream_exists(stream),
                                 f"looking up stream {stream!r}"):
            if time.monotonic() >= deadline or stop.is_set():
                raise SourceError(f"RabbitMQ at {config.host}:{config.stream_port} has no "
                                  f"stream {stream!r}: publish the demo first")
            await asyncio.sleep(0.5)
        try:
            state.stored = await _bounded(config, consumer.query_offset(stream, name),
                                          f"asking {name!r} for its offset")
        except SourceError as exc:
            if not isinstance(exc.__cause__, rexc.OffsetNotFound):
                raise
        spec = (ConsumerOffsetSpecification(OffsetType.FIRST, None) if state.stored is None
                else ConsumerOffsetSpecification(OffsetType.OFFSET, state.stored + 1))
        last = [state.stored if state.stored is not None else -1]
        started = time.monotonic()
        due = [started]

        async def on_message(msg: bytes, ctx: Any) -> None:
            # rstream hands one subscription's messages over in order, one at a time; offsets
            # may skip (the broker's own offset-tracking entries take offsets too)
            if stop.is_set() or ctx.offset <= last[0] or (
                    max_messages is not None and state.processed >= max_messages):
                return
            if rate > 0:
                due[0] = max(due[0], time.monotonic() - 1.0) + 1.0 / rate
                if (ahead := due[0] - time.monotonic()) > 0.001:
                    await asyncio.sleep(ahead)  # no credit while we wait: the lag grows
                    if stop.is_set():  # the last offset may be stored already: not this one
                        return
            last[0] = ctx.offset
            state.processed += 1

        await _bounded(config, consumer.subscribe(
            stream, on_message, decoder=lambda data: data, offset_specification=spec,
            subscriber_name=name, initial_credit=2), f"subscribing to stream {stream!r}")
        last_store = last_report = time.monotonic()
        while not stop.is_set() and (max_messages is None or state.processed < max_messages):
            await asyncio.sleep(0.05)
            now = time.monotonic()
            state.seconds = now - started
            if now - last_store >= 1.0:
                last_store = now
                await _store(config, consumer, state, last[0])
            if progress is not None and now - last_report >= progress_every_s:
                last_report = now
                progress(state)
        await _store(config, consumer, state, last[0])
        state.seconds = time.monotonic() - started
        return state
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.close(), 5)


async def _store(config: RabbitConfig, consumer: Any, state: NamedProgress, offset: int) -> None:
    if offset >= 0 and offset != state.stored:
        await _bounded(config, consumer.store_offset(state.stream, state.name, offset),
                       f"storing the offset of {state.name!r}")
        state.stored = offset


async def _bounded(config: RabbitConfig, coro: Any, doing: str) -> Any:
    try:
        return await asyncio.wait_for(coro, config.timeout_s)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated at the boundary
        raise connection_error(config, exc, doing) from exc
