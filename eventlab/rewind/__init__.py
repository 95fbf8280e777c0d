"""Rewinding a consumer group (issue 22, section 4): the second dangerous action.

`plan` is pure: from a group's committed offsets, the topic's bounds and a target (a time, explicit
offsets, earliest, latest, by N, an event) to the new offset per partition with the resulting
lag. `run` does the I/O: reads the cluster, checks the guards (read-only, EVENTLAB_RESET_GROUPS,
active members, typed-back group name), commits through `eventlab.kafka.group_commit` (the only
place EventLab commits for a group), verifies, audits, and undoes from the audit row.
"""
