"""Kafka connection settings, read from EVENTLAB_KAFKA_* and never shown with their secrets.

`KafkaConfig` is what every Kafka adapter takes. Passwords live in `Secret` (its repr and str
are masked) and reach kafka-python only as `_MaskedStr`, a str whose repr is masked too, so a
client's own debug log of its configuration does not print them either. `kafka_errors` is the
one place that turns kafka-python exceptions into `eventlab.errors` with the bootstrap named.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import kafka.errors as kerr

from eventlab.errors import BrokerUnavailable, SourceError

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

#: Environment variables read by `KafkaConfig.from_env`, with what each one sets.
ENV_VARS: dict[str, str] = {
    "EVENTLAB_KAFKA_BOOTSTRAP": "bootstrap servers, host:port[,host:port] (default 127.0.0.1:9092)",
    "EVENTLAB_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL",
    "EVENTLAB_KAFKA_SASL_MECHANISM": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    "EVENTLAB_KAFKA_SASL_USERNAME": "SASL user name",
    "EVENTLAB_KAFKA_SASL_PASSWORD": "SASL password (secret: never logged or shown)",
    "EVENTLAB_KAFKA_SSL_CAFILE": "CA bundle (PEM) to verify the brokers",
    "EVENTLAB_KAFKA_SSL_CERTFILE": "client certificate (PEM) for mutual TLS",
    "EVENTLAB_KAFKA_SSL_KEYFILE": "client private key (PEM) for mutual TLS",
    "EVENTLAB_KAFKA_SSL_PASSWORD": "password of the client key (secret)",
    "EVENTLAB_KAFKA_SSL_CHECK_HOSTNAME": "verify the broker host name (default true)",
    "EVENTLAB_KAFKA_CLIENT_ID": "client id shown in broker logs (default eventlab)",
    "EVENTLAB_KAFKA_TIMEOUT_S": "seconds before an unreachable broker is reported (default 8)",
}

_MASK = "***"


class Secret:
    """A secret string: `reveal()` gives it back; repr, str and format never do."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for handing to the Kafka client only."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _MaskedStr(str):
    """A str that works as the password inside kafka-python but prints as *** in its logs."""

    def __repr__(self) -> str:
        return repr(_MASK)


