"""RabbitMQ connection settings, read from EVENTLAB_RABBITMQ_* and never shown with their secrets.

`RabbitConfig` is what every RabbitMQ adapter takes (streams now; queues, taps, lag and
republish later). The password is a `Secret` (the one of `kafka.config`), revealed only when a
client is built (`streams.open_consumer`). `broker_id` names the broker in stored positions.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventlab.errors import SourceError
from eventlab.kafka.config import Secret, _flag

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5672
DEFAULT_STREAM_PORT = 5552

#: Environment variables read by `RabbitConfig.from_env`, with what each one sets.
ENV_VARS: dict[str, str] = {
    "EVENTLAB_RABBITMQ_HOST": "RabbitMQ host (default 127.0.0.1)",
    "EVENTLAB_RABBITMQ_PORT": "AMQP 0.9.1 port, for queues and exchanges (default 5672)",
    "EVENTLAB_RABBITMQ_STREAM_PORT": "stream protocol port (default 5552)",
    "EVENTLAB_RABBITMQ_VHOST": "virtual host (default /)",
    "EVENTLAB_RABBITMQ_USER": "user name (default guest)",
    "EVENTLAB_RABBITMQ_PASSWORD": "password (secret: never logged, stored or shown; default guest)",
    "EVENTLAB_RABBITMQ_TLS": "connect with TLS (default false)",
    "EVENTLAB_RABBITMQ_CAFILE": "CA bundle (PEM) to verify the server under TLS",
    "EVENTLAB_RABBITMQ_TIMEOUT_S": "seconds before an unreachable server is reported (default 8)",
    "EVENTLAB_RABBITMQ_MANAGEMENT_PORT": "management API port, used on loopback only for queue "
                                         "depths and tap sizes (default 15672)",
    "EVENTLAB_RABBITMQ_NODE": "Erlang node name (rabbit@host) for quorum-queue peek through "
                              "rabbitmq-queues; the cookie is the user's ~/.erlang.cookie",
}


@dataclass(frozen=True)
class RabbitConfig:
    """Where RabbitMQ is and how to log in. The password is a `Secret`, masked everywhere."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    stream_port: int = DEFAULT_STREAM_PORT
    vhost: str = "/"
    user: str = "guest"
    password: Secret = Secret("guest")
    tls: bool = False
    cafile: str | None = None
    timeout_s: float = 8.0
    management_port: int = 15672
    node: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.password, Secret):
            object.__setattr__(self, "password", Secret(str(self.password)))
        if not self.host.strip():
            raise SourceError("RabbitMQ host is empty: set EVENTLAB_RABBITMQ_HOST")
        for name in ("port", "stream_port"):
            if not 0 < getattr(self, name) < 65536:
                raise SourceError(f"RabbitMQ {name} must be 1-65535, not {getattr(self, name)}")
        if not 1.0 <= self.timeout_s <= 300.0:
            raise SourceError(f"RabbitMQ timeout must be 1-300 s, not {self.timeout_s}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RabbitConfig:
        """Settings from EVENTLAB_RABBITMQ_* (see `ENV_VARS`); unset keys keep their defaults."""
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(f"EVENTLAB_RABBITMQ_{key}")
            return value.strip() if value is not None and value.strip() else None

        kwargs: dict[str, Any] = {}
        for key, attr in (("HOST", "host"), ("VHOST", "vhost"), ("USER", "user"),
                          ("CAFILE", "cafile"), ("NODE", "node")):
            if (value := get(key)) is not None:
                kwargs[attr] = value
        for key, attr, kind in (("PORT", "port", int), ("STREAM_PORT", "stream_port", int),
                                ("TIMEOUT_S", "timeout_s", float),
                                ("MANAGEMENT_PORT", "management_port", int)):
            if (value := get(key)) is not None:
                try:
                    kwargs[attr] = kind(value)
                except ValueError:
                    raise SourceError(f"EVENTLAB_RABBITMQ_{key} must be a number, not "
                                      f"{value!r}") from None
        if raw := env.get("EVENTLAB_RABBITMQ_PASSWORD"):  # taken as it is, spaces included
            kwargs["password"] = Secret(raw)
        if (value := get("TLS")) is not None:
            kwargs["tls"] = _flag("EVENTLAB_RABBITMQ_TLS", value)
        return cls(**kwargs)

    @property
    def broker_id(self) -> str:
        """The broker as stored positions name it: host:stream_port/vhost (no user, no secret)."""
        vhost = self.vhost if self.vhost.startswith("/") else "/" + self.vhost
        return f"{self.host}:{self.stream_port}{vhost}"

    def describe(self) -> str:
        """A one-line summary safe for logs and the UI (no secret)."""
        tls = ", TLS" if self.tls else ""
        return (f"RabbitMQ {self.host} (AMQP {self.port}, streams {self.stream_port}{tls}), "
                f"vhost {self.vhost!r} as {self.user}")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for both clients, or None without TLS."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=self.cafile)
