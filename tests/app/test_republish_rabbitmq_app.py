"""AppTest of the Republish page into RabbitMQ against a real local server: with
EVENTLAB_RABBITMQ_* set the page offers a stream target; the dry run creates and sends
nothing, Execute sends the plan through the same job code as Kafka, each record lands once
with its provenance, and the audit log has the dry run and the execute. Read-only mode offers
no action and the function itself refuses (audited)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from apptest_support import open_page, texts, wait_for

from eventlab import republish, settings
from eventlab.errors import EventLabError, ReadOnlyError
from eventlab.ingest.rabbitmq_ingest import ingest_streams
from eventlab.kafka import provenance as prov
from eventlab.rabbitmq.config import RabbitConfig
from eventlab.rabbitmq.streams import read_all
from eventlab.republish.plan import RABBITMQ_STREAM, PlanOptions
from eventlab.store import db
from eventlab.store.eventstore import EventStore

PAGE = "pages/republish_page.py"
republish_page = partial(open_page, PAGE, timeout=30)


def _envelope(i: int) -> bytes:
    return json.dumps({"event_id": f"e{i}", "entity_id": f"order-{i % 2}",
                       "event_type": "OrderPlaced", "ts": "2025-03-05T14:03:00Z",
                       "seq": i + 1, "data": {"i": i}}).encode()


@pytest.fixture()
def loaded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rabbit_config: RabbitConfig,
           stream_factory: Callable[..., str]) -> tuple[Path, str]:
    src = stream_factory([(_envelope(i), {"message_id": f"m-{i}",
                                          "headers": {"tenant": "acme"}}) for i in range(6)])
    path = tmp_path / "republish-rmq.duckdb"
    with EventStore(path) as store:
        assert ingest_streams(store, rabbit_config, [src]).rows_stored == 6
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_PORT", str(rabbit_config.port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_STREAM_PORT", str(rabbit_config.stream_port))
    monkeypatch.setenv("EVENTLAB_RABBITMQ_TIMEOUT_S", "5")
    monkeypatch.setenv("EVENTLAB_ACTOR", "app-tester")
    for name in ("EVENTLAB_READ_ONLY", "EVENTLAB_REPUBLISH_TOPICS"):
        monkeypatch.delenv(name, raising=False)
    return path, src


def _audit(path: Path) -> list[tuple[str, str]]:
    store = EventStore(path)  # the app's DuckDB instance (same process)
    with store.reading() as cur:
        return [(a, o) for a, o in db.rows(
            cur, "SELECT action, outcome FROM audit_log ORDER BY logged_at")]


def test_a_stream_target_is_planned_then_sent_once_and_audited(
        loaded: tuple[Path, str], rabbit_config: RabbitConfig) -> None:
    path, src = loaded
    target = f"{src}-fixed"
    at = republish_page(entity_id="order-1")
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:1] == ["3"]  # e1, e3, e5
    assert "RabbitMQ stream" in at.radio(key="rp_target_kind").options
    at.radio(key="rp_target_kind").set_value("RabbitMQ stream").run()
    at.text_input(key="rp_target").set_value(target)
    at.text_input(key="rp_reason").set_value("replay to the fixed stream")
    at.button(key="rp_dry").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("RabbitMQ stream" in t and target in t for t in texts(at.markdown))
    with pytest.raises(EventLabError, match="no stream"):  # the dry run created nothing
        read_all(rabbit_config, target)
    assert _audit(path) == [("dry-run", "planned")]
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    out = read_all(rabbit_config, target).to_pylist()
    assert sorted(json.loads(r["value"])["event_id"] for r in out) == ["e1", "e3", "e5"]
    for r in out:
        headers = [(h["key"], h["value"]) for h in r["headers"]]
        assert ("tenant", b"acme") in headers  # the original application property, kept
        got = {k: v for k, v in headers if k in prov.HEADERS}
        assert got[prov.ORIGINAL_TOPIC] == src.encode()
        assert got[prov.REASON] == b"replay to the fixed stream"
    assert _audit(path) == [("dry-run", "planned"), ("execute", "done")]


def test_read_only_offers_no_action_and_the_function_refuses(
        loaded: tuple[Path, str], rabbit_config: RabbitConfig,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path, src = loaded
    store = EventStore(path)
    dry = republish.dry_run(store, rabbit_config, republish.Selection.entity("order-0"),
                            PlanOptions(target=f"{src}-ro", target_kind=RABBITMQ_STREAM))
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    monkeypatch.setattr(settings, "_GUARDS", None)  # a new process, started read-only
    at = republish_page(entity_id="order-0")
    assert not at.exception, at.exception
    assert at.button(key="rp_dry").disabled
    at.selectbox(key="rp_pick").set_value(dry.plan.job_id).run()
    assert not at.exception, at.exception
    assert any(dry.plan.job_id in t for t in texts(at.subheader))
    assert not [b for b in at.button if b.key == "rp_execute"]
    with pytest.raises(ReadOnlyError):
        republish.execute(store, rabbit_config, dry.plan.job_id)
    assert _audit(path)[-1] == ("execute", "refused")
    with pytest.raises(EventLabError, match="no stream"):
        read_all(rabbit_config, f"{src}-ro")


def test_an_exchange_target_with_a_routing_key_is_confirmed_and_routed(
        loaded: tuple[Path, str], rabbit_config: RabbitConfig) -> None:
    import pika

    path, src = loaded
    exchange, queue = f"{src}-x", f"{src}-xq"
    with pika.BlockingConnection(pika.ConnectionParameters(
            rabbit_config.host, rabbit_config.port)) as conn:
        channel = conn.channel()
        channel.exchange_declare(exchange, "direct")
        channel.queue_declare(queue)
        channel.queue_bind(queue, exchange, "fixed")
    at = republish_page(entity_id="order-0")
    at.radio(key="rp_target_kind").set_value("RabbitMQ exchange + routing key").run()
    at.text_input(key="rp_target").set_value(exchange)
    at.text_input(key="rp_routing_key").set_value("fixed")
    at.button(key="rp_dry").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("routing key fixed" in t for t in texts(at.markdown))
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    with pika.BlockingConnection(pika.ConnectionParameters(
            rabbit_config.host, rabbit_config.port)) as conn:
        depth = conn.channel().queue_declare(queue, passive=True).method.message_count
    assert depth == 3  # e0, e2, e4, each routed once
    assert _audit(path) == [("dry-run", "planned"), ("execute", "done")]


def test_a_dead_letter_selection_is_redriven_to_the_queues_in_x_death(
        loaded: tuple[Path, str], rabbit_config: RabbitConfig, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pika

    _path, src = loaded
    work, dlq, kept = f"{src}-work", f"{src}-dlq", f"{src}-kept"
    conn = pika.BlockingConnection(pika.ConnectionParameters(rabbit_config.host,
                                                             rabbit_config.port))
    ch = conn.channel()
    ch.queue_declare(dlq)
    ch.queue_declare(work, arguments={"x-dead-letter-exchange": "",
                                      "x-dead-letter-routing-key": dlq})
    ch.queue_declare(kept, durable=True, arguments={"x-queue-type": "stream"})
    ch.confirm_delivery()
    for i in range(2):
        ch.basic_publish("", work, _envelope(10 + i), pika.BasicProperties(message_id=f"d-{i}"))
    for _ in range(2):
        method, _props, _body = ch.basic_get(work)
        ch.basic_reject(method.delivery_tag, requeue=False)
    for _ in range(2):  # the dead letters as a drain or a tap stores them
        method, props, body = ch.basic_get(dlq, auto_ack=True)
        ch.basic_publish("", kept, body, props)
    path = tmp_path / "dlq.duckdb"
    with EventStore(path) as store:
        assert ingest_streams(store, rabbit_config, [kept]).rows_stored == 2
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    at = republish_page(dlq=kept)
    assert not at.exception, at.exception
    at.radio(key="rp_target_kind").set_value("RabbitMQ queues (dead-letter redrive)").run()
    assert any(f"{work} (2)" in t for t in texts(at.caption))  # destinations by x-death
    at.checkbox(key="rp_drop").check()
    at.button(key="rp_dry").click().run()
    assert not at.exception, at.exception
    # a redrive goes back into the queue the records came from: its name is typed back
    assert texts(at.error) == [f"The target is a source topic: {work}. Type its name to "
                               "confirm."]
    at.text_input(key="rp_confirm").set_value(work).run()
    at.button(key="rp_execute").click().run()
    wait_for(at, lambda a: any("Done" in s.value for s in a.success))
    bodies = []
    for _ in range(2):
        method, props, body = ch.basic_get(work, auto_ack=True)
        assert method is not None and props.message_id.startswith("d-")
        assert not [k for k in props.headers if "death" in k]
        bodies.append(body)
    assert ch.basic_get(work, auto_ack=True)[0] is None  # each once
    assert sorted(bodies) == sorted([_envelope(10), _envelope(11)])
    conn.close()
