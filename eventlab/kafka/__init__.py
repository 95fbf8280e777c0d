"""Kafka adapter: connection settings, the local broker, topic facts and the raw reader.

Only this package imports kafka-python. It returns Arrow tables and small frozen records and
raises `eventlab.errors` (`BrokerUnavailable`, `TopicGone`, `OffsetOutOfRange`, ...).
"""

from __future__ import annotations

from eventlab.kafka.admin import TopicInfo, list_topics, offset_bounds, partition_counts
from eventlab.kafka.broker import BrokerHandle, broker_main, start_broker
from eventlab.kafka.config import ENV_VARS, KafkaConfig, Secret
from eventlab.kafka.reader import RAW_SCHEMA, KafkaRawReader

__all__ = [
    "ENV_VARS", "RAW_SCHEMA", "BrokerHandle", "KafkaConfig", "KafkaRawReader", "Secret",
    "TopicInfo", "broker_main", "list_topics", "offset_bounds", "partition_counts",
    "start_broker",
]
