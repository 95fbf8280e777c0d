"""AppTest of the Sources page without Kafka: the connection form, files, uploads, read-only."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptest_support import shown, texts, wait_for
from markdown_text import broker_down_said
from repo_paths import APP
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import AlertBase, Button

from eventlab.ingest.file_ingest import ingest_paths
from eventlab.kafka.broker import free_port
from eventlab.store.eventstore import EventStore

PAGE = "pages/sources_page.py"
SASL_SECRET = "sasl-Pa55-do-not-show"
SSL_SECRET = "ssl-key-pa55-from-secrets"


@pytest.fixture()
def fresh_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "sources.duckdb"
    monkeypatch.setenv("EVENTLAB_DB", str(path))
    monkeypatch.delenv("EVENTLAB_READ_ONLY", raising=False)
    for name in ("BOOTSTRAP", "SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME",
                 "SASL_PASSWORD", "SSL_PASSWORD", "TIMEOUT_S"):
        monkeypatch.delenv(f"EVENTLAB_KAFKA_{name}", raising=False)
    return path


def sources_page(**secrets: Any) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in secrets.items():
        at.secrets[key] = value
    at.switch_page(PAGE)
    return at.run()


def rendered(at: AppTest) -> Iterator[str]:
    """The protobuf of every element and block the page sent: what a browser could see."""
    def walk(node: Any) -> Iterator[str]:
        proto = getattr(node, "proto", None)
        if proto is not None:
            yield str(proto)
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    yield from walk(at._tree)  # noqa: SLF001


def test_form_shows_defaults_and_never_the_secrets(fresh_db: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_KAFKA_BOOTSTRAP", "kafka-1.internal:9093")
    monkeypatch.setenv("EVENTLAB_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("EVENTLAB_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("EVENTLAB_KAFKA_SASL_USERNAME", "alice")
    monkeypatch.setenv("EVENTLAB_KAFKA_SASL_PASSWORD", SASL_SECRET)
    at = sources_page(kafka={"ssl_password": SSL_SECRET, "ssl_cafile": "/etc/ca.pem",
                             "bootstrap": "overridden-by-env:1"})
    assert not at.exception
    assert at.text_input(key="k_bootstrap").value == "kafka-1.internal:9093"
    assert at.selectbox(key="k_protocol").value == "SASL_SSL"
    assert at.selectbox(key="k_mechanism").value == "SCRAM-SHA-512"
    assert at.text_input(key="k_user").value == "alice"
    status = " ".join(texts(at.caption))
    assert "SASL password: **set**" in status and "SSL key password: **set**" in status
    assert "/etc/ca.pem" in status
    pages = list(rendered(at))
    assert pages and any("kafka-1.internal:9093" in p for p in pages)
    for secret in (SASL_SECRET, SSL_SECRET):
        assert not [p for p in pages if secret in p]
        assert secret not in repr(at.session_state)
    assert not dict(at.query_params)


def test_password_not_set_is_said(fresh_db: Path) -> None:
    at = sources_page()
    status = " ".join(texts(at.caption))
    assert "SASL password: **not set**" in status
    assert at.text_input(key="k_bootstrap").value == "127.0.0.1:9092"


def test_unreachable_broker_is_a_clear_error_and_the_app_goes_on(
        fresh_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_KAFKA_TIMEOUT_S", "2")
    bootstrap = f"127.0.0.1:{free_port()}"
    at = sources_page()
    at.text_input(key="k_bootstrap").input(bootstrap)
    began = time.monotonic()
    at.button(key="k_connect").click().run()
    assert time.monotonic() - began < 10
    assert not at.exception
    errors = texts(at.error)
    assert any(bootstrap in e and broker_down_said(e) for e in errors), errors
    assert not at.multiselect  # no topic form without a listing
    at.text_input(key="f_path").input("/nowhere/at/all.parquet").run()
    assert not at.exception
    at.switch_page("pages/sql_page.py").run()
    assert not at.exception and at.text_area(key="sql")


def test_path_job_loads_the_demo_export(fresh_db: Path, demo_export: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(demo_export))
    at = sources_page()
    at.text_input(key="f_path").input(str(demo_export)).run()
    at.button(key="f_go").click().run()
    assert not at.exception
    at = wait_for(at, lambda a: any("stored" in s.value for s in a.success))
    summary = next(s.value for s in at.success if "stored" in s.value)
    with EventStore(fresh_db) as store:
        events = store.stats().events
    assert events > 0 and f"{events:,} stored" in summary.replace("\\", "")
    # The job is shown to a new session too (state lives in the server, not the tab).
    again = sources_page()
    assert any(f"{events:,} stored" in s.value.replace("\\", "") for s in again.success)
    # Loading again adds nothing, and says so.
    again.text_input(key="f_path").input(str(demo_export)).run()
    again.button(key="f_go").click().run()
    again = wait_for(again, lambda a: any("unchanged since they were loaded" in s.value
                                          for s in a.success))
    with EventStore(fresh_db) as store:
        assert store.stats().events == events


def test_path_outside_the_data_folders_is_refused_on_the_page(
        fresh_db: Path, demo_export: Path) -> None:
    """Safety item 35: without EVENTLAB_DATA_DIRS only data/ beside the database is open."""
    at = sources_page()
    at.text_input(key="f_path").input(str(demo_export)).run()
    at.button(key="f_go").click().run()
    assert not at.exception
    errors = texts(at.error)
    assert any(str(demo_export) in e and "outside the data folders" in e for e in errors), errors
    with EventStore(fresh_db) as store:
        assert store.stats().events == 0


def test_upload_is_saved_and_loaded(fresh_db: Path) -> None:
    lines = "".join(f'{{"entity_id": "cart-{i}", "event_type": "CartOpened", '
                    f'"ts": "2026-03-0{i + 1}T10:00:00Z", "amount": {i}}}\n' for i in range(3))
    at = sources_page()
    at.file_uploader(key="u_file").set_value(("carts.jsonl", lines.encode(),
                                              "application/jsonl")).run()
    at.button(key="u_go").click().run()
    assert not at.exception, at.exception
    wait_for(at, lambda a: any("3 stored" in s.value for s in a.success))
    saved = list((fresh_db.parent / "uploads").glob("*-carts.jsonl"))
    assert len(saved) == 1 and saved[0].read_text() == lines
    with EventStore(fresh_db) as store:
        assert store.stats().events == 3


def test_upload_over_the_cap_is_refused(fresh_db: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_UPLOAD_MAX_MB", "1")
    at = sources_page()
    at.file_uploader(key="u_file").set_value(("big.csv", b"a,b\n" + b"1,2\n" * 300_000,
                                              "text/csv")).run()
    at.button(key="u_go").click().run()
    assert any("over the upload limit of 1 MB" in e.value for e in at.error)
    assert not (fresh_db.parent / "uploads").exists()


def test_read_only_mode_disables_loading(fresh_db: Path, demo_export: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAB_READ_ONLY", "1")
    at = sources_page()
    assert not at.exception
    assert any("Read-only mode" in i.value for i in at.info)
    at.text_input(key="f_path").input(str(demo_export)).run()
    assert at.button(key="f_go").disabled and at.button(key="u_go").disabled
    assert at.file_uploader(key="u_file").disabled


def test_an_export_loaded_back_skips_stored_ids_or_loads_copies(fresh_db: Path) -> None:
    lines = "".join(f'{{"event_id": "ev-{i}", "entity_id": "cart-{i}", "event_type": '
                    f'"CartOpened", "ts": "2026-03-0{i + 1}T10:00:00Z"}}\n' for i in range(3))

    def upload(at: AppTest, name: str, data: str) -> AppTest:
        at.file_uploader(key="u_file").set_value((name, data.encode(), "application/jsonl"))
        at.run()
        at.button(key="u_go").click().run()
        assert not at.exception, at.exception
        return at

    def events() -> int:
        with EventStore(fresh_db) as store:
            return store.stats().events

    at = upload(sources_page(), "carts.jsonl", lines)
    at = wait_for(at, lambda a: any("3 stored" in s.value for s in a.success))
    assert at.radio(key="u_duplicates").value == "skip ids already stored"  # the default
    at = upload(at, "back.jsonl", lines + "\n")  # the same events from another file
    at = wait_for(at, lambda a: any("already stored (skipped: ids" in s for s in texts(a.success)))
    assert events() == 3
    at.radio(key="u_duplicates").set_value("load as copies").run()
    at = upload(at, "copies.jsonl", lines + "\n\n")
    wait_for(at, lambda a: any("already stored (loaded as copies)" in s for s in texts(a.success)))
    assert events() == 6


def _order(at: AppTest) -> list[str]:
    """The page's buttons (by key) and alerts (by text) in the order a browser shows them."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Button):
            out.append(f"button:{node.key}")
        elif isinstance(node, AlertBase):
            out.append(f"alert:{shown(node.value)}")
        for child in getattr(node, "children", {}).values():
            walk(child)
    walk(at.main)
    return out


