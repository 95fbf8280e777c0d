"""AppTest of the Sources page's Produce tab into RabbitMQ (EVENTLAB_RABBITMQ_* set, no Kafka
connection): a stream message with properties and application properties, its dry run's
bytes, then Send and the message read back; an exchange message no queue takes is said."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pika
import pytest
from apptest_support import open_page

from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all

PAGE = "pages/sources_page.py"
sources_page = partial(open_page, PAGE, timeout=30)


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             rabbit_config: RabbitConfig) -> Path:
    path = tmp_path / "produce.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_TIMEOUT_S", "5")
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    return path


def test_produce_into_a_stream_shows_the_bytes_then_sends_them(
        page_env: Path, rabbit_config: RabbitConfig,
        stream_factory: Callable[..., str]) -> None:
    stream = stream_factory()
    at = sources_page()
    assert not at.exception, at.exception
    assert at.radio(key="pr_kind").value == "RabbitMQ stream"  # no Kafka connection made
    at.text_input(key="pr_rmq_target").input(stream)
    at.text_input(key="pr_prop_message_id").input("m-7")
    at.text_input(key="pr_prop_content_type").input("application/json")
    at.text_area(key="pr_value").input('{"n": 7}')
    at.text_area(key="pr_headers").input("tenant=acme\nb=2").run()
    at.button(key="pr_dry").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "part" in d.value.columns)
    assert list(table["part"])[:3] == ["value", "property", "property"]
    assert list(table["name"])[1:5] == ["message-id", "content-type", "tenant", "b"]
    assert read_all(rabbit_config, stream) is None  # the dry run sent nothing
    at.button(key="pr_send").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("confirmed" in s.value for s in at.success)
    (got,) = read_all(rabbit_config, stream).to_pylist()
    by = [(h["key"], h["value"]) for h in got["headers"]]
    assert got["value"] == b'{"n": 7}'
    assert by[:4] == [("message-id", b"m-7"), ("content-type", b"application/json"),
                      ("tenant", b"acme"), ("b", b"2")]


def test_an_unroutable_exchange_message_is_said(page_env: Path,
                                                rabbit_config: RabbitConfig) -> None:
    name = f"x-app-{os.getpid()}"
    with pika.BlockingConnection(pika.ConnectionParameters(
            rabbit_config.host, rabbit_config.port)) as conn:
        conn.channel().exchange_declare(name, "direct")
    at = sources_page()
    at.radio(key="pr_kind").set_value("RabbitMQ exchange").run()
    at.text_input(key="pr_rmq_target").input(name)
    at.text_input(key="pr_routing_key").input("nobody")
    at.text_area(key="pr_value").input("{}").run()
    at.button(key="pr_dry").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.button(key="pr_send").click().run()
    assert not at.exception, at.exception
    assert any("unroutable" in e.value for e in at.error)
