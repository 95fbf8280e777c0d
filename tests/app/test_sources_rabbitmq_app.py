"""AppTest of the Sources page's RabbitMQ tab against a real local RabbitMQ: a stream loaded as
a background job, then listed with its stored position and end, and peeked without storing."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from apptest_support import open_page, wait_for
from streamlit.testing.v1 import AppTest

from eventlab.rabbitmq.config import RabbitConfig
from eventlab.store.eventstore import EventStore

PAGE = "pages/sources_page.py"
sources_page = partial(open_page, PAGE, timeout=30)


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             rabbit_config: RabbitConfig) -> Path:
    path = tmp_path / "sources.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_TIMEOUT_S", "5")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


def _envelope(i: int) -> bytes:
    return json.dumps({"event_id": f"e{i}", "entity_id": "order-1", "event_type": "OrderNoted",
                       "ts": "2025-03-05T14:03:00Z", "seq": i + 1, "data": {"i": i}}).encode()


def table_with(at: AppTest, column: str) -> pd.DataFrame | None:
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


def test_stream_loaded_as_a_job_listed_and_peeked(page_env: Path,
                                                  stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([_envelope(i) for i in range(4)])
    at = sources_page()
    assert not at.exception and not at.error
    assert table_with(at, "stored next offset") is None  # nothing read before, no broker call
    at.text_input(key="rmq_typed").input(stream).run()
    at.button(key="rmq_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: any("4 stored" in s.value for s in a.success))
    with EventStore(page_env) as store:
        assert store.stats().events == 4
    at.button(key="rmq_ends_go").click().run()
    table = table_with(at, "stored next offset")
    assert table is not None
    row = table[table["stream"] == stream].iloc[0].to_dict()
    assert (row["stored next offset"], row["end"], row["not loaded yet"]) == (4, 4, 0)
    at.text_input(key="rmq_pk_stream").input(stream).run()
    at.button(key="rmq_pk_go").click().run()
    assert not at.exception and not at.error
    peeked = table_with(at, "broker time")
    assert peeked is not None and list(peeked["offset"]) == [0, 1, 2, 3]
    assert peeked["value"][0] == _envelope(0).decode()


def test_super_stream_loaded_and_listed_per_partition(page_env: Path,
                                                      rabbit_config: RabbitConfig) -> None:
    import os

    from eventlab.rabbitmq import amqp, superstreams

    name = f"ss-app-{os.getpid()}"
    superstreams.declare(rabbit_config, name, 3)
    with amqp.channel(rabbit_config, "publishing") as ch:
        ch.confirm_delivery()
        for i in range(6):
            ch.basic_publish(name, str(i % 3), _envelope(i))
    at = sources_page()
    at.text_input(key="rmq_super").input(name).run()
    at.button(key="rmq_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: any("6 stored" in s.value for s in a.success))
    at.button(key="rmq_ends_go").click().run()
    assert not at.exception and not at.error
    table = table_with(at, "stored next offset")
    assert table is not None
    mine = table[table["stream"] == name]
    assert list(mine["partition"]) == [0, 1, 2]
    assert list(mine["stored next offset"]) == [2, 2, 2] and list(mine["end"]) == [2, 2, 2]
    # chosen again from "Streams read before", it is read as the super stream it is
    at.multiselect(key="rmq_known").select(name).run()
    at.button(key="rmq_go").click().run()
    assert not at.exception and not at.error
    at = wait_for(at, lambda a: any("0 stored" in s.value for s in a.success))
