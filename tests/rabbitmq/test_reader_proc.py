"""The stream reader's own process: it ends with its parent, even a SIGKILLed one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from process_support import readers_die_with_their_ingest

from eventlab.rabbitmq.config import RabbitConfig


def test_a_sigkilled_ingest_leaves_no_reader_process(
        tmp_path: Path, rabbit_config: RabbitConfig,
        stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([b'{"event_id": "e1", "entity_id": "o-1"}'])
    readers_die_with_their_ingest(
        [sys.executable, "-m", "eventlab", "ingest-rabbitmq", "--db", str(tmp_path / "r.duckdb"),
         "--stream", stream, "--port", str(rabbit_config.port), "--stream-port",
         str(rabbit_config.stream_port), "--until", "follow", "--json"])
