"""Reading every shard of the table's stream, as the Kinesis Client Library does, with leases.

Each pass (``poll``) goes over the stream's shards, takes the lease of each one it may read
(free, expired, or its own; a child only once its parent is read to its end, so an item's
records are applied in order across a shard split), reads each on to its tip, from its
checkpoint (or from the oldest record kept, for a shard never read) the first time, and writes
the checkpoint with the last records' changes (``records.RecordApplier``). A closed shard read
to its end is marked finished and never read again. Two processes share the shards between
them; one that stops (or dies) leaves its leases to expire, and another takes them over from
the checkpoints.

Between passes a process keeps the shard list (listed again every ``SHARD_LIST_SECONDS``, or
when a shard closes or a lease is lost) and, for the shards it holds, its iterator and lease;
so a pass over an idle shard is one ``GetRecords``, and a write of the checkpoint (renewing
the lease) every ``HEARTBEAT_SECONDS``: polling every second costs no more than that.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ....errors import StorageError, StorageOperationError
from ..table import stream_arn
from .checkpoints import (
    ShardState,
    checkpoint_update,
    ensure_indexer_table,
    indexer_table_name,
    read_shards,
    release_lease,
    take_lease,
)
from .records import LeaseLost, RecordApplier, record_time

if TYPE_CHECKING:
    from ..backend import DynamoDBStorage

logger = logging.getLogger(__name__)

#: Seconds a lease is held without being renewed (each batch read renews it).
LEASE_SECONDS = 30.0
#: Records one GetRecords returns at most (DynamoDB Streams' own limit).
RECORDS_PER_READ = 1000
#: Seconds between listings of the stream's shards and of who holds them (a split shows within this).
SHARD_LIST_SECONDS = 30.0
#: An idle shard's checkpoint (its lease, its "caught up" time) is written at most this often.
HEARTBEAT_SECONDS = 10.0


@dataclass
class _Held:
    """A shard this process holds: where it is in it, and until when the lease runs."""

    checkpoint: str | None = None
    iterator: str | None = None
    lease_until: float = 0.0
    written_at: float = 0.0


@dataclass
class PassReport:
    """What one pass did: records read and applied, shards read, shards held by others."""

    records: int = 0
    applied: int = 0
    shards_read: list[str] = field(default_factory=list)
    shards_elsewhere: list[str] = field(default_factory=list)


class StreamIndexer:
    """Keeps ``storage``'s derived state in step with its table's change stream."""

    def __init__(self, storage: DynamoDBStorage, *, owner: str | None = None,
                 lease_seconds: float = LEASE_SECONDS) -> None:
        parts = storage._stream_parts()
        if not parts.enabled:
            raise StorageOperationError("the stream indexer needs a storage opened with stream_indexer=true",
                                        code="StreamIndexerOff")
        self.storage = storage
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = lease_seconds
        self.table = parts.table
        self.indexer_table = indexer_table_name(parts.table)
        self._calls, self._streams = parts.calls, parts.stream_calls
        self._applier = RecordApplier(parts)
        self._ready = False
        # What this process knows between passes: the shards (listed again now and then), where
        # each stands, and, for the shards it holds, its place in each.
        self._arn = ""
        self._plan: list[dict[str, Any]] | None = None
        self._planned_at = 0.0
        self._states: dict[str, ShardState] = {}
        self._held: dict[str, _Held] = {}

    def poll(self) -> PassReport:
        """One pass over every shard this process may read; returns what it did."""
        self._ensure_ready()
        if self._plan is None or time.monotonic() - self._planned_at > SHARD_LIST_SECONDS:
            self._replan()
        report = PassReport()
        known = {shard["ShardId"] for shard in self._plan}
        for shard in self._plan:
            shard_id = shard["ShardId"]
            state = self._states.get(shard_id, ShardState(shard_id))
            parent = shard.get("ParentShardId")
            if state.finished or (parent in known and not self._states.get(parent, ShardState(parent)).finished):
                continue  # read to its end already, or its parent's records come first
            held = self._hold(shard_id, state)
            if held is None:
                report.shards_elsewhere.append(shard_id)
                continue
            try:
                finished = self._read(shard_id, held, report)
            except LeaseLost:
                logger.warning("stream indexer %s lost the lease of shard %s", self.owner, shard_id)
                self._drop(shard_id)
                continue
            except StorageOperationError:
                self._drop(shard_id)  # the next pass starts again from the stored checkpoint
                raise
            report.shards_read.append(shard_id)
            if finished:
                self._states[shard_id] = ShardState(shard_id, finished=True)
                self._drop(shard_id)  # and list the shards again: its children come next
        return report

    def run(self, *, interval: float = 1.0, stop: threading.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.poll()
            except StorageError as exc:  # DynamoDB unreachable, throttled, a moment's error: the next pass retries
                logger.error("stream indexer pass failed (trying again): %s", exc)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def release(self) -> None:
        """Give up every lease this process holds, so another can go on at once."""
        self._held.clear()
        self._plan = None
        for shard_id, state in read_shards(self._calls, self.indexer_table).items():
            if state.owner == self.owner:
                release_lease(self._calls, self.indexer_table, shard_id, self.owner)

    def _replan(self) -> None:
        """List the stream's shards and where each one stands (three requests, every
        ``SHARD_LIST_SECONDS`` or after a shard closes)."""
        arn = stream_arn(self._calls, self.table)
        if arn is None:
            raise StorageOperationError(f"DynamoDB table {self.table!r} has no stream", code="StreamNotEnabled")
        self._arn = arn
        self._states = read_shards(self._calls, self.indexer_table)
        self._plan = parents_first(list(_shards(self._streams, arn)))
        self._planned_at = time.monotonic()

    def _hold(self, shard_id: str, state: ShardState) -> _Held | None:
        """The shard's reading state if this process holds its lease, taking or renewing it when
        due; None while another live process holds it (asked only when its lease ran out)."""
        held = self._held.get(shard_id)
        now = time.time()
        if held is not None and held.lease_until - now > self.lease_seconds / 2:
            return held
        if held is None and state.owner not in (None, self.owner) and state.lease_until > now:
            return None
        if not take_lease(self._calls, self.indexer_table, shard_id, self.owner, self.lease_seconds):
            self._drop(shard_id)  # someone took it: see who on the next pass
            return None
        held = self._held.setdefault(shard_id, _Held(checkpoint=state.checkpoint))
        held.lease_until = now + self.lease_seconds
        return held

    def _drop(self, shard_id: str) -> None:
        self._held.pop(shard_id, None)
        self._plan = None

    def _read(self, shard_id: str, held: _Held, report: PassReport) -> bool:
        """Read one shard on from where this process is (its checkpoint, at first) to its tip;
        True once a closed shard is read to its end. An idle shard costs one GetRecords a pass,
        and a checkpoint (its lease renewed, "caught up" for the health page) every ``HEARTBEAT_SECONDS``."""
        if held.iterator is None:
            held.iterator = self._iterator(self._arn, shard_id, held.checkpoint)
        while True:
            page = self._streams.call("get_records", ShardIterator=held.iterator, Limit=RECORDS_PER_READ)
            records = page.get("Records", [])
            held.iterator = page.get("NextShardIterator")
            closed = held.iterator is None
            backlog = len(records) == RECORDS_PER_READ  # more may follow at once
            if records or closed or time.time() - held.written_at > HEARTBEAT_SECONDS:
                report.applied += self._applier.apply(
                    records, checkpoint=self._progress(shard_id, held, records, caught_up=not backlog, closed=closed))
                held.written_at, held.lease_until = time.time(), time.time() + self.lease_seconds
            report.records += len(records)
            if closed:
                return True
            if not backlog:
                return False

    def _progress(self, shard_id: str, held: _Held, records: list[dict[str, Any]], *, caught_up: bool,
                  closed: bool) -> Callable[[str | None], dict[str, Any]]:
        """What ``RecordApplier.apply`` calls to move the shard's checkpoint with each transaction
        of ``records``: from where this process has it to the sequence given (None: past the last
        record, which also tells the health page how far behind the shard is)."""
        last = records[-1] if records else None

        def checkpoint(sequence: str | None) -> dict[str, Any]:
            batch_end = sequence is None
            if batch_end and last is not None:
                sequence = last["dynamodb"]["SequenceNumber"]
            update = checkpoint_update(
                self.indexer_table, shard_id, self.owner, self.lease_seconds, after=held.checkpoint,
                sequence=sequence, last_record_at=record_time(last) if batch_end and last else None,
                caught_up=batch_end and caught_up, finished=batch_end and closed)
            # The transaction that carries it commits before the next is built, or the pass stops
            # here and the shard is read again from the stored checkpoint.
            held.checkpoint = sequence or held.checkpoint
            return update

        return checkpoint

    def _iterator(self, arn: str, shard_id: str, checkpoint: str | None) -> str | None:
        where: dict[str, Any] = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": checkpoint}
                                 if checkpoint else {"ShardIteratorType": "TRIM_HORIZON"})
        try:
            return self._streams.call("get_shard_iterator", StreamArn=arn, ShardId=shard_id, **where)["ShardIterator"]
        except StorageOperationError as exc:
            if exc.code != "TrimmedDataAccessException":
                raise
            # Records past the checkpoint expired unread (the indexer was off over 24 h): counts drift.
            logger.error("stream shard %s: records after %s are gone from the stream; run `manage.py recount`",
                         shard_id, checkpoint)
            return self._streams.call("get_shard_iterator", StreamArn=arn, ShardId=shard_id,
                                      ShardIteratorType="TRIM_HORIZON")["ShardIterator"]

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.storage.list_summaries()  # the data table, made or completed with its stream
            ensure_indexer_table(self._calls, self.indexer_table)
            self._ready = True


def parents_first(shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The shards with each parent before its children, so that one pass can finish a parent and
    then read its child."""
    by_id = {shard["ShardId"]: shard for shard in shards}
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(shard: dict[str, Any]) -> None:
        if shard["ShardId"] in placed:
            return
        placed.add(shard["ShardId"])
        if (parent := by_id.get(shard.get("ParentShardId") or "")) is not None:
            place(parent)
        ordered.append(shard)

    for shard in shards:
        place(shard)
    return ordered


def _shards(streams: Any, arn: str) -> Iterator[dict[str, Any]]:
    """Every shard of the stream, as DescribeStream pages them."""
    params: dict[str, Any] = {"StreamArn": arn}
    while True:
        description = streams.call("describe_stream", **params)["StreamDescription"]
        yield from description.get("Shards", [])
        last = description.get("LastEvaluatedShardId")
        if not last:
            return
        params["ExclusiveStartShardId"] = last
