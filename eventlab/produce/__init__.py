"""Produce one message composed by hand: a pure plan of the exact bytes (`plan`), drafts
prefilled from the store (`prefill`), and the guarded, audited dry run and send (`send`)."""
