"""SQS queues and SNS topics as republish targets (`republish/target.py`; the calls are in
`aws/publish.py`).

- Records go ten at a time (SendMessageBatch / PublishBatch); each entry's answer is written
  to the ledger: `acked` (AWS gave it a message id), or `failed` with AWS's code. Entries AWS
  failed by its own fault are retried (`publish.RETRIES`); sender faults are not. A record
  SQS/SNS cannot carry (a body that is not text, an empty body) fails with the reason and
  is never sent. A record failing alone does not stop the job; a whole batch refused does.
- Bodies go byte for byte (as text: SQS bodies are text); attributes are the original
  headers then the provenance, within ten (`publish.attributes_for`).
- FIFO queues and topics (names ending in `.fifo`): the MessageGroupId is the record's
  `MessageGroupId` header, else its key (ingest-sqs stores a FIFO message's group as its key;
  a file event's key is its entity id), else its entity id; the MessageDeduplicationId is a
  hash of the job and the original position, so a record sent again by a resumed job within
  five minutes is dropped by SQS/SNS.
- What can be checked afterwards, said plainly (`aws_readback.py`): an SNS topic is read
  back through its EventLab tap when the job's first send to the topic found one (recorded
  in `republish_taps`) and it is still that tap; `settle` and `verify` then drain the tap
  into the store and look for the job's provenance: an `unknown` record found is sent (with
  its SNS MessageId), one not found once the tap is drained to empty (after `GRACE_S` for
  SNS's delivery) is unsent, safe to send again; an acknowledged record not found is lost.
  A queue is never read back (a receive hides its messages from the owner's consumers and
  counts towards their maxReceiveCount), nor a topic without a trusted tap: an `unknown`
  record is sent again on resume only into a FIFO target and only within the five-minute
  window, where the deduplication id makes that safe (`window_s`, with `clock`, is a
  parameter so tests can move it); any other unknown record stays unknown (never called
  sent, never sent again by EventLab unless the user consents to the duplicate risk:
  `resend_unknown`, audited).

Each chunk is marked `unknown` (committed) before it is sent, then its outcomes written
(`rabbitmq_target._send_all`, shared with the RabbitMQ targets).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from eventlab.aws import publish
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import queue_name
from eventlab.aws.taps import tap_of_topic
from eventlab.errors import EventLabError, SourceError
from eventlab.republish import aws_readback as readback
from eventlab.republish import ledger
from eventlab.republish import plan as planning
from eventlab.republish.ledger import Counts
from eventlab.republish.plan import SNS, SQS, Plan
from eventlab.republish.rabbitmq_target import Outcome, Row, _headers, _send_all
from eventlab.republish.selection import Selection
from eventlab.republish.verify import Lost, Verification
from eventlab.store import db
from eventlab.store.eventstore import EventStore

TAP_VERIFIED = "every acknowledged record found in the tap of its SNS topic"
"""The note of a job read back through its topics' taps (the page says it)."""

_ENTITIES_SQL = """
SELECT l.n, e.entity_id FROM republish_log l JOIN events e
  ON l.origin = 'event' AND e."offset" = l.src_offset AND e.source = l.source
 AND coalesce(e.topic, '') = coalesce(l.src_topic, '')
 AND coalesce(e."partition", -1) = coalesce(l.src_partition, -1)
 AND e.event_id IS NOT DISTINCT FROM l.event_id
WHERE l.job_id = ? AND l.n BETWEEN ? AND ?
"""


def aws_target(config: AwsConfig, kind: str, sensitive: Sequence[str] = (), *,
               clock: Callable[[], datetime] | None = None,
               window_s: float = publish.DEDUP_WINDOW_S,
               grace_s: float = readback.GRACE_S) -> AwsTarget:
    """The SQS (queues) or SNS (topics) target; `sensitive` names need typing back. `clock`
    (default: now, UTC), `window_s` and `grace_s` are parameters so tests can move time."""
    if kind not in (SQS, SNS):
        raise SourceError(f"an AWS connection cannot write a {kind} target")
    return AwsTarget(config, kind, sensitive, clock=clock, window_s=window_s, grace_s=grace_s)


def fifo(name: str) -> bool:
    """FIFO queues and topics end in `.fifo`."""
    return name.endswith(".fifo")


