"""The demo shop: a deterministic event-sourced domain with planted faults.

`generate` returns an Arrow table in the common envelope shape, `write_export` writes it as
hive-partitioned Parquet, `EVENT_TYPES` maps each event type to its entity type. The domain,
its fields, the v1 -> v2 rename and every planted anomaly are described in
`eventlab.demo.domain` (`help(eventlab.demo.domain)`).
"""

from __future__ import annotations

from eventlab.demo.domain import EVENT_TYPES, generate
from eventlab.demo.export import write_export

__all__ = ["EVENT_TYPES", "generate", "write_export"]
