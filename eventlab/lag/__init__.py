"""Consumer lag (issue 10): group offsets from the admin API, lag in records and in seconds,
samples kept in the store, and verdicts as pure rules (Burrow's evaluator as the model).

Built on `kafka/` (admin calls, one bounded read with `assign()`; never a join or a commit for
another group) and `kafka.positions.remaining` for "end minus position".
"""
