"""Kafka settings for the app: EVENTLAB_KAFKA_*, Streamlit secrets, and the connection form.

Secrets (SASL password, SSL key password) only ever come from the environment or from the
`[kafka]` section of Streamlit secrets; the form can change the non-secret fields only
(bootstrap, security protocol, SASL mechanism, user name). The environment wins over secrets.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventlab.errors import SourceError
from eventlab.kafka.config import ENV_VARS, KafkaConfig

#: Keys of the `[kafka]` secrets section: the EVENTLAB_KAFKA_* names without the prefix.
SECRET_KEYS: tuple[str, ...] = tuple(v.removeprefix("EVENTLAB_KAFKA_").lower() for v in ENV_VARS)


@dataclass(frozen=True)
class FormValues:
    """What the connection form may set: nothing secret."""

    bootstrap: str
    security_protocol: str
    sasl_mechanism: str | None
    sasl_username: str | None


def _as_env(section: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(section) - set(SECRET_KEYS))
    if unknown:
        raise SourceError(f"unknown key(s) {', '.join(unknown)} in the [kafka] section of the "
                          f"Streamlit secrets; use {', '.join(SECRET_KEYS)}")
    env = {}
    for key, value in section.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        env[f"EVENTLAB_KAFKA_{key.upper()}"] = str(value)
    return env


def base_config(secrets: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> KafkaConfig:
    """The configured connection: `[kafka]` secrets overlaid with EVENTLAB_KAFKA_* variables."""
    env = os.environ if env is None else env
    merged = _as_env(secrets or {})
    merged.update({k: v for k, v in env.items() if k.startswith("EVENTLAB_KAFKA_")})
    return KafkaConfig.from_env(merged)


def form_defaults(config: KafkaConfig) -> FormValues:
    """The form's initial values."""
    return FormValues(config.bootstrap, config.security_protocol, config.sasl_mechanism,
                      config.sasl_username)


def with_form(config: KafkaConfig, form: FormValues) -> KafkaConfig:
    """The configured connection with the form's non-secret fields applied (validated)."""
    return dataclasses.replace(
        config, bootstrap=form.bootstrap.strip(), security_protocol=form.security_protocol,
        sasl_mechanism=form.sasl_mechanism or None,
        sasl_username=(form.sasl_username or "").strip() or None)


def secret_status(config: KafkaConfig) -> dict[str, str]:
    """"set" / "not set" per secret, and which TLS files are configured: safe to show."""
    status = {
        "SASL password": "set" if config.sasl_password is not None else "not set",
        "SSL key password": "set" if config.ssl_password is not None else "not set",
    }
    for label, value in (("CA file", config.ssl_cafile), ("client certificate",
                                                         config.ssl_certfile),
                         ("client key", config.ssl_keyfile)):
        status[label] = value or "not set"
    return status