class AwsTarget:
    """SQS queues or SNS topics by name (see the module)."""

    creates = False

    def __init__(self, config: AwsConfig, kind: str, sensitive: Sequence[str] = (), *,
                 clock: Callable[[], datetime] | None = None,
                 window_s: float = publish.DEDUP_WINDOW_S,
                 grace_s: float = readback.GRACE_S) -> None:
        self.config, self.kind = config, kind
        self.sensitive = tuple(sensitive)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.window_s, self.grace_s = window_s, grace_s
        self._publisher: publish.Publisher | None = None
        self._notes: list[str] = []
        self._settled = ""
        self._tap_verified = False  # the last verify read every record back through taps

    @property
    def safe_resend_s(self) -> float:
        """An unknown FIFO record marked less than this long ago is sent again under the same
        deduplication id (a minute's margin inside the window)."""
        return self.window_s - 60

    @property
    def publisher(self) -> publish.Publisher:
        if self._publisher is None:
            self._publisher = publish.Publisher(self.config, self.kind)
        return self._publisher

    @property
    def unverifiable(self) -> str:
        """What `done` means here (see the module)."""
        if self.kind == SNS:
            if self._tap_verified:
                return TAP_VERIFIED
            return ("acknowledged by SNS; not verifiable: a topic is read back only through "
                    f"a tap that existed before the job's first send; {readback.TAP_HINT}")
        return ("acknowledged by SQS; not verified: reading a queue back means receiving "
                "from it, which EventLab does not do to a target")

    @property
    def settle_notes(self) -> tuple[str, ...]:
        """Why unknown records were left unknown by the last `settle`."""
        return tuple(self._notes)

    def describe(self) -> str:
        """The endpoint (no secret)."""
        return self.config.describe()

    def partition_counts(self, names: Sequence[str]) -> dict[str, int | None]:
        """1 for each existing queue (topic), None for a missing one."""
        return {n: (1 if self.publisher.address(n) else None) for n in names}

    def plan_warnings(self, plan: Plan) -> tuple[str, ...]:
        """What the dry run says about reading the targets back."""
        if self.kind == SQS:
            return (f"SQS queue(s) {', '.join(plan.target_topics)} are not read back: a record "
                    "whose answer is lost stays unknown (a FIFO one is sent again within "
                    "SQS's five-minute deduplication window only)",)
        out = []
        for topic in plan.target_topics:
            arn = self.publisher.address(topic)
            state = tap_of_topic(self.config, arn) if arn else None
            if state is None or state.problem:
                out.append(f"SNS topic {topic} "
                           + (f"has a tap that cannot be trusted ({state.problem})"
                              if state else "has no tap") + ": it cannot be read back, so "
                           f"the job is not verifiable; {readback.TAP_HINT} (eventlab "
                           f"tap-sns --topic-arn {arn or 'ARN'})")
        return tuple(out)

    def ensure(self, plan: Plan) -> None:
        """Every target must exist (EventLab creates no queue or topic)."""
        missing = [t for t, n in self.partition_counts(plan.target_topics).items() if n is None]
        if missing:
            raise SourceError(f"missing on {self.describe()}: {', '.join(missing)}; create "
                              "them, then resume")

    def settle(self, store: EventStore, job_id: str) -> tuple[int, int, int]:
        """Unknown records of SNS topics with a trusted tap: read back (found: acked, else
        unsent). The others: unknown FIFO records marked within `safe_resend_s` become unsent
        (their resend is deduplicated by SQS/SNS); the rest stay unknown.
        (found, made unsent, extra copies)."""
        self._notes, self._settled = [], ""
        with store.reading() as cur:
            rows = db.rows(cur, "SELECT n, target_topic, updated_at, src_topic, src_partition, "
                                "src_offset, event_id FROM republish_log WHERE job_id = ? AND "
                                "status = 'unknown' ORDER BY n", [job_id])
        if not rows:
            return 0, 0, 0
        by_topic: dict[str, list[tuple]] = {}
        for r in rows:
            by_topic.setdefault(r[1], []).append(r)
        found = missing = extra = resent = 0
        kept = 0
        now = self.clock()
        outcomes: list[tuple[int, str, str | None]] = []
        for topic, mine in sorted(by_topic.items()):
            tapped = self._tapped(store, job_id, topic) if self.kind == SNS else None
            if tapped is not None and tapped.tap is not None:
                last = max((r[2] for r in mine if r[2] is not None), default=None)
                got, doubt = readback.read_back(
                    store, self.config, job_id, tapped,
                    [planning.identity(*r[3:7]) for r in mine], last, self.clock, self.grace_s)
                extra += sum(len(v) - 1 for v in got.values() if len(v) > 1)
                for r in mine:
                    ids = got.get(planning.identity(*r[3:7]))
                    if ids:
                        outcomes.append((r[0], ledger.ACKED, f"found in the tap: SNS MessageId "
                                                             f"{ids[0] or '?'}"))
                        found += 1
                    elif doubt is None:
                        outcomes.append((r[0], ledger.UNSENT, "not found in the topic's tap "
                                         "when settled: it was not published"))
                        missing += 1
                    else:
                        kept += 1
                if doubt:
                    self._notes.append(doubt)
                continue
            if tapped is not None and tapped.why:
                self._notes.append(tapped.why)
            for n, target, at, *_ in mine:
                if fifo(target) and at is not None and \
                        (now - at).total_seconds() < self.safe_resend_s:
                    outcomes.append((n, ledger.UNSENT, "unknown; sent again under the same "
                                                       "deduplication id"))
                    resent += 1
                else:
                    kept += 1
        if kept:
            self._notes.append(
                f"{kept:,} unknown record(s) stay unknown: they may be in the target, which "
                "EventLab cannot read back; they are never sent again automatically "
                "(`--resend-unknown`, or the page's confirmation, sends them again knowing "
                "each may then be there twice)")
        if outcomes:
            with store.transaction() as cur:
                ledger.write_outcomes(cur, job_id, [o[0] for o in outcomes],
                                      [o[1] for o in outcomes],
                                      [0 if o[1] == ledger.ACKED else None for o in outcomes],
                                      [None] * len(outcomes), [o[2] for o in outcomes])
        parts = []
        if found or missing:
            parts.append(f"settled {found + missing:,} unknown record(s) by draining the SNS "
                         f"topic's tap: {found:,} found, {missing:,} not published (sent "
                         "again)")
        if resent:
            parts.append(f"{resent:,} unknown FIFO record(s) sent again under their "
                         "deduplication ids (inside the five-minute window SQS/SNS drop "
                         "repeats in; the target is not read)")
        self._settled = "; ".join(parts)
        return found, missing + resent, extra

    def settle_note(self, found: int, resent: int) -> str:
        """What `settle` did, for the job's notes."""
        return self._settled

    def verify(self, store: EventStore, job_id: str) -> Verification:
        """SNS topics with a trusted tap: every acknowledged record is looked for in the tap
        (`aws_readback.py`); not found: lost. Queues and other topics: not read back."""
        self._tap_verified = False
        if self.kind != SNS:
            return Verification(0)
        with store.reading() as cur:
            rows = ledger.acked_rows(cur, job_id)
            topics = [t for (t,) in db.rows(cur, "SELECT DISTINCT target_topic FROM "
                                                 "republish_log WHERE job_id = ?", [job_id])]
            times = dict(db.rows(cur, "SELECT n, updated_at FROM republish_log WHERE job_id = ? "
                                      "AND status = 'acked'", [job_id]))
        by_topic: dict[str, list[tuple]] = {t: [] for t in topics}
        for r in rows:
            by_topic.setdefault(r[1], []).append(r)
        checked = 0
        all_tapped = True
        lost: list[Lost] = []
        for topic, mine in sorted(by_topic.items()):
            tapped = self._tapped(store, job_id, topic)
            if tapped.tap is None:
                all_tapped = False
                continue
            if not mine:
                continue
            last = max((times[r[0]] for r in mine if times.get(r[0]) is not None), default=None)
            got, doubt = readback.read_back(
                store, self.config, job_id, tapped, [planning.identity(*r[4:8]) for r in mine],
                last, self.clock, self.grace_s)
            if doubt:
                all_tapped = False
                continue  # not conclusive: not checked
            checked += len(mine)
            lost += [Lost(r[0], topic, 0, r[3],  # no offset in a topic: None
                          "acknowledged by SNS, then not delivered to the topic's tap")
                     for r in mine if not got.get(planning.identity(*r[4:8]))]
        self._tap_verified = all_tapped and checked == len(rows)
        return Verification(checked, tuple(lost))

    def _tapped(self, store: EventStore, job_id: str, topic: str) -> readback.Tapped:
        return readback.trusted(store, self.config, job_id, topic, self.publisher.address(topic))

    def send(self, store: EventStore, plan: Plan, rate: float | None,
             cancel: threading.Event, progress: Callable[[Counts], None] | None,
             delivery_timeout_s: float) -> tuple[int, str | None]:
        """Send the plan's unsent and failed records, ten per call. Before the first send
        to an SNS topic, its tap (or the lack of one) is recorded (`aws_readback.py`)."""
        if self.kind == SNS:
            readback.note_first_send(store, self.config, plan.job_id, [
                (t, self.publisher.address(t)) for t in plan.target_topics])
        def send_chunk(rows: list[Row]) -> tuple[list[Outcome], str | None]:
            entities = self._entities(store, plan.job_id, rows) if any(
                fifo(r["target_topic"]) for r in rows) else {}
            out: list[Outcome] = []
            ready: dict[str, list[tuple[Row, publish.Entry]]] = {}
            for r in rows:
                entry, why = self._entry(plan, r, entities.get(r["n"]))
                if entry is None:
                    out.append((r["n"], ledger.FAILED, None, None, why))
                else:
                    ready.setdefault(r["target_topic"], []).append((r, entry))
            for name, items in ready.items():
                by_id = {e.id: r for r, e in items}
                entries = [e for _, e in items]
                for i, batch in enumerate(publish.batches(entries)):
                    if cancel.is_set():
                        rest = [e for b in list(publish.batches(entries))[i:] for e in b]
                        out += [(by_id[e.id]["n"], ledger.UNSENT, None, None, None)
                                for e in rest]
                        return out, None
                    if rate:
                        time.sleep(len(batch) / rate)
                    try:
                        results = self.publisher.send(name, batch)
                    except EventLabError as exc:
                        status = (ledger.UNSENT if isinstance(exc, publish.NotSent)
                                  else ledger.UNKNOWN)
                        left = [e for b in list(publish.batches(entries))[i:] for e in b]
                        out += [(by_id[e.id]["n"], status if e in batch else ledger.UNSENT,
                                 None, None, str(exc) if e in batch else None) for e in left]
                        return out, f"sending stopped: {exc}"
                    for res in results:
                        n = by_id[res.id]["n"]
                        if res.ok:
                            out.append((n, ledger.ACKED, 0, None, None))
                        else:
                            who = "sender" if res.sender_fault else "AWS"
                            out.append((n, ledger.FAILED, None, None,
                                        f"{res.code} ({who} fault): {res.detail}"))
                    if len(batch) > 1 and not any(res.ok for res in results):
                        sent = {e.id for e in batch}
                        out += [(by_id[e.id]["n"], ledger.UNSENT, None, None, None)
                                for b in list(publish.batches(entries))[i + 1:] for e in b
                                if e.id not in sent]
                        return out, (f"AWS refused a whole batch ({results[0].code}): sending "
                                     "stopped; resume when the cause is fixed")
            return out, None  # records that failed alone are in the ledger; the rest went on

        return _send_all(store, plan, rate, cancel, progress, send_chunk)

    def _entry(self, plan: Plan, r: Row, entity: str | None
               ) -> tuple[publish.Entry | None, str | None]:
        body, why = publish.text_of(r["value"])
        if body is None:
            return None, why
        original, prov = _headers(r, plan.drop_dlq_headers)
        group = dedup = None
        if fifo(r["target_topic"]):
            stored = next((v for k, v in original if k == publish.GROUP_HEADER and v), None)
            key = r["key"]
            source = (stored or key or b"").decode("utf-8", "replace") or entity or "eventlab"
            group = publish.group_id_for(source)
            p = dict(prov)
            part = p[planning.ORIGINAL_PARTITION].decode()
            dedup = publish.dedup_id_for(plan.job_id, p[planning.ORIGINAL_TOPIC].decode(),
                                         int(part) if part else None,
                                         int(p[planning.ORIGINAL_OFFSET].decode()),
                                         p[planning.ORIGINAL_EVENT_ID].decode())
        return publish.Entry(str(r["n"]), body, publish.attributes_for(original, prov),
                             group, dedup), None

    @staticmethod
    def _entities(store: EventStore, job_id: str, rows: list[Row]) -> dict[int, str]:
        with store.reading() as cur:
            return {int(n): str(e) for n, e in db.rows(
                cur, _ENTITIES_SQL, [job_id, rows[0]["n"], rows[-1]["n"]]) if e is not None}


