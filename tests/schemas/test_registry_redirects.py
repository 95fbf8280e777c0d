"""Safety item 36 (issue 17, finding 3): the schema-registry client carries credentials, so
it follows no redirect: a 30x is reported with the origin it points to, and the other host
never sees the Authorization header. Two real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from eventlab.errors import SchemaRegistryUnavailable
from eventlab.schemas.registry import RegistryClient, RegistryConfig

PASSWORD = "registry-Pa55-never-elsewhere"


@contextmanager
def server(answer: Any) -> Iterator[tuple[str, list[dict[str, str | None]]]]:
    """A loopback HTTP server: `answer(path)` gives (status, headers, body); yields its URL
    and the requests it saw (path and Authorization header)."""
    seen: list[dict[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
            code, headers, body = answer(self.path)
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", seen
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_reported_and_the_other_host_gets_no_credentials(code: int) -> None:
    def other(path: str) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, b'["stolen"]'

    with server(other) as (elsewhere, seen_elsewhere):
        def registry(path: str) -> tuple[int, dict[str, str], bytes]:
            return code, {"Location": f"{elsewhere}/collect{path}?k=v"}, b""

        with server(registry) as (url, seen_registry):
            client = RegistryClient(RegistryConfig(url, username="svc", password=PASSWORD))
            with pytest.raises(SchemaRegistryUnavailable) as err:
                client.check()
    assert seen_elsewhere == []  # never asked, so never sent the Authorization header
    assert seen_registry[0]["auth"] == "Basic " + base64.b64encode(
        f"svc:{PASSWORD}".encode()).decode()
    message = str(err.value)
    assert f"redirect (HTTP {code}) to {elsewhere} " in message
    assert "EVENTLAB_SCHEMA_REGISTRY_URL" in message
    assert PASSWORD not in message and "collect" not in message and "k=v" not in message


def test_a_redirect_is_named_by_its_origin_only() -> None:
    """Bearer token, a Location with user info: the message names scheme, host and port.
    (No redirect is followed at all, so an https registry cannot be sent to http either.)"""
    with server(lambda p: (200, {}, b"[]")) as (elsewhere, seen):
        def registry(path: str) -> tuple[int, dict[str, str], bytes]:
            return 302, {"Location": elsewhere.replace("127.0.0.1", "u:p@127.0.0.1")}, b""

        with server(registry) as (url, _):
            client = RegistryClient(RegistryConfig(url, token=PASSWORD))
            with pytest.raises(SchemaRegistryUnavailable, match=f"to {elsewhere} ") as err:
                client.schema(1)
    assert seen == [] and "u:p" not in str(err.value) and PASSWORD not in str(err.value)
