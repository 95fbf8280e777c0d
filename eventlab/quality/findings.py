"""What a data-quality check returns: a finding with an exact count, a severity, a one-line
explanation, up to 20 examples and the Explore filter that shows its events. Pure records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"
SEVERITIES: tuple[str, ...] = (ERROR, WARNING, INFO, OK)
"""Worst first."""
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class Finding:
    """One check's result. `count` is defined per kind (see `eventlab.quality.checks`)."""

    kind: str
    count: int
    severity: str
    explanation: str
    examples: tuple[dict[str, Any], ...] = ()
    explore: dict[str, str] = field(default_factory=dict)
    """Explore's query parameters that show the events involved (empty: none to show)."""
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain form for `eventlab check --json`."""
        out = asdict(self)
        out["examples"] = [dict(e) for e in self.examples]
        return out


def severity_for(count: int, when_found: str) -> str:
    """`OK` when nothing was found, else the check's own severity."""
    return OK if count == 0 else when_found


def worst(findings: list[Finding]) -> str:
    """The most severe level among the findings (`OK` when there are none)."""
    levels = {f.severity for f in findings}
    return next((s for s in SEVERITIES if s in levels), OK)
