"""Writing into SNS/SQS: SendMessageBatch to a queue, PublishBatch to a topic, ten at a time,
with each entry's answer kept (AWS answers per entry: Successful, or Failed with a code and
whether the sender or AWS was at fault).

What SQS and SNS accept, checked here before a call so a record that cannot go is a per-record
failure with its reason, never a crash:
- A body is text: valid UTF-8 made only of the characters SQS allows (#x9, #xA, #xD, #x20 to
  #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF), and not empty.
- At most `MAX_ATTRIBUTES` (10) message attributes, named with letters, digits, `_`, `-` and
  `.` (no leading/trailing/double period, no `AWS.`/`Amazon.` prefix), with non-empty values;
  a text value goes as `String`, any other as `Binary`.
- `attributes_for` puts the original attributes first and the provenance after them; when
  they do not all fit (or an original cannot be an attribute), the provenance and the
  originals that did not fit are folded into one `String` attribute `FOLDED`, a JSON object
  (docs/aws.md "Republish" says exactly what).
- FIFO: a MessageGroupId of at most 128 allowed characters (else a hash of it) and a
  MessageDeduplicationId (`dedup_id_for`: a hash of the replay job and the original position).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from eventlab.aws.clients import aws_errors, client, error_code
from eventlab.aws.config import AwsConfig
from eventlab.aws.queues import dead_letter_sources, queue_name, resolve_url
from eventlab.aws.records import INGEST_HEADERS, TYPES_HEADER
from eventlab.errors import AwsNotFound, SourceError

MAX_ATTRIBUTES = 10
MAX_BATCH = 10
MAX_BATCH_BYTES = 262_144
"""SendMessageBatch's limit on the sum of a batch's messages (and SNS's per message)."""
DEDUP_WINDOW_S = 300
"""SQS and SNS FIFO drop a repeated deduplication id for five minutes."""
FOLDED = "eventlab-provenance"
SQS_SOURCE = "sqs"
"""The `source` of events stored from an SQS queue (their topic is the queue's name)."""
GROUP_HEADER = "MessageGroupId"
"""A stored header of this name gives a FIFO record its group (else the entity id)."""
RETRIES = 3
RETRY_CODES = frozenset({"Throttling", "ThrottlingException", "RequestThrottled",
                         "ServiceUnavailable", "InternalError", "InternalFailure",
                         "KMSThrottling", "KMSThrottlingException"})
_NOT_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
_GROUP = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")

Header = tuple[str, "bytes | None"]


class NotSent(SourceError):
    """The call never reached AWS (no connection): its entries were not sent."""


class NoAnswer(SourceError):
    """The call may have reached AWS but no answer came: its entries are unknown."""


@dataclass(frozen=True)
class Entry:
    """One message of a batch, ready for SQS or SNS."""

    id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    group_id: str | None = None
    dedup_id: str | None = None

    @property
    def size(self) -> int:
        """Body plus attribute names, types and values, as AWS counts a message's size."""
        n = len(self.body.encode())
        for name, a in self.attributes.items():
            value = a.get("StringValue")
            n += len(name) + len(a["DataType"]) + (
                len(value.encode()) if value is not None else len(a["BinaryValue"]))
        return n


@dataclass(frozen=True)
class Result:
    """AWS's answer for one entry: a message id, or a failure with its code."""

    id: str
    message_id: str | None = None
    code: str | None = None
    detail: str | None = None
    sender_fault: bool = True

    @property
    def ok(self) -> bool:
        return self.message_id is not None


def text_of(value: bytes | None) -> tuple[str | None, str | None]:
    """(the text, None) when SQS/SNS accept `value` as text, else (None, why not)."""
    if value is None or value == b"":
        return None, "the body is empty (a tombstone): SQS/SNS cannot carry an empty message"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (f"the body is not valid UTF-8 (byte {exc.start}): SQS/SNS bodies are "
                      "text")
    bad = _NOT_TEXT.search(text)
    if bad is not None:
        return None, (f"the body holds character U+{ord(bad.group()):04X} at {bad.start()}, "
                      "which SQS/SNS refuse")
    return text, None


def valid_name(name: str) -> bool:
    """May `name` be a message attribute's name?"""
    low = name.lower()
    return (bool(_NAME.fullmatch(name)) and not name.startswith(".") and not name.endswith(".")
            and ".." not in name and not low.startswith(("aws.", "amazon.")))


def _value(value: bytes, declared: str | None = None) -> dict[str, Any]:
    """An attribute value: with the type ingest recorded (`Number`, `Binary`, `String.x`...)
    when it still fits the value, else String for text and Binary for other bytes."""
    text, _ = text_of(value)
    base = (declared or "").split(".", 1)[0]
    if base in ("String", "Number") and text is not None:
        return {"DataType": declared, "StringValue": text}
    if base == "Binary":
        return {"DataType": declared, "BinaryValue": value}
    if text is not None:
        return {"DataType": "String", "StringValue": text}
    return {"DataType": "Binary", "BinaryValue": value}


def _declared_types(original: Sequence[Header]) -> dict[str, str]:
    """The attribute types ingest recorded in its `x-attribute-types` header ({} if none)."""
    raw = next((v for k, v in original if k == TYPES_HEADER and v), None)
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}


