"""Republish (issue 11): the one dangerous action, as plan (pure) -> dry run -> send -> ledger
-> audit, exactly once into the target and refused in read-only mode (`settings.read_only`)
inside the function itself. The contract is docs/safety.md, items 21-29.

Sends through `kafka.producer` (RecordSender, RawBatchWriter for byte-exact headers).
"""
