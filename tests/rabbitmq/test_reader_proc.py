"""The stream reader's own process: it ends with its parent, even a SIGKILLed one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from process_support import alive, children

from eventlab.rabbitmq.config import RabbitConfig


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
        while not (readers := children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert readers, "the ingest started no reader process"
        time.sleep(3.0)  # following: the reader is connected and waits for messages
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in readers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in readers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
