"""boto3 clients for SQS and SNS with bounded timeouts, and AWS errors said as EventLab errors.

`sqs(config)` / `sns(config)` build clients from boto3's standard credential chain and the
settings in `AwsConfig`; `aws_errors(what)` turns botocore's exceptions into `AwsUnavailable`,
`AwsCredentialsMissing`, `AwsAccessDenied` and `AwsNotFound`, each naming what was attempted.

botocore follows no HTTP redirect (its urllib3 pool runs with `Retry(False)`), so a signed
request never travels to a host the endpoint points at; `tests/aws/test_aws_clients.py` proves it
with two local servers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from eventlab.aws.config import AwsConfig
from eventlab.errors import (
    AwsAccessDenied,
    AwsCredentialsMissing,
    AwsNotFound,
    AwsUnavailable,
    SourceError,
)

#: Error codes that mean "this thing does not exist" (SQS's JSON and query protocols, SNS).
NOT_FOUND = frozenset({
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue",
    "NotFound", "NotFoundException", "ResourceNotFoundException",
})
#: Error codes that mean "not allowed" or "these credentials are wrong".
DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "AuthorizationError", "AuthorizationErrorException",
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "ExpiredToken", "ExpiredTokenException", "InvalidSecurity", "KMSAccessDenied",
})


def _session(config: AwsConfig) -> boto3.session.Session:
    try:
        return boto3.session.Session(profile_name=config.profile, region_name=config.region)
    except botocore.exceptions.ProfileNotFound:
        raise AwsCredentialsMissing(f"the AWS profile {config.profile!r} is not in the shared "
                                    "credentials or config file: fix EVENTLAB_AWS_PROFILE") \
            from None


def client(config: AwsConfig, service: str, max_attempts: int = 2) -> Any:
    """A boto3 client for `service` (credential chain; bounded timeouts and retries;
    `max_attempts=1` for writes whose retry could deliver twice)."""
    bounded = botocore.config.Config(
        connect_timeout=config.timeout_s, read_timeout=config.timeout_s,
        retries={"max_attempts": max_attempts, "mode": "standard"}, user_agent_extra="eventlab")
    with aws_errors(f"building the {service.upper()} client for {config.describe()}"):
        return _session(config).client(service, endpoint_url=config.endpoint_url,
                                       config=bounded)


def sqs(config: AwsConfig) -> Any:
    """An SQS client (boto3's credential chain; timeouts from the config)."""
    return client(config, "sqs")


def sns(config: AwsConfig) -> Any:
    """An SNS client (boto3's credential chain; timeouts from the config)."""
    return client(config, "sns")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


@contextlib.contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Re-raise botocore's errors inside the block as EventLab errors naming `what`."""
    try:
        yield
    except botocore.exceptions.NoCredentialsError:
        raise AwsCredentialsMissing(
            f"{what}: no AWS credentials found (set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, choose a profile with EVENTLAB_AWS_PROFILE, or run where a "
            "role is attached)") from None
    except botocore.exceptions.PartialCredentialsError as exc:
        raise AwsCredentialsMissing(f"{what}: the AWS credentials are incomplete "
                                    f"({exc.kwargs.get('cred_var', 'a value')} is missing)") \
            from None
    except (botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectTimeoutError) as exc:
        raise AwsUnavailable(f"{what}: nothing answered at {_where(exc)}; check "
                             "EVENTLAB_AWS_ENDPOINT_URL and that the endpoint runs") from None
    except botocore.exceptions.ReadTimeoutError:
        raise AwsUnavailable(f"{what}: the endpoint accepted the connection but did not answer "
                             "in time (EVENTLAB_AWS_TIMEOUT_S)") from None
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "")) or code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in NOT_FOUND:
            raise AwsNotFound(f"{what}: it does not exist in this account and region "
                              f"({code})") from None
        if code in DENIED or status == 403:
            raise AwsAccessDenied(f"{what}: access denied ({code}): the credentials lack the "
                                  f"permission, or are not valid for this endpoint") from None
        if status is not None and 300 <= status < 400:
            raise AwsUnavailable(f"{what}: the endpoint answered a redirect (HTTP {status}), "
                                 "which EventLab does not follow with signed requests") from None
        raise SourceError(f"{what}: AWS refused it: {code}: {message[:300]}") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsUnavailable(f"{what}: {type(exc).__name__}: {str(exc)[:300]}") from None


def _where(exc: BaseException) -> str:
    url = getattr(exc, "kwargs", {}).get("endpoint_url", "")
    return str(url).split("?", 1)[0] or "the endpoint"
