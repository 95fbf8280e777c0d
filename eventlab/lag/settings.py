"""Settings of the lag sampler, read from the environment (one definition each)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from eventlab.errors import EventLabError

SAMPLE_INTERVAL = "EVENTLAB_LAG_SAMPLE_S"
RETENTION = "EVENTLAB_LAG_HISTORY_DAYS"
DEFAULT_SAMPLE_S = 15.0
DEFAULT_RETENTION_DAYS = 7.0


def _number(env: Mapping[str, str] | None, name: str, default: float, low: float) -> float:
    raw = (os.environ if env is None else env).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise EventLabError(f"{name} must be a number, not {raw!r}") from None
    if value < low:
        raise EventLabError(f"{name} must be at least {low:g}, not {value:g}")
    return value


def sample_interval_s(env: Mapping[str, str] | None = None) -> float:
    """Seconds between two lag samples (EVENTLAB_LAG_SAMPLE_S, default 15; 0 turns the app's
    sampling off). Other values below 0.1 s are refused."""
    value = _number(env, SAMPLE_INTERVAL, DEFAULT_SAMPLE_S, 0.0)
    if 0 < value < 0.1:
        raise EventLabError(f"{SAMPLE_INTERVAL} must be 0 (off) or at least 0.1, not {value:g}")
    return value


def retention_days(env: Mapping[str, str] | None = None) -> float:
    """Days of lag history kept in `lag_samples` (EVENTLAB_LAG_HISTORY_DAYS, default 7; older
    samples are pruned after each write)."""
    return _number(env, RETENTION, DEFAULT_RETENTION_DAYS, 0.001)
