"""Reading an SNS target back through its tap (docs/aws.md "Republish": "Reading back").

An SNS topic cannot be read. What a topic published can be seen through an EventLab tap
(`aws/taps.py`: an EventLab-owned SQS queue subscribed to the topic, raw delivery off), but
only from the moment the tap existed. So when a job first sends to a topic, the topic's tap
is recorded in `republish_taps` (its queue URL, its `CreatedTimestamp`, its subscription) or
the lack of one. Later, a read-back trusts the tap only when it is still exactly that tap
(same queue, same creation time, same subscription, nothing filtering or holding its
messages): then every message the job published to the topic was delivered to it.

Reading back drains the tap into the store (`ingest/sqs_ingest.py`, exactly as `eventlab
ingest-sqs`: each message stored once, then deleted) and looks for the job's provenance in
what is stored from the topic (the message attributes, separate or folded into
`eventlab-provenance`: `aws/publish.py`). SNS delivers to SQS asynchronously, so a message
not found is looked for again until `GRACE_S` after the job last touched it; only then is
it called missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from eventlab.aws import publish
from eventlab.aws.config import AwsConfig
from eventlab.aws.taps import TapState, held, tap_name, tap_of_topic
from eventlab.republish import plan as planning
from eventlab.store import db
from eventlab.store.eventstore import EventStore

GRACE_S = 60.0
"""How long after a record was sent (its ledger row last written) a missing copy is still
awaited. SNS delivers to a subscribed queue asynchronously, in well under a second normally
and with retries when the queue refuses; a minute covers the normal case with a wide margin.
Messages still held back by SNS's retries beyond it are why the tap's subscription must be
healthy (checked) before anything is called missing."""
SNS_SOURCE = "sns"
"""The `source` of events stored from a tap (their topic is the topic's name)."""
MESSAGE_ID = "x-sns-message-id"
TAP_HINT = "create a tap on the target topic before republishing to make it verifiable"

Identity = tuple[str, ...]

_COPIES_SQL = """
SELECT headers FROM {table} WHERE source = ? AND topic = ?
  AND len(list_filter(headers, lambda h: (h.key = ? AND h.value = ?) OR h.key = ?)) > 0
"""


@dataclass(frozen=True)
class Tapped:
    """A topic's tap as trusted for a job, or why it is not."""

    topic: str
    tap: TapState | None
    why: str | None = None
    """None: the tap saw everything the job published to the topic."""


def note_first_send(store: EventStore, config: AwsConfig, job_id: str,
                    topics: Iterable[tuple[str, str | None]]) -> None:
    """Record, once per (job, topic), the topic's tap as it is before the job's first send
    to it (`topics`: (name, ARN or None when missing)). Committed before anything is sent."""
    with store.reading() as cur:
        seen = {t for (t,) in db.rows(cur, "SELECT topic FROM republish_taps WHERE job_id = ?",
                                      [job_id])}
    rows = []
    for name, arn in topics:
        if name in seen:
            continue
        state = tap_of_topic(config, arn) if arn else None
        ok = state is not None and state.problem is None
        rows.append([job_id, name, state.url if ok and state else None,
                     state.created_s if ok and state else None,
                     state.subscription_arn if ok and state else None])
    if rows:
        with store.transaction() as cur:
            for row in rows:
                cur.execute("INSERT INTO republish_taps (job_id, topic, first_send, tap_url, "
                            "tap_created, subscription) VALUES (?, ?, now(), ?, ?, ?)", row)


def trusted(store: EventStore, config: AwsConfig, job_id: str, topic: str, arn: str | None
            ) -> Tapped:
    """The tap of `topic` if it saw everything the job published there (see the module)."""
    with store.reading() as cur:
        found = db.rows(cur, "SELECT tap_url, tap_created, subscription FROM republish_taps "
                             "WHERE job_id = ? AND topic = ?", [job_id, topic])
    hint = f"{TAP_HINT} (eventlab tap-sns --topic-arn {arn or 'ARN'})"
    if not found or found[0][0] is None:
        return Tapped(topic, None, f"SNS topic {topic} had no tap (none recorded) when this "
                                   f"job first sent to it: {hint}")
    url, created, sub = found[0]
    state = tap_of_topic(config, arn) if arn else None
    if state is None:
        return Tapped(topic, None, f"the tap {tap_name(arn or topic)} of SNS topic {topic} "
                                   "was removed after this job first sent to it")
    if (state.url, state.created_s, state.subscription_arn) != (url, created, sub):
        return Tapped(topic, None, f"the tap of SNS topic {topic} was made again (or "
                                   "re-subscribed) after this job first sent to it: it may "
                                   "have missed messages")
    if state.problem:
        return Tapped(topic, None, f"the tap of SNS topic {topic} cannot be trusted: "
                                   f"{state.problem}")
    return Tapped(topic, state)


def copies(store: EventStore, job_id: str, topic: str) -> dict[Identity, list[str]]:
    """The SNS MessageIds of this job's messages stored from `topic`'s tap, by identity
    (`plan.IDENTITY` values), in store order. Quarantined messages count too."""
    out: dict[Identity, list[str]] = {}
    params = [SNS_SOURCE, topic, planning.REPLAY_ID, job_id.encode(), publish.FOLDED]
    with store.reading() as cur:
        rows = [r for table in ("events", "quarantine")
                for r in db.rows(cur, _COPIES_SQL.format(table=table), params)]
    for (headers,) in rows:
        h = {x["key"]: x["value"] for x in headers or [] if x["value"] is not None}
        prov = _provenance(h)
        if prov.get(planning.REPLAY_ID) != job_id:
            continue
        ident = tuple(prov.get(k, "") for k in planning.IDENTITY)
        out.setdefault(ident, []).append(h.get(MESSAGE_ID, b"").decode("utf-8", "replace"))
    return out


def _provenance(h: dict[str, bytes]) -> dict[str, str]:
    if publish.FOLDED in h:
        try:
            doc = json.loads(h[publish.FOLDED])
            return {str(k): str(v) for k, v in doc["provenance"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}
    return {k: h[k].decode("utf-8", "replace") for k in planning.PROVENANCE if k in h}


def read_back(store: EventStore, config: AwsConfig, job_id: str, tapped: Tapped,
              wanted: Iterable[Identity], last: datetime | None,
              now: Callable[[], datetime], grace_s: float = GRACE_S
              ) -> tuple[dict[Identity, list[str]], str | None]:
    """Drain the tap into the store until every `wanted` identity is found or `grace_s`
    after `last` (the newest send of them) has passed; (copies by identity, why the
    result is not conclusive: None when it is)."""
    from eventlab.ingest.sqs_ingest import ingest_sqs  # ingest imports republish's readers

    assert tapped.tap is not None
    want = set(wanted)
    deadline = (last or now()) + timedelta(seconds=grace_s)
    while True:
        ingest_sqs(store, config, tapped.tap.url, until="empty")
        found = copies(store, job_id, tapped.topic)
        if want <= set(found):
            return found, None  # everything is there: nothing else to make sure of
        left = (deadline - now()).total_seconds()
        if left <= 0:
            break
        time.sleep(min(2.0, left))
    # Something is missing: it is missing only if nothing else holds the tap's messages.
    # (SQS's counts are approximate: a count just after our deletes errs towards "held",
    # which keeps records unknown rather than send them twice.)
    in_flight, delayed = held(config, tapped.tap.url)
    if in_flight or delayed:
        return found, (f"the tap of SNS topic {tapped.topic} still holds {in_flight:,} "
                       f"message(s) in flight and {delayed:,} delayed (another reader?): a "
                       "record not found may be among them")
    return found, None