def _secret(value: Secret | str | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def _flag(name: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise SourceError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class KafkaConfig:
    """Where Kafka is and how to authenticate. Secrets are `Secret`, masked everywhere."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: Secret | None = None
    ssl_check_hostname: bool = True
    client_id: str = "eventlab"
    timeout_s: float = 8.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sasl_password", _secret(self.sasl_password))
        object.__setattr__(self, "ssl_password", _secret(self.ssl_password))
        object.__setattr__(self, "security_protocol", self.security_protocol.strip().upper())
        if not self.bootstrap.strip():
            raise SourceError("Kafka bootstrap is empty: set EVENTLAB_KAFKA_BOOTSTRAP=host:port")
        if self.security_protocol not in PROTOCOLS:
            raise SourceError(
                f"unknown Kafka security protocol {self.security_protocol!r}: "
                f"use one of {', '.join(PROTOCOLS)} (EVENTLAB_KAFKA_SECURITY_PROTOCOL)")
        if self.security_protocol.startswith("SASL"):
            mech = (self.sasl_mechanism or "").upper()
            if mech not in SASL_MECHANISMS:
                raise SourceError(
                    f"{self.security_protocol} needs EVENTLAB_KAFKA_SASL_MECHANISM set to one of "
                    f"{', '.join(SASL_MECHANISMS)}")
            object.__setattr__(self, "sasl_mechanism", mech)
            if not self.sasl_username or self.sasl_password is None:
                raise SourceError(
                    f"{self.security_protocol} needs EVENTLAB_KAFKA_SASL_USERNAME and "
                    "EVENTLAB_KAFKA_SASL_PASSWORD")
        if not 1.0 <= self.timeout_s <= 300.0:
            raise SourceError(f"Kafka timeout must be 1-300 s, not {self.timeout_s}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaConfig:
        """Settings from EVENTLAB_KAFKA_* (see `ENV_VARS`); unset keys keep their defaults."""
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(f"EVENTLAB_KAFKA_{key}")
            return value.strip() if value is not None and value.strip() else None

        kwargs: dict[str, Any] = {}
        plain = {
            "BOOTSTRAP": "bootstrap", "SECURITY_PROTOCOL": "security_protocol",
            "SASL_MECHANISM": "sasl_mechanism", "SASL_USERNAME": "sasl_username",
            "SSL_CAFILE": "ssl_cafile", "SSL_CERTFILE": "ssl_certfile",
            "SSL_KEYFILE": "ssl_keyfile", "CLIENT_ID": "client_id",
        }
        for key, attr in plain.items():
            if (value := get(key)) is not None:
                kwargs[attr] = value
        for key, attr in (("SASL_PASSWORD", "sasl_password"), ("SSL_PASSWORD", "ssl_password")):
            raw = env.get(f"EVENTLAB_KAFKA_{key}")
            if raw:  # passwords are taken as they are, spaces included
                kwargs[attr] = Secret(raw)
        if (value := get("SSL_CHECK_HOSTNAME")) is not None:
            kwargs["ssl_check_hostname"] = _flag("EVENTLAB_KAFKA_SSL_CHECK_HOSTNAME", value)
        if (value := get("TIMEOUT_S")) is not None:
            try:
                kwargs["timeout_s"] = float(value)
            except ValueError:
                raise SourceError(
                    f"EVENTLAB_KAFKA_TIMEOUT_S must be a number of seconds, not {value!r}"
                ) from None
        return cls(**kwargs)

    def describe(self) -> str:
        """A one-line summary safe for logs and the UI (no secret)."""
        text = f"{self.bootstrap} ({self.security_protocol}"
        if self.sasl_mechanism and self.security_protocol.startswith("SASL"):
            text += f", {self.sasl_mechanism} as {self.sasl_username}"
        return text + ")"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by every kafka-python client built from these settings."""
        timeout_ms = int(self.timeout_s * 1000)
        kwargs: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap.split(",") if s.strip()],
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": timeout_ms,
            "bootstrap_timeout_ms": timeout_ms,
            "reconnect_backoff_max_ms": 1000,
        }
        if self.security_protocol.startswith("SASL"):
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            assert self.sasl_password is not None  # checked in __post_init__
            kwargs["sasl_plain_password"] = _MaskedStr(self.sasl_password.reveal())
        if self.security_protocol.endswith("SSL"):
            kwargs["ssl_check_hostname"] = self.ssl_check_hostname
            for attr in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                if getattr(self, attr):
                    kwargs[attr] = getattr(self, attr)
            if self.ssl_password is not None:
                kwargs["ssl_password"] = _MaskedStr(self.ssl_password.reveal())
        return kwargs

    def consumer_kwargs(self, isolation_level: str = "read_committed",
                        **overrides: Any) -> dict[str, Any]:
        """A raw-bytes, group-less consumer that never commits and never resets silently.

        No group and no auto-commit: EventLab reads with `assign()` and keeps its own offsets.
        No deserializers: decoding happens in our code, so a bad record cannot throw here.
        `auto_offset_reset='none'`: an expired offset raises instead of jumping elsewhere.
        """
        if isolation_level not in ("read_committed", "read_uncommitted"):
            raise ValueError(f"isolation_level must be read_committed or read_uncommitted, "
                             f"not {isolation_level!r}")
        kwargs = self.client_kwargs()
        kwargs.update(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="none",
            allow_auto_create_topics=False,
            isolation_level=isolation_level,
            key_deserializer=None,
            value_deserializer=None,
            check_crcs=True,
            metrics_enabled=False,
            max_poll_records=10_000,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        kwargs.update(overrides)
        return kwargs


_UNREACHABLE = (kerr.KafkaTimeoutError, kerr.KafkaConnectionError, kerr.NodeNotReadyError,
                kerr.RequestTimedOutError, kerr.BrokerNotAvailableError)
_AUTH = (kerr.SaslAuthenticationFailedError, kerr.UnsupportedSaslMechanismError,
         kerr.IllegalSaslStateError)


def unreachable_message(config: KafkaConfig, doing: str) -> str:
    """The message for a broker that does not answer (also used by the reader's health check)."""
    return (f"Kafka at {config.bootstrap} did not answer within {config.timeout_s:g} s while "
            f"{doing}: check that the broker runs and that the address, port and security "
            "settings (EVENTLAB_KAFKA_BOOTSTRAP, EVENTLAB_KAFKA_SECURITY_PROTOCOL) are right")


def refused_everywhere(config: KafkaConfig, timeout_s: float = 1.0) -> bool:
    """True when every bootstrap address refuses a TCP connection at once (nothing listens
    on its port): there is no point waiting `timeout_s` of kafka-python's bootstrap for it.
    A slow, filtered or unresolvable address is not "refused" (kafka-python decides)."""
    servers = [s.strip() for s in config.bootstrap.split(",") if s.strip()]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not port.isdigit():
            return False
        try:
            socket.create_connection((host.strip("[]") or "localhost", int(port)),
                                     timeout=min(timeout_s, config.timeout_s)).close()
        except ConnectionRefusedError:
            continue
        except OSError:
            return False
        return False
    return bool(servers)


def nobody_listens_message(config: KafkaConfig, doing: str) -> str:
    """The message for a bootstrap whose every address refuses the connection."""
    return (f"Kafka at {config.bootstrap} refused the connection while {doing}: nothing "
            "listens on that port. Start the broker, or correct the bootstrap address")


def refused_message(config: KafkaConfig, doing: str) -> str:
    """The message for a broker that answered and refused the SASL login."""
    return (f"Kafka at {config.bootstrap} refused the login (SASL {config.sasl_mechanism} as "
            f"{config.sasl_username}) while {doing}: check EVENTLAB_KAFKA_SASL_USERNAME, "
            "EVENTLAB_KAFKA_SASL_PASSWORD and EVENTLAB_KAFKA_SASL_MECHANISM")


class _LoginRefusals(logging.Handler):
    """Catches the SASL failures kafka-python 3.x logs while it bootstraps: it retries them
    until its timeout and then raises only `KafkaTimeoutError('Unable to bootstrap ...')`,
    which alone would read as "did not answer" (kafka/net/manager.py, `bootstrap`)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if any(isinstance(a, _AUTH) for a in args):
            self.seen = True


_BOOTSTRAP_LOG = logging.getLogger("kafka.net.manager")


@contextmanager
def kafka_errors(config: KafkaConfig, doing: str) -> Iterator[None]:
    """Turn kafka-python exceptions raised inside into `SourceError`s naming the bootstrap.

    A refused SASL login says so, also when kafka-python reports it only as a bootstrap
    timeout (another client failing its login at the same moment in this process could be
    taken for this one's: the message then still names what to check)."""
    refusals = _LoginRefusals()
    _BOOTSTRAP_LOG.addHandler(refusals)
    try:
        yield
    except SourceError:
        raise
    except _UNREACHABLE as exc:
        if refusals.seen and config.security_protocol.startswith("SASL"):
            raise SourceError(refused_message(config, doing)) from exc
        raise BrokerUnavailable(unreachable_message(config, doing)) from exc
    except _AUTH as exc:
        raise SourceError(refused_message(config, doing)) from exc
    except kerr.TopicAuthorizationFailedError as exc:
        topics = exc.args[0] if exc.args and isinstance(exc.args[0], set | list) else []
        names = ", ".join(sorted(map(str, topics))) or "the topic"
        raise SourceError(
            f"Kafka at {config.bootstrap} does not allow this user to read {names} "
            f"({doing}): ask for READ and DESCRIBE on it") from exc
    except kerr.AuthorizationError as exc:
        raise SourceError(
            f"Kafka at {config.bootstrap} refused an operation while {doing}: "
            f"{type(exc).__name__}; ask the cluster admin for the permission") from exc
    except kerr.KafkaError as exc:
        raise SourceError(
            f"Kafka error while {doing} (bootstrap {config.bootstrap}): "
            f"{type(exc).__name__}: {exc}") from exc
    finally:
        _BOOTSTRAP_LOG.removeHandler(refusals)
