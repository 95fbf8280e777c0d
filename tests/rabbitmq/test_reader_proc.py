"""The stream reader's own process: it ends with its parent, even a SIGKILLed one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from eventlab.rabbitmq.config import RabbitConfig


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_sigkilled_ingest_leaves_no_reader_process(
        tmp_path: Path, rabbit_config: RabbitConfig,
        stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([b'{"event_id": "e1", "entity_id": "o-1"}'])
    proc = subprocess.Popen(
        [sys.executable, "-m", "eventlab", "ingest-rabbitmq", "--db", str(tmp_path / "r.duckdb"),
         "--stream", stream, "--port", str(rabbit_config.port), "--stream-port",
         str(rabbit_config.stream_port), "--until", "follow", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (readers := _children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert readers, "the ingest started no reader process"
        time.sleep(3.0)  # following: the reader is connected and waits for messages
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in readers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