def _folded_original(index: int, name: str, value: bytes | None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index, "name": name}
    if value is None:
        out["null"] = True
    else:
        text, _ = text_of(value)
        if text is not None or value == b"":
            out["string"] = value.decode()
        else:
            out["base64"] = base64.b64encode(value).decode()
    return out


def attributes_for(original: Sequence[Header], provenance: Sequence[Header]
                   ) -> dict[str, dict[str, Any]]:
    """Message attributes: the originals first (with the types ingest recorded; ingest's own
    headers dropped), then the provenance (see the module)."""
    types = _declared_types(original)
    original = [(k, v) for k, v in original if k not in INGEST_HEADERS]
    names = {k for k, _ in provenance} | {FOLDED}
    carried: list[tuple[int, str, bytes]] = []
    folded: list[tuple[int, str, bytes | None]] = []
    seen: set[str] = set()
    for i, (k, v) in enumerate(original):
        if v and valid_name(k) and k not in seen and k not in names:
            carried.append((i, k, v))
            seen.add(k)
        else:
            folded.append((i, k, v))
    prov = [(k, v) for k, v in provenance if v]
    if not folded and len(carried) + len(prov) <= MAX_ATTRIBUTES:
        return {k: _value(v, types.get(k)) for _, k, v in carried} | \
            {k: _value(v) for k, v in prov}
    keep, over = carried[:MAX_ATTRIBUTES - 1], carried[MAX_ATTRIBUTES - 1:]
    fold: dict[str, Any] = {"provenance": {k: (v or b"").decode("utf-8", "replace")
                                           for k, v in provenance}}
    rest = sorted(over + folded)
    if rest:
        fold["attributes"] = [_folded_original(i, k, v) for i, k, v in rest]
    out = {k: _value(v, types.get(k)) for _, k, v in keep}
    out[FOLDED] = {"DataType": "String", "StringValue": json.dumps(fold, separators=(",", ":"))}
    return out