def redrive(config: AwsConfig, dlq: str, to: str | None = None
            ) -> tuple[Selection, AwsTarget, str]:
    """What a dead-letter redrive needs: the stored events of SQS queue `dlq` (source `sqs`,
    topic = its name: load them first), the SQS target, and the queue they go back to: the
    one whose redrive policy names `dlq` (ListDeadLetterSourceQueues), or `to`, which must be
    one of them. The source queue needs its name typed back."""
    name = queue_name(dlq)
    sources = publish.source_queues(config, name)
    if to is None:
        if len(sources) != 1:
            raise SourceError(f"{len(sources)} queues name {name} as their dead-letter queue"
                              f"{': ' + ', '.join(sources) if sources else ''}; " + (
                                  "give the one to redrive to" if sources else
                                  "no queue to redrive to (is it a dead-letter queue?)"))
        to = sources[0]
    elif queue_name(to) not in sources:
        raise SourceError(f"{queue_name(to)} does not name {name} as its dead-letter queue "
                          f"(those that do: {', '.join(sources) or 'none'})")
    sel = Selection.query(
        "SELECT topic, \"partition\", \"offset\" FROM events WHERE source = ? AND topic = ?",
        (publish.SQS_SOURCE, name), label="SQS dead-letter queue",
        words=f"every stored message of dead-letter queue {name}")
    return sel, aws_target(config, SQS, sensitive=(queue_name(to),)), queue_name(to)
