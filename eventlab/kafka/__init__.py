"""Kafka adapter: connection settings, the local broker, topic facts and the raw reader.

Only this package imports kafka-python. It returns Arrow tables and small frozen records and
raises `eventlab.errors` (`BrokerUnavailable`, `TopicGone`, `OffsetOutOfRange`, ...). Import
the modules (`eventlab.kafka.reader`, `.admin`, `.broker`, `.config`) directly: this package
file imports nothing, so a command that does not touch Kafka does not load kafka-python.
"""
