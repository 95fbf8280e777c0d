"""A schema registry's read endpoints over HTTP (Confluent's API, which Karapace, Redpanda and
Apicurio's compatibility layer also serve), with urllib only.

Settings come from EVENTLAB_SCHEMA_REGISTRY_* or the `[schema_registry]` section of Streamlit
secrets (the environment wins). The password and the bearer token are `Secret`s: they go into
the Authorization header only, never into a URL, a message, a log or the store. A URL with
credentials in it (`https://user:pass@host`) is refused. Every request has a bounded timeout;
an error names the registry (its URL without credentials) and what to do next. Redirects are
not followed (docs/safety.md, item 36): urllib would resend the Authorization header to
wherever the registry points, another host or plain http; a redirect is reported with the
origin it points to, so a person can set the URL to it.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventlab.errors import SchemaNotFound, SchemaRegistryUnavailable, SourceError
from eventlab.kafka.config import Secret
from eventlab.schemas.model import TYPES, Reference, SchemaText

#: Environment variables read by `RegistryConfig.from_env`, with what each one sets.
ENV_VARS: dict[str, str] = {
    "EVENTLAB_SCHEMA_REGISTRY_URL": "schema registry base URL, e.g. https://registry:8081",
    "EVENTLAB_SCHEMA_REGISTRY_USERNAME": "basic-auth user name (or API key)",
    "EVENTLAB_SCHEMA_REGISTRY_PASSWORD": "basic-auth password (or API secret; secret)",
    "EVENTLAB_SCHEMA_REGISTRY_TOKEN": "bearer token instead of basic auth (secret)",
    "EVENTLAB_SCHEMA_REGISTRY_CAFILE": "CA bundle (PEM) to verify the registry",
    "EVENTLAB_SCHEMA_REGISTRY_CERTFILE": "client certificate (PEM) for mutual TLS",
    "EVENTLAB_SCHEMA_REGISTRY_KEYFILE": "client private key (PEM) for mutual TLS",
    "EVENTLAB_SCHEMA_REGISTRY_CHECK_HOSTNAME": "verify the registry host name (default true)",
    "EVENTLAB_SCHEMA_REGISTRY_TIMEOUT_S": "seconds per request before the registry is "
                                          "reported unreachable (default 5)",
}
SECRET_KEYS: tuple[str, ...] = tuple(
    v.removeprefix("EVENTLAB_SCHEMA_REGISTRY_").lower() for v in ENV_VARS)
"""Keys of the `[schema_registry]` Streamlit secrets section."""


@dataclass(frozen=True)
class RegistryConfig:
    """Where the registry is and how to log in. Secrets are `Secret`, masked everywhere."""

    url: str
    username: str | None = None
    password: Secret | None = None
    token: Secret | None = None
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    check_hostname: bool = True
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"EVENTLAB_SCHEMA_REGISTRY_URL must be http(s)://host[:port], "
                              f"not {self.describe_url(self.url)!r}")
        if parts.username or parts.password:
            raise SourceError(
                "the schema registry URL holds credentials: put the user name and password "
                "in EVENTLAB_SCHEMA_REGISTRY_USERNAME / _PASSWORD (or _TOKEN) instead")
        object.__setattr__(self, "url", self.url.strip().rstrip("/"))
        for attr in ("password", "token"):
            value = getattr(self, attr)
            if isinstance(value, str):
                object.__setattr__(self, attr, Secret(value))
        if self.password is not None and not self.username:
            raise SourceError("EVENTLAB_SCHEMA_REGISTRY_PASSWORD needs _USERNAME too")
        if not 0.5 <= self.timeout_s <= 120:
            raise SourceError(f"schema registry timeout must be 0.5-120 s, not {self.timeout_s}")

    @staticmethod
    def describe_url(url: str) -> str:
        """A URL with any user info cut out (safe to show)."""
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 secrets: Mapping[str, Any] | None = None) -> RegistryConfig | None:
        """The configured registry, or None when no URL is set. `secrets` is the
        `[schema_registry]` section of Streamlit secrets; the environment wins over it."""
        env = os.environ if env is None else env
        merged: dict[str, str] = {}
        unknown = sorted(set(secrets or {}) - set(SECRET_KEYS))
        if unknown:
            raise SourceError(f"unknown key(s) {', '.join(unknown)} in the [schema_registry] "
                              f"section of the Streamlit secrets; use {', '.join(SECRET_KEYS)}")
        for key, value in (secrets or {}).items():
            merged[key.upper()] = ("true" if value else "false") if isinstance(value, bool) \
                else str(value)
        prefix = "EVENTLAB_SCHEMA_REGISTRY_"
        merged.update({k[len(prefix):]: v for k, v in env.items()
                       if k.startswith(prefix) and v.strip()})
        if not merged.get("URL", "").strip():
            return None
        kwargs: dict[str, Any] = {"url": merged["URL"]}
        for key in ("USERNAME", "CAFILE", "CERTFILE", "KEYFILE"):
            if merged.get(key, "").strip():
                kwargs[key.lower()] = merged[key].strip()
        for key in ("PASSWORD", "TOKEN"):
            if merged.get(key):
                kwargs[key.lower()] = Secret(merged[key])
        if "CHECK_HOSTNAME" in merged:
            kwargs["check_hostname"] = merged["CHECK_HOSTNAME"].strip().lower() not in (
                "0", "false", "no", "off")
        if "TIMEOUT_S" in merged:
            try:
                kwargs["timeout_s"] = float(merged["TIMEOUT_S"])
            except ValueError:
                raise SourceError("EVENTLAB_SCHEMA_REGISTRY_TIMEOUT_S must be a number of "
                                  f"seconds, not {merged['TIMEOUT_S']!r}") from None
        return cls(**kwargs)

    def describe(self) -> str:
        """One line, safe for logs and the UI: URL and how it logs in (no secret)."""
        auth = ("bearer token" if self.token is not None else
                f"basic auth as {self.username}" if self.username else "no login")
        return f"{self.url} ({auth})"

    def headers(self) -> dict[str, str]:
        """The request headers, Authorization included (never logged)."""
        headers = {"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.reveal()}"
        elif self.username:
            pw = self.password.reveal() if self.password is not None else ""
            raw = base64.b64encode(f"{self.username}:{pw}".encode()).decode()
            headers["Authorization"] = f"Basic {raw}"
        return headers

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings for https URLs (system CAs unless a CA file is given)."""
        if not self.url.startswith("https:"):
            return None
        ctx = ssl.create_default_context(cafile=self.cafile)
        ctx.check_hostname = self.check_hostname
        if not self.check_hostname:
            ctx.verify_mode = ssl.CERT_REQUIRED
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: the request carries credentials (the 3xx becomes an HTTPError)."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None


