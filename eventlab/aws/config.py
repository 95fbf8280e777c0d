"""AWS connection settings, read from EVENTLAB_AWS_*; credentials come from boto3's own chain.

`AwsConfig` is what every AWS adapter takes (taps, ingest, peek, depth, republish). It holds no
secret: credentials are found by boto3's standard chain (environment, shared profile, role) when
a client is built (`aws.clients`), so they never reach the store, logs, URLs, exports or bundles.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from eventlab.errors import SourceError

DEFAULT_REGION = "us-east-1"

#: Environment variables read by `AwsConfig.from_env`, with what each one sets.
ENV_VARS: dict[str, str] = {
    "EVENTLAB_AWS_ENDPOINT_URL": "SQS/SNS endpoint for another implementation, e.g. "
                                 "http://127.0.0.1:4566 for `eventlab aws-local` (default: AWS's "
                                 "own endpoints for the region)",
    "EVENTLAB_AWS_REGION": "AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)",
    "EVENTLAB_AWS_PROFILE": "shared-credentials profile (default boto3's chain: environment, "
                            "default profile, role)",
    "EVENTLAB_AWS_TIMEOUT_S": "seconds before an endpoint that does not answer is reported "
                              "(connect and read; default 10)",
}


@dataclass(frozen=True)
class AwsConfig:
    """Where SNS/SQS are and which region and profile to use. No credentials are kept here."""

    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    profile: str | None = None
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise SourceError(f"EVENTLAB_AWS_ENDPOINT_URL must be an http(s) URL with a host, "
                                  f"not {self.endpoint_url!r}")
            if parts.username or parts.password or parts.query or parts.fragment:
                raise SourceError("EVENTLAB_AWS_ENDPOINT_URL must not carry a user, password, "
                                  "query or fragment")
        if not self.region.strip():
            raise SourceError("the AWS region is empty: set EVENTLAB_AWS_REGION")
        if not 1.0 <= self.timeout_s <= 300.0:
            raise SourceError(f"EVENTLAB_AWS_TIMEOUT_S must be 1-300 s, not {self.timeout_s}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AwsConfig:
        """Settings from EVENTLAB_AWS_* (see `ENV_VARS`); unset keys keep their defaults."""
        env = os.environ if env is None else env

        def get(key: str) -> str | None:
            value = env.get(key)
            return value.strip() if value is not None and value.strip() else None

        kwargs: dict[str, Any] = {}
        if (url := get("EVENTLAB_AWS_ENDPOINT_URL")) is not None:
            kwargs["endpoint_url"] = url.rstrip("/")
        region = get("EVENTLAB_AWS_REGION") or get("AWS_REGION") or get("AWS_DEFAULT_REGION")
        if region is not None:
            kwargs["region"] = region
        if (profile := get("EVENTLAB_AWS_PROFILE")) is not None:
            kwargs["profile"] = profile
        if (value := get("EVENTLAB_AWS_TIMEOUT_S")) is not None:
            try:
                kwargs["timeout_s"] = float(value)
            except ValueError:
                raise SourceError(f"EVENTLAB_AWS_TIMEOUT_S must be a number, not {value!r}") \
                    from None
        return cls(**kwargs)

    @property
    def configured(self) -> bool:
        """True when the environment names an endpoint or a profile (pages offer AWS then)."""
        return self.endpoint_url is not None or self.profile is not None

    @property
    def broker_id(self) -> str:
        """The endpoint as stored positions name it: the endpoint URL, or aws:REGION."""
        return self.endpoint_url or f"aws:{self.region}"

    def describe(self) -> str:
        """A one-line summary safe for logs and the UI (no credentials exist here to leak)."""
        where = self.endpoint_url or "AWS's endpoints"
        profile = f", profile {self.profile}" if self.profile else ""
        return f"SNS/SQS at {where}, region {self.region}{profile}"
