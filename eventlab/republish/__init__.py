"""Republish (issue 11): the one dangerous action, as plan (pure) -> dry run -> send -> ledger
-> audit, exactly once into the target and refused in read-only mode (`settings.read_only`)
inside the function itself. The contract is docs/safety.md, items 21-29.

Sends through `kafka.producer` (RecordSender, RawBatchWriter for byte-exact headers); reads a
target back through `kafka.provenance`.
"""

from eventlab.republish.audit import rows as audit_rows
from eventlab.republish.background import KIND, start_republish
from eventlab.republish.guards import RepublishRefused
from eventlab.republish.ledger import Counts, jobs
from eventlab.republish.plan import PROVENANCE, Plan, PlanOptions
from eventlab.republish.run import DryRun, JobReport, dry_run, execute, report, send_again, settle
from eventlab.republish.selection import Selection, SelectionError, Summary, summarize

__all__ = [
    "KIND", "PROVENANCE", "Counts", "DryRun", "JobReport", "Plan", "PlanOptions",
    "RepublishRefused", "Selection", "SelectionError", "Summary", "audit_rows", "dry_run",
    "execute", "jobs", "report", "send_again", "settle", "start_republish", "summarize",
]
