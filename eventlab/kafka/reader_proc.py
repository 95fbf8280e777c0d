"""The raw reader in its own process, streaming Arrow batches to the ingesting process.

kafka-python's client (network, protocol, batch framing) runs in Python and holds the GIL;
DuckDB decoding in the same process would wait for it (measured when records were still
parsed one by one: three times slower writes). So the ingest runs
`python -m eventlab.kafka.reader_proc`: the request (settings, secrets included) arrives on
stdin, never in argv or the environment, and frames go back on stdout:

    1 byte kind + 4 bytes big-endian length + payload
    B  an Arrow IPC stream holding one raw batch (`reader.RAW_SCHEMA`)
    P  JSON positions after that batch: [[topic, partition, next_offset], ...]
    D  JSON {"reason": ...}: the reader finished
    E  JSON {"type": ..., "message": ...}: the reader failed (an `eventlab.errors` class name)

The request is one `R` frame on stdin; stdin stays open for `S` frames: JSON lists of
`SchemaText.to_row()`s. The child decodes the schema-registry framed records of each batch
with the schemas it has (`ingest.framed.decode_table(defer=True)`: the core the reader leaves
idle does the decoding, not the writer's): the request's (what the store and the folder hold)
and those the parent sends as it fetches them from a registry (the registry client and its
rules stay in the parent). The parent finishes each batch with `framed.complete`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import IO, Any

import pyarrow as pa

from eventlab import errors
from eventlab.errors import SourceError
from eventlab.kafka.config import KafkaConfig, Secret
from eventlab.kafka.positions import TP
from eventlab.schemas.model import SchemaText

_HEAD = struct.Struct(">cI")


def write_frame(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    """One frame of the reader protocol: a kind byte, the length, the payload (also the
    RabbitMQ reader's)."""
    out.write(_HEAD.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def read_frame(stream: IO[bytes]) -> tuple[bytes, bytes] | None:
    """The next frame written by `write_frame`; None at the end of the stream."""
    head = stream.read(_HEAD.size)
    if len(head) < _HEAD.size:
        return None
    kind, size = _HEAD.unpack(head)
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return kind, payload


def _config_to_json(config: KafkaConfig) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = value.reveal() if isinstance(value, Secret) else value
    return out


def _start_to_json(start: Any) -> Any:
    if isinstance(start, datetime):
        return {"time": start.isoformat()}
    if isinstance(start, dict):
        return {"offsets": [[t, p, o] for (t, p), o in start.items()]}
    return start


def _start_from_json(value: Any) -> Any:
    if isinstance(value, dict) and "time" in value:
        return datetime.fromisoformat(value["time"])
    if isinstance(value, dict) and "offsets" in value:
        return {(t, p): o for t, p, o in value["offsets"]}
    return value


def _schemas(rows: list[list[Any]]) -> dict[int, SchemaText]:
    return {r[0]: SchemaText.from_row(*r) for r in rows}


def _decoder(rows: list[list[Any]], stdin: IO[bytes]) -> Callable[[pa.Table], pa.Table]:
    """What the child does to a raw batch before sending it: `framed.decode_table(defer=True)`
    with the schemas of the request and of the `S` frames that follow it on `stdin` (a batch
    it fails on goes undecoded: the parent decodes it and reports what is wrong)."""
    from eventlab.ingest import framed
    from eventlab.schemas.catalog import SchemaCatalog

    catalog = SchemaCatalog(schemas=_schemas(rows))

    def listen() -> None:
        while (frame := read_frame(stdin)) is not None:
            if frame[0] == b"S":
                catalog.add(_schemas(json.loads(frame[1])))

    threading.Thread(target=listen, name="eventlab-reader-schemas", daemon=True).start()

    def decode(table: pa.Table) -> pa.Table:
        try:
            return framed.decode_table(table, catalog, defer=True)
        except Exception:  # noqa: BLE001 - the parent's decode_table meets it again, with context
            return table

    return decode


def main() -> int:
    """Child side: read the request, stream frames until done, cancelled or failed."""
    from eventlab.kafka.reader import KafkaRawReader

    first = read_frame(sys.stdin.buffer)
    if first is None:
        return 0
    req = json.loads(first[1])
    secrets = ("sasl_password", "ssl_password")
    cfg = {k: (Secret(v) if k in secrets and v is not None else v)
           for k, v in req["config"].items()}
    out = sys.stdout.buffer
    decode = _decoder(req["schemas"], sys.stdin.buffer)
    reader = None
    stop = {"flag": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(flag=True))
    try:
        reader = KafkaRawReader(
            KafkaConfig(**cfg), req["topics"], start=_start_from_json(req["start"]),
            until=req["until"], resume={(t, p): o for t, p, o in req["resume"]},
            isolation_level=req["isolation_level"])
        while not stop["flag"]:
            batch = reader.next_batch(max_records=req["batch_records"], timeout_ms=500)
            if batch is None:
                break
            if batch.num_rows:
                batch = decode(batch)
                sink = pa.BufferOutputStream()
                with pa.ipc.new_stream(sink, batch.schema) as writer:
                    writer.write_table(batch)
                write_frame(out, b"B", sink.getvalue().to_pybytes())
                write_frame(out, b"P", json.dumps(
                    [[t, p, o] for (t, p), o in reader.positions().items()]).encode())
            else:  # connected, and nothing came within the poll: caught up (while following)
                write_frame(out, b"I", b"")
        reason = "cancelled" if stop["flag"] else (reader.stopped_because or "end reached")
        write_frame(out, b"D", json.dumps({"reason": reason}).encode())
    except SourceError as exc:
        write_frame(out, b"E", json.dumps({"type": type(exc).__name__,
                                           "message": str(exc)}).encode())
    except BrokenPipeError:
        return 0
    finally:
        if reader is not None:
            reader.close()
    return 0


class ReaderProcess:
    """Parent side: start the child and iterate over ("batch", table, positions),
    ("idle", None, None) (a poll found nothing new), ("done", reason) and ("error", exception)
    items. A batch holding framed records comes decoded as far as the child's schemas go
    (`schemas`, then `send_schemas`): for `framed.complete`."""

    def __init__(self, config: KafkaConfig, topics: list[str], *, start: Any, until: Any,
                 resume: dict[TP, int], isolation_level: str, batch_records: int,
                 schemas: Sequence[SchemaText] = ()) -> None:
        request = {
            "config": _config_to_json(config), "topics": topics,
            "start": _start_to_json(start), "until": until,
            "resume": [[t, p, o] for (t, p), o in resume.items()],
            "isolation_level": isolation_level, "batch_records": batch_records,
            "schemas": [s.to_row() for s in schemas],
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "eventlab.kafka.reader_proc"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._proc.stdin is not None
        self._lock = threading.Lock()
        write_frame(self._proc.stdin, b"R", json.dumps(request).encode())

    def send_schemas(self, schemas: Sequence[SchemaText]) -> None:
        """Give the child more schemas to decode with (fetched since the request); nothing
        happens when it has ended."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            if self._proc.stdin and not self._proc.stdin.closed:
                write_frame(self._proc.stdin, b"S",
                            json.dumps([s.to_row() for s in schemas]).encode())

    def __iter__(self) -> Iterator[tuple[str, Any, Any]]:
        stream = self._proc.stdout
        assert stream is not None
        pending: pa.Table | None = None
        while (frame := read_frame(stream)) is not None:
            kind, payload = frame
            if kind == b"B":
                pending = pa.ipc.open_stream(payload).read_all()
            elif kind == b"P":
                positions = {(t, p): o for t, p, o in json.loads(payload)}
                yield "batch", pending, positions
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
        yield "error", SourceError(f"the Kafka reader process ended unexpectedly "
                                   f"(exit status {code})"), None

    def stop(self) -> None:
        """Ask the child to stop; kill it if it does not go."""
        with self._lock:
            if self._proc.stdin and not self._proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()


if __name__ == "__main__":
    sys.exit(main())
