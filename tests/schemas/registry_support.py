"""A stand-in schema registry for tests: a small HTTP server on 127.0.0.1 that answers the
registry's read endpoints (`/schemas/ids/{id}`, `/subjects/{s}/versions/{v}`, `/subjects`)
from what confluent-kafka's `mock://` client registered while its serializers produced."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Registry:
    """What the server saw and serves: `client` (a confluent mock client), request log,
    optional texts that replace what the client registered (a real registry turns a
    serialized Protobuf descriptor into .proto text; the mock does not)."""

    def __init__(self, client: Any, texts: dict[str, str] | None = None,
                 require_auth: str | None = None) -> None:
        self.client = client
        self.texts = texts or {}
        self.require_auth = require_auth
        self.requests: list[tuple[str, str | None]] = []

    def _text(self, schema: Any, name: str | None) -> str:
        return self.texts.get(name or "", schema.schema_str)

    def answer(self, path: str) -> tuple[int, Any]:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        try:
            if parts[:2] == ["schemas", "ids"] and len(parts) == 3:
                schema = self.client.get_schema(int(parts[2]))
                subject = next((s for s in self.client.get_subjects() for v in
                                self.client.get_versions(s) if
                                self.client.get_version(s, v).schema_id == int(parts[2])), None)
                return 200, self._body(schema, subject)
            if parts[:2] == ["schemas", "ids"] and parts[3:] == ["versions"]:
                return 200, [{"subject": s, "version": v} for s in self.client.get_subjects()
                             for v in self.client.get_versions(s)
                             if self.client.get_version(s, v).schema_id == int(parts[2])]
            if parts[0] == "subjects" and len(parts) == 1:
                return 200, self.client.get_subjects()
            if parts[0] == "subjects" and len(parts) == 4 and parts[2] == "versions":
                reg = self.client.get_version(parts[1], int(parts[3]))
                return 200, {"subject": reg.subject, "version": reg.version,
                             "id": reg.schema_id, **self._body(reg.schema, reg.subject)}
        except Exception:  # noqa: BLE001 - the mock raises its own "not found" errors
            return 404, {"error_code": 40403, "message": "Schema not found"}
        return 404, {"error_code": 404, "message": "no such endpoint"}

    def _body(self, schema: Any, subject: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"schema": self._text(schema, subject)}
        if schema.schema_type != "AVRO":
            body["schemaType"] = schema.schema_type
        if schema.references:
            body["references"] = [{"name": r.name, "subject": r.subject, "version": r.version}
                                  for r in schema.references]
        return body


@contextmanager
def serve(registry: Registry) -> Iterator[str]:
    """Serve `registry` on a free loopback port; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            auth = self.headers.get("Authorization")
            registry.requests.append((self.path, auth))
            if registry.require_auth and auth != registry.require_auth:
                code, body = 401, {"error_code": 401, "message": "Unauthorized"}
            else:
                code, body = registry.answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
