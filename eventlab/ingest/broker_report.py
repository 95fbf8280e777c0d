"""What a broker ingest did (Kafka, RabbitMQ streams, SQS taps): the counts, positions and
mappings every broker reports, and the lines of the summary that say them the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(kw_only=True)
class BrokerIngestReport:
    """The fields every broker ingest reports; `to_dict` is the CLI's `--json` object."""

    records_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    rows_skipped_duplicate: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    stopped_because: str = ""
    partial: bool = False
    error: str | None = None
    caught_up: bool = False
    """The reader found nothing new in its last poll (while following: waiting at the end)."""
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per topic or stream, per content mode (`kafka_mapping.MODES`): the mapping it used."""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return dict(self.__dict__)

    def rate(self) -> float:
        """Records read per second of the run (0 before any time has passed)."""
        return self.records_read / self.seconds if self.seconds else 0.0

    def stored_text(self) -> str:
        """"N stored, N quarantined, N already stored": the counts every summary starts with."""
        return (f"{self.rows_stored:,} stored, {self.rows_quarantined:,} quarantined, "
                f"{self.rows_skipped_duplicate:,} already stored")

    def position_lines(self) -> list[str]:
        """The next offset read up to, per position (none when nothing was read)."""
        if not self.positions:
            return []
        return ["read up to (next offset): " + ", ".join(
            f"{k}={v}" for k, v in sorted(self.positions.items()))]

    def mapping_lines(self) -> list[str]:
        """One line per topic or stream: the mapping each content mode's records used."""
        return [f"mapping of {name}: " + "; ".join(
            f"{mode} records as {m['preset']}" for mode, m in modes.items())
            for name, modes in sorted(self.mappings.items())]

    def error_lines(self, what: str = "read", again: str = "resume") -> list[str]:
        """The error, if any, and that what came before it is stored."""
        if not self.error:
            return []
        return [f"ERROR: {self.error} — what was {what} before is stored; run the same command "
                f"again to {again}."]