def _origin(base: str, location: str | None) -> str:
    """scheme://host[:port] of a redirect's target (no user info, path or query: no secret)."""
    if not location:
        return "no location"
    parts = urllib.parse.urlsplit(urllib.parse.urljoin(base, location))
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}" if parts.scheme and host else "an unreadable location"


class RegistryClient:
    """Reads schemas by id (and their references by subject/version) from one registry."""

    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self._ssl = config.ssl_context()
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self._ssl), _NoRedirect)

    def _get(self, path: str, what: str) -> Any:
        url = self.config.url + path
        request = urllib.request.Request(url, headers=self.config.headers())
        where = f"the schema registry at {self.config.url}"
        try:
            with self._opener.open(request, timeout=self.config.timeout_s) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                target = _origin(url, exc.headers.get("Location") if exc.headers else None)
                raise SchemaRegistryUnavailable(
                    f"{where} answered a redirect (HTTP {exc.code}) to {target} while reading "
                    f"{what}; EventLab does not follow redirects with the registry's "
                    "credentials: if that is the registry, set EVENTLAB_SCHEMA_REGISTRY_URL "
                    "to it") from None
            if exc.code == 404:
                raise SchemaNotFound(f"{where} has no {what} (HTTP 404)") from None
            if exc.code in (401, 403):
                raise SchemaRegistryUnavailable(
                    f"{where} refused the login (HTTP {exc.code}) while reading {what}: check "
                    "EVENTLAB_SCHEMA_REGISTRY_USERNAME / _PASSWORD or _TOKEN") from None
            raise SchemaRegistryUnavailable(
                f"{where} answered HTTP {exc.code} while reading {what}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SchemaRegistryUnavailable(
                f"{where} did not answer within {self.config.timeout_s:g} s while reading "
                f"{what} ({type(reason).__name__}: {reason}): check that it runs and "
                "EVENTLAB_SCHEMA_REGISTRY_URL; the records wait in the quarantine "
                "(`eventlab requeue-quarantine` decodes them later)") from None
        except ValueError:
            raise SchemaRegistryUnavailable(f"{where} sent something that is not JSON while "
                                            f"reading {what}") from None

    def check(self) -> int:
        """The number of subjects (a cheap request that proves the connection and login)."""
        return len(self._get("/subjects", "the subject list"))

    def schema(self, schema_id: int) -> SchemaText:
        """The schema with this id, its references resolved transitively."""
        body = self._get(f"/schemas/ids/{int(schema_id)}", f"schema id {schema_id}")
        subject = version = None
        try:  # where it is registered (the first subject/version): shown, not needed
            found = self._get(f"/schemas/ids/{int(schema_id)}/versions",
                              f"the subjects of schema id {schema_id}")
            if found:
                subject, version = found[0]["subject"], int(found[0]["version"])
        except (SchemaNotFound, SchemaRegistryUnavailable, KeyError, TypeError, ValueError):
            pass
        return self._resolve(body, schema_id, subject, version)

    def version(self, subject: str, version: int) -> SchemaText:
        """The schema registered as `version` of `subject`, references resolved."""
        return self._resolve(self._version_body(subject, version), None, subject, version)

    def _version_body(self, subject: str, version: int) -> dict[str, Any]:
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions/{int(version)}"
        return self._get(path, f"version {version} of subject {subject!r}")

    def _resolve(self, body: dict[str, Any], schema_id: int | None, subject: str | None,
                 version: int | None, depth: int = 0) -> SchemaText:
        kind = (body.get("schemaType") or "AVRO").upper()
        if kind not in TYPES:
            raise SchemaRegistryUnavailable(f"schema id {schema_id} has type {kind!r}, which "
                                            f"EventLab does not decode ({', '.join(TYPES)})")
        if depth > 20:
            raise SchemaRegistryUnavailable(f"schema id {schema_id}: references nest too deep")
        refs = tuple(Reference(r["name"], r["subject"], int(r["version"]))
                     for r in body.get("references") or [])
        deps: dict[str, SchemaText] = {}
        for ref in refs:
            dep = self._resolve(self._version_body(ref.subject, ref.version), None,
                                ref.subject, ref.version, depth + 1)
            deps.update(dep.dependencies)
            deps[ref.name] = dep
        return SchemaText(schema_id if schema_id is not None else body.get("id"), kind,
                          body["schema"], subject or body.get("subject"),
                          version or body.get("version"), refs, deps, self.config.url)
