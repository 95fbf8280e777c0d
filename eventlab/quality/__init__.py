"""Data-quality findings: duplicates, sequence gaps and regressions, out-of-order times, unknown
event types, schema drift, late events and the quarantine, each computed in DuckDB and returned
as frozen records with exact counts and examples. The names below are the package's API.
"""

from eventlab.quality.checks import DEFAULT_LATE_SECONDS, KINDS, Report, run_checks
from eventlab.quality.findings import SEVERITIES, Finding, worst

__all__ = ["DEFAULT_LATE_SECONDS", "KINDS", "SEVERITIES", "Finding", "Report", "run_checks",
           "worst"]
