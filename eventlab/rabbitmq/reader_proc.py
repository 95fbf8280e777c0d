"""The stream reader in its own process, streaming Arrow batches to the ingesting process.

rstream's client and the AMQP decoding run in Python and hold the GIL; the ingest's DuckDB
writes in the same process then wait for it at every call that releases and takes the GIL
back (profiled: the writer waited on the reader's thread for half of the run, and the reader
on the writer). So, as for Kafka (`kafka/reader_proc.py`, whose frames this reuses), the
ingest runs `python -m eventlab.rabbitmq.reader_proc`: the request (settings, the password
included) arrives on stdin, never in argv or the environment; frames come back on stdout:
B (an Arrow IPC raw batch) then P (its positions), I (idle), D (done), E (error). The child
ends when its parent is gone (a SIGKILLed ingest leaves no reader behind).
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa

from eventlab import errors
from eventlab.errors import SourceError
from eventlab.kafka.config import Secret
from eventlab.kafka.reader_proc import read_frame, write_frame
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import StreamStart, StreamUntil

_AHEAD = 4
"""Batches read from the child ahead of the writer."""


def _request(config: RabbitConfig, streams: list[str], start: StreamStart, until: StreamUntil,
             resume: dict[str, int], batch_records: int,
             labels: dict[str, tuple[str, int]] | None = None) -> bytes:
    cfg = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    cfg["password"] = config.password.reveal()
    start_json: Any = {"time": start.isoformat()} if isinstance(start, datetime) else start
    return json.dumps({"config": cfg, "streams": streams, "start": start_json, "until": until,
                       "resume": resume, "batch_records": batch_records,
                       "labels": labels or {}}).encode()


def _watch_parent() -> None:
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _warm_up() -> None:
    """Build one record first: pyarrow imports pandas on its first list conversion (~0.3 s),
    which would otherwise stall the first batch while messages wait."""
    from eventlab.rabbitmq.records import raw_table

    raw_table("", 0, [(0, 0, b"")])


def main() -> int:
    """Child side: read the request, stream frames until done, stopped or failed."""
    from eventlab.rabbitmq.streams import StreamReader

    warm = threading.Thread(target=_warm_up, daemon=True)
    warm.start()  # while the request arrives and the client connects
    req = json.loads(sys.stdin.buffer.read())
    cfg = dict(req["config"], password=Secret(req["config"]["password"]))
    start = req["start"]
    if isinstance(start, dict):
        start = datetime.fromisoformat(start["time"])
    out = sys.stdout.buffer
    reader = StreamReader(RabbitConfig(**cfg), req["streams"], start=start,
                          until=req["until"], resume=req["resume"],
                          batch_records=req["batch_records"],
                          labels={k: (t, p) for k, (t, p) in req.get("labels", {}).items()})
    # SIGTERM (the parent's stop) ends the child at once: positions are the parent's to
    # store, and the broker drops the subscription with the connection.
    threading.Thread(target=_watch_parent, daemon=True).start()
    try:
        for kind, item, positions in reader:
            if kind == "batch":
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, item.schema) as writer:
                    writer.write_table(item)
                write_frame(out, b"B", sink.getvalue().to_pybytes())
                write_frame(out, b"P", json.dumps(
                    [[s, p, o] for (s, p), o in positions.items()]).encode())
            elif kind == "idle":
                write_frame(out, b"I", b"")
            elif kind == "done":
                write_frame(out, b"D", json.dumps({"reason": item}).encode())
                break
            else:
                write_frame(out, b"E", json.dumps({"type": type(item).__name__,
                                              "message": str(item)}).encode())
                break
    except BrokenPipeError:
        return 0
    finally:
        reader.stop()
    return 0


class StreamReaderProcess:
    """Parent side, used as `streams.StreamReader` is: iterate ("batch", table, positions),
    ("idle", None, None), ("done", reason, None), ("error", exception, None); `stop()`."""

    def __init__(self, config: RabbitConfig, streams: list[str], *,
                 start: StreamStart = "first", until: StreamUntil = "end",
                 resume: dict[str, int] | None = None, batch_records: int = 20_000,
                 labels: dict[str, tuple[str, int]] | None = None) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "eventlab.rabbitmq.reader_proc"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._proc.stdin is not None
        self._proc.stdin.write(_request(config, list(streams), start, until, dict(resume or {}),
                                        batch_records, labels))
        self._proc.stdin.close()
        self._items: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=_AHEAD)
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._feed, name="eventlab-rabbitmq-feed",
                                        daemon=True)
        self._thread.start()

    def _frames(self) -> Iterator[tuple[str, Any, Any]]:
        stream = self._proc.stdout
        assert stream is not None
        pending: pa.Table | None = None
        while (frame := read_frame(stream)) is not None:
            kind, payload = frame
            if kind == b"B":
                pending = pa.ipc.open_stream(payload).read_all()
            elif kind == b"P":
                yield "batch", pending, {(s, p): o for s, p, o in json.loads(payload)}
                pending = None
            elif kind == b"I":
                yield "idle", None, None
            elif kind == b"D":
                yield "done", json.loads(payload)["reason"], None
                return
            elif kind == b"E":
                data = json.loads(payload)
                cls = getattr(errors, data["type"], SourceError)
                if not (isinstance(cls, type) and issubclass(cls, SourceError)):
                    cls = SourceError
                yield "error", cls(data["message"]), None
                return
        code = self._proc.wait()
        yield "error", SourceError(f"the RabbitMQ reader process ended unexpectedly "
                                   f"(exit status {code})"), None

    def _feed(self) -> None:
        """Read frames as they come (the child never waits for the writer's pipe reads)."""
        try:
            for item in self._frames():
                while not self._finished.is_set():
                    try:
                        self._items.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._finished.is_set():
                    return
        except (OSError, ValueError):  # the pipe closed by stop()
            return

    def __iter__(self) -> Iterator[tuple[str, Any, Any]]:
        while True:
            try:
                item = self._items.get(timeout=0.2)
            except queue.Empty:
                if not self._thread.is_alive() and self._items.empty():
                    return
                continue
            yield item
            if item[0] in ("done", "error"):
                return

    def waiting(self) -> bool:
        """Has the next item arrived already?"""
        return not self._items.empty()

    def stop(self) -> None:
        """Ask the child to stop; kill it if it does not go."""
        self._finished.set()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._thread.join(timeout=5)
        if self._proc.stdout:
            self._proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
