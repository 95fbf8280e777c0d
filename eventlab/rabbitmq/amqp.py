"""AMQP 0.9.1 connections (pika) with bounded timeouts and our errors: the one place that opens
them for queues, taps and dead-letter queues."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from typing import Any

import pika
from pika import exceptions as pexc

from eventlab.errors import BrokerUnavailable, SourceError
from eventlab.rabbitmq.config import RabbitConfig

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def amqp_error(config: RabbitConfig, exc: BaseException, doing: str) -> SourceError:
    """Our error for a pika exception, each cause said as such (no secret in it)."""
    where = f"RabbitMQ at {config.host}:{config.port} (vhost {config.vhost!r})"
    if isinstance(exc, pexc.ProbableAuthenticationError | pexc.AuthenticationError):
        return SourceError(f"{where} refused the login of user {config.user!r} while {doing}: "
                           "check EVENTLAB_RABBITMQ_USER and EVENTLAB_RABBITMQ_PASSWORD")
    if isinstance(exc, pexc.ProbableAccessDeniedError):
        return SourceError(f"{where}: the virtual host {config.vhost!r} does not exist or user "
                           f"{config.user!r} may not use it ({doing})")
    if isinstance(exc, pexc.ChannelClosedByBroker):
        if exc.reply_code == 404:
            return SourceError(f"{where}: not found while {doing}: {exc.reply_text}")
        return SourceError(f"{where} refused {doing}: {exc.reply_code} {exc.reply_text}")
    if isinstance(exc, pexc.AMQPConnectionError | OSError):
        return BrokerUnavailable(f"{where} did not accept a connection while {doing}: is it "
                                 "running? Check EVENTLAB_RABBITMQ_HOST and "
                                 "EVENTLAB_RABBITMQ_PORT")
    return SourceError(f"RabbitMQ error while {doing} ({where}): {type(exc).__name__}: {exc}")


def parameters(config: RabbitConfig) -> pika.ConnectionParameters:
    """pika's connection parameters for `config` (the password revealed only here)."""
    ctx = config.ssl_context()
    return pika.ConnectionParameters(
        config.host, config.port, config.vhost,
        pika.PlainCredentials(config.user, config.password.reveal()),
        ssl_options=pika.SSLOptions(ctx, config.host) if ctx is not None else None,
        socket_timeout=config.timeout_s, blocked_connection_timeout=config.timeout_s,
        stack_timeout=config.timeout_s, connection_attempts=1,
        client_properties={"connection_name": "eventlab"})


@contextlib.contextmanager
def channel(config: RabbitConfig, doing: str) -> Iterator[Any]:
    """A channel on a fresh connection, closed (with the connection) on the way out."""
    try:
        conn = pika.BlockingConnection(parameters(config))
    except Exception as exc:  # noqa: BLE001 - translated at the boundary
        raise amqp_error(config, exc, doing) from exc
    try:
        yield conn.channel()
    except (pexc.AMQPError, OSError) as exc:
        raise amqp_error(config, exc, doing) from exc
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def management_get(config: RabbitConfig, path: str, port: int) -> Any:
    """GET a management API path on a loopback host (JSON); no redirect is followed."""
    if config.host not in LOOPBACK:
        raise SourceError(f"the management API is used on loopback only, not on {config.host}")

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    url = f"http://{config.host}:{port}/api/{path}"
    auth = b64encode(f"{config.user}:{config.password.reveal()}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {auth}"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=config.timeout_s) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise SourceError(f"the management API at {config.host}:{port} answered "
                          f"{exc.code} for {path}") from None
    except (OSError, ValueError) as exc:
        raise BrokerUnavailable(f"the management API at {config.host}:{port} did not answer "
                                f"({type(exc).__name__}): check "
                                "EVENTLAB_RABBITMQ_MANAGEMENT_PORT") from None


def quote(name: str) -> str:
    """A vhost or queue name as one management API path segment."""
    return urllib.parse.quote(name, safe="")