def test_check_says_how_many_ids_are_stored_before_loading_a_path(
        fresh_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("EVENTLAB_DATA_DIRS", str(data))
    first = data / "first.jsonl"
    first.write_text("".join(
        f'{{"event_id": "ev-{i}", "entity_id": "cart-{i}", "event_type": "CartOpened", '
        f'"ts": "2026-03-0{i + 1}T10:00:00Z"}}\n' for i in range(4)))
    with EventStore(fresh_db) as store:
        ingest_paths(store, [str(first)])
    back = data / "back"
    back.mkdir()
    (back / "export.jsonl").write_text(first.read_text().replace("ev-3", "ev-new"))
    at = sources_page()
    at.text_input(key="f_path").input(str(back)).run()
    assert not at.warning  # nothing said before the check
    at.button(key="f_check").click().run()
    assert not at.exception, at.exception
    said = texts(at.warning)
    assert any(s.startswith(f"3 of 4 rows have an event id already stored (from: {first} (3))")
               and "load as copies" in s for s in said), said
    order = _order(at)
    warning = next(i for i, e in enumerate(order) if "already stored (from:" in e)
    assert warning < order.index("button:f_go")  # said above the Load button
    with EventStore(fresh_db) as store:  # the check stored nothing
        assert store.stats().events == 4
        with store.reading() as cur:
            assert cur.execute("SELECT count(*) FROM ingested_files").fetchall() == [(1,)]
    # Another format chosen: the result no longer applies and is not shown.
    at.selectbox(key="f_format").set_value("parquet").run()
    assert not any("already stored (from:" in s for s in texts(at.warning))


def test_check_of_an_upload_loaded_back(fresh_db: Path) -> None:
    lines = "".join(f'{{"event_id": "ev-{i}", "entity_id": "cart-{i}", "event_type": '
                    f'"CartOpened", "ts": "2026-03-0{i + 1}T10:00:00Z"}}\n' for i in range(3))
    at = sources_page()
    at.file_uploader(key="u_file").set_value(("carts.jsonl", lines.encode(),
                                              "application/jsonl")).run()
    at.button(key="u_check").click().run()
    assert any(s.startswith("0 of 3 rows have an event id already stored.")
               for s in texts(at.info)), texts(at.info)
    at.button(key="u_go").click().run()
    at = wait_for(at, lambda a: any("3 stored" in s.value for s in a.success))
    at.file_uploader(key="u_file").set_value(("back.jsonl", (lines + "\n").encode(),
                                              "application/jsonl")).run()
    at.button(key="u_check").click().run()
    assert not at.exception, at.exception
    assert any(s.startswith("3 of 3 rows have an event id already stored (from: ")
               and "carts.jsonl (3))" in s for s in texts(at.warning)), texts(at.warning)
    with EventStore(fresh_db) as store:
        assert store.stats().events == 3
