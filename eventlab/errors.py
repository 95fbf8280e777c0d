"""EventLab's own exceptions. Adapters catch driver errors and re-raise these with context."""

from __future__ import annotations


class EventLabError(Exception):
    """Base class: every error a page or the CLI shows to a person."""


class StoreError(EventLabError):
    """The DuckDB store could not be opened or written (locked file, bad path, ...)."""


class MappingError(EventLabError):
    """A mapping is invalid or does not fit the input (missing column, bad TOML, ...)."""


class SourceError(EventLabError):
    """An input (file, topic) could not be read; the message names it and what to do next."""


class SqlRefused(EventLabError):
    """The SQL console refused a statement (not exactly one read-only SELECT, or forbidden)."""


class SqlTimeout(EventLabError):
    """A console query ran past its time limit and was interrupted."""


class ReadOnlyError(EventLabError):
    """A write action was attempted while EventLab runs read-only."""


class ReducerError(EventLabError):
    """A reducer could not be loaded or applied (bad rules file, broken Python reducer, ...)."""


class BrokerUnavailable(SourceError):
    """Kafka did not answer in time (down, wrong address or port, TLS/SASL mismatch)."""


class OffsetOutOfRange(SourceError):
    """A requested offset is not in the partition (expired by retention, or past its end).

    EventLab never resets a position silently; the message says what was asked and what exists.
    """

    def __init__(self, message: str, *, topic: str | None = None, partition: int | None = None,
                 requested: int | None = None, earliest: int | None = None,
                 end: int | None = None) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition
        self.requested = requested
        self.earliest = earliest
        self.end = end


class TopicGone(SourceError):
    """The topic does not exist, or was deleted while it was being read."""


class RecordTooLarge(SourceError):
    """A partition is stuck at one offset: the record there is bigger than the client fetches."""


class BrokerStartError(SourceError):
    """The local broker (`eventlab broker`) could not be started or stopped."""


class SchemaRegistryUnavailable(SourceError):
    """The schema registry did not answer, refused the login, or failed (named by its URL)."""


class SchemaNotFound(SourceError):
    """No schema with this id in the registry, the folder or the store."""


class AwsUnavailable(SourceError):
    """An SNS/SQS endpoint did not answer in time, or answered something that is not AWS."""


class AwsCredentialsMissing(SourceError):
    """boto3's credential chain found nothing (environment, profile, role)."""


class AwsAccessDenied(SourceError):
    """AWS refused the call for these credentials (a missing permission or a wrong signature)."""


class AwsNotFound(SourceError):
    """The named queue, topic or subscription does not exist (or not in this region/account)."""
