"""AppTest of the Consumers page's RabbitMQ section: hidden without RabbitMQ settings; with
them, a named stream consumer's lag as it stored it, and a queue's depth."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page
from rstream import Consumer

from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.server import ServerHandle

consumers_page = partial(open_page, "pages/consumers_page.py", timeout=60)


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVENTLAB_DB", str(tmp_path / "consumers.duckdb"))
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    for name in ("HOST", "PORT", "STREAM_PORT", "MANAGEMENT_PORT", "NODE"):
        monkeypatch.delenv(f"EVENTLAB_RABBITMQ_{name}", raising=False)


def test_no_section_without_rabbitmq_settings(page_env: None) -> None:
    at = consumers_page()
    assert not at.exception, at.exception
    assert "RabbitMQ" not in [h.value for h in at.header]


def test_stream_consumer_lag_and_queue_depth(page_env: None, monkeypatch: pytest.MonkeyPatch,
                                            rabbit_config: RabbitConfig,
                                            rabbitmq_server: ServerHandle,
                                            stream_factory: Callable[..., str]) -> None:
    stream = stream_factory([b'{"i": 1}'] * 8)

    async def store_offset() -> None:
        c = Consumer(rabbit_config.host, rabbit_config.stream_port, username="guest",
                     password="guest")
        await c.start()
        await c.store_offset(stream, "mailer", 2)
        await c.close()

    asyncio.run(store_offset())
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_MANAGEMENT_PORT", str(rabbitmq_server.ports.management))
    at = consumers_page(r_streams=stream, r_consumers="mailer", r_queues=stream)  # a link
    assert not at.exception, at.exception
    assert "RabbitMQ" in [h.value for h in at.header]
    assert not at.exception, at.exception
    lag = next(d.value for d in at.dataframe if "consumer" in d.value.columns)
    row = lag.iloc[0]
    assert (row["consumer"], row["committed"], row["end"], row["lag"]) == ("mailer", "3", 8, 5)
    depth = next(d.value for d in at.dataframe if "ready" in d.value.columns)
    assert depth.iloc[0]["queue"] == stream and depth.iloc[0]["from"] == "management"


def test_classic_peek_says_its_cost_and_waits_for_consent(
        page_env: None, monkeypatch: pytest.MonkeyPatch, rabbit_config: RabbitConfig) -> None:
    import pika

    from eventlab.rabbitmq.amqp import channel

    queue = f"app-classic-{id(page_env)}-{rabbit_config.port}"
    with channel(rabbit_config, "test setup") as ch:
        ch.confirm_delivery()
        ch.queue_declare(queue)
        ch.basic_publish("", queue, b"**not bold**", pika.BasicProperties(message_id="m1"))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    at = consumers_page()
    at.text_input(key="r_peek_queue").set_value(queue)
    at.radio(key="r_peek_kind").set_value("classic").run()
    assert not at.exception, at.exception
    assert any("redelivered" in w.value for w in at.warning)
    assert at.button(key="r_peek").disabled
    at.checkbox(key="r_peek_ok").check().run()
    at.button(key="r_peek").click().run()
    assert not at.exception, at.exception
    rows = next(d.value for d in at.dataframe if "body" in d.value.columns)
    assert list(rows["body"]) == ["**not bold**"]
    with channel(rabbit_config, "test check") as ch:
        assert ch.queue_declare(queue, passive=True).method.message_count == 1