def provenance_of(attributes: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The provenance a received message carries (separate attributes or folded)."""
    out = {k: str(a.get("StringValue", "")) for k, a in attributes.items()
           if k.startswith("eventlab-") and k != FOLDED}
    if FOLDED in attributes:
        out.update(json.loads(attributes[FOLDED]["StringValue"])["provenance"])
    return out


def group_id_for(value: str) -> str:
    """A MessageGroupId for `value`: itself when SQS accepts it, else `h-` + its SHA-256."""
    if _GROUP.fullmatch(value):
        return value
    return "h-" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def dedup_id_for(job_id: str, src_topic: str | None, src_partition: int | None,
                 src_offset: int, event_id: str | None) -> str:
    """The MessageDeduplicationId of a republished record: SHA-256 (64 hex characters) of the
    replay job and the original position, the same however often the job is resumed."""
    ident = json.dumps([job_id, src_topic or "", src_partition, src_offset, event_id or ""])
    return hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()


def batches(entries: Sequence[Entry]) -> Iterator[list[Entry]]:
    """At most `MAX_BATCH` entries and `MAX_BATCH_BYTES` per batch (a larger entry alone)."""
    batch: list[Entry] = []
    size = 0
    for e in entries:
        if batch and (len(batch) == MAX_BATCH or size + e.size > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += e.size
    if batch:
        yield batch


class Publisher:
    """Queues (`kind='sqs'`) or topics (`kind='sns'`) of one endpoint, by name."""

    def __init__(self, config: AwsConfig, kind: str) -> None:
        if kind not in ("sqs", "sns"):
            raise SourceError(f"no AWS publisher for {kind!r}")
        self.config, self.kind = config, kind
        # one attempt per call: a retried call could deliver twice (retries are ours, below)
        self.client = client(config, kind, max_attempts=1)
        self._addresses: dict[str, str] = {}

    def address(self, name: str) -> str | None:
        """The queue URL / topic ARN of `name`, None when it does not exist."""
        if name in self._addresses:
            return self._addresses[name]
        found: str | None
        if self.kind == "sqs":
            try:
                found = resolve_url(self.config, name, self.client)
            except AwsNotFound:
                found = None
        else:
            found = next((arn for arn in self.topic_arns() if arn.rsplit(":", 1)[-1] == name),
                         None)
        if found is not None:
            self._addresses[name] = found
        return found

    def topic_arns(self) -> list[str]:
        """Every topic's ARN (ListTopics, paginated)."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {}
        with aws_errors("listing SNS topics"):
            while True:
                page = self.client.list_topics(**kwargs)
                arns += [t["TopicArn"] for t in page.get("Topics", [])]
                if not page.get("NextToken"):
                    return arns
                kwargs["NextToken"] = page["NextToken"]

    def send(self, name: str, entries: Sequence[Entry]) -> list[Result]:
        """Send one batch to `name`, retrying entries AWS failed by its own fault (receiver
        faults, throttling) up to `RETRIES` times; one `Result` per entry. Raises `NotSent`
        (no connection) or `NoAnswer` (the call may have gone through)."""
        address = self.address(name)
        if address is None:
            raise AwsNotFound(f"{self.kind.upper()} {name} does not exist on "
                              f"{self.config.describe()}")
        pending = {e.id: e for e in entries}
        done: dict[str, Result] = {}
        for attempt in range(RETRIES + 1):
            answers = self._call(address, list(pending.values()))
            retry = {}
            for r in answers:
                if not r.ok and not r.sender_fault and attempt < RETRIES:
                    retry[r.id] = pending[r.id]
                else:
                    done[r.id] = r
            if not retry:
                break
            pending = retry
            time.sleep(0.2 * 2 ** attempt)
        return [done[e.id] for e in entries]

    def _call(self, address: str, entries: list[Entry]) -> list[Result]:
        what = f"sending {len(entries)} message(s) to {self.kind.upper()} {address}"
        try:
            if self.kind == "sqs":
                answer = self.client.send_message_batch(
                    QueueUrl=address, Entries=[_entry(e, "MessageBody") for e in entries])
            else:
                answer = self.client.publish_batch(
                    TopicArn=address,
                    PublishBatchRequestEntries=[_entry(e, "Message") for e in entries])
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectTimeoutError) as exc:
            raise NotSent(f"{what}: no connection ({type(exc).__name__})") from None
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            message = str(exc.response.get("Error", {}).get("Message", ""))[:300]
            receiver = code in RETRY_CODES or status >= 500
            return [Result(e.id, code=code or f"HTTP {status}", detail=message,
                           sender_fault=not receiver) for e in entries]
        except botocore.exceptions.BotoCoreError as exc:
            raise NoAnswer(f"{what}: {type(exc).__name__}; the messages may have arrived") \
                from None
        out = [Result(str(s["Id"]), message_id=str(s["MessageId"]))
               for s in answer.get("Successful", [])]
        out += [Result(str(f["Id"]), code=str(f.get("Code", "")),
                       detail=str(f.get("Message", ""))[:300],
                       sender_fault=bool(f.get("SenderFault", True)))
                for f in answer.get("Failed", [])]
        answered = {r.id for r in out}
        out += [Result(e.id, code="NoAnswer", detail="neither successful nor failed in AWS's "
                       "answer", sender_fault=False) for e in entries if e.id not in answered]
        return out


def _entry(e: Entry, body_key: str) -> dict[str, Any]:
    """One batch entry: `MessageBody` (SQS) or `Message` (SNS) and the optional fields."""
    out: dict[str, Any] = {"Id": e.id, body_key: e.body}
    if e.attributes:
        out["MessageAttributes"] = e.attributes
    if e.group_id is not None:
        out["MessageGroupId"] = e.group_id
    if e.dedup_id is not None:
        out["MessageDeduplicationId"] = e.dedup_id
    return out


def source_queues(config: AwsConfig, dlq: str) -> list[str]:
    """The names of the queues whose redrive policy names the dead-letter queue `dlq`."""
    return sorted(queue_name(u) for u in dead_letter_sources(config, dlq))
