"""Schema-registry records: the Confluent wire format, where schemas come from (a registry over
HTTP, a folder, the store's `schemas` table) and the decoders (Avro, Protobuf, JSON Schema) that
turn a framed payload into JSON text. Not Kafka-specific: no Kafka client here.

This file imports nothing, so `schemas.wire` (pure) stays light: import each module by its name.
"""
