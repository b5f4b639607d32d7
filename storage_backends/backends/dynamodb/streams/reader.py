"""Reading every shard of the table's stream, as the Kinesis Client Library does, with leases.

Each pass (``poll``) lists the stream's shards, takes the lease of each one it may read (free,
expired, or its own; a child only once its parent is read to its end, so an item's records are
applied in order across a shard split), reads each from its checkpoint (or from the oldest
record kept, for a shard never read) to its tip, and writes the checkpoint with the last
records' changes (``records.RecordApplier``). A closed shard read to its end is marked finished
and never read again. Two processes share the shards between them; one that stops (or dies)
leaves its leases to expire, and another takes them over from the checkpoints.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ....errors import StorageOperationError
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

    def poll(self) -> PassReport:
        """One pass over every shard this process may read; returns what it did."""
        self._ensure_ready()
        arn = stream_arn(self._calls, self.table)
        if arn is None:
            raise StorageOperationError(f"DynamoDB table {self.table!r} has no stream",
                                        code="StreamNotEnabled")
        report = PassReport()
        states = read_shards(self._calls, self.indexer_table)
        shards = parents_first(list(_shards(self._streams, arn)))
        known = {shard["ShardId"] for shard in shards}
        for shard in shards:
            shard_id = shard["ShardId"]
            state = states.get(shard_id, ShardState(shard_id))
            if state.finished:
                continue
            parent = shard.get("ParentShardId")
            if parent in known and not states.get(parent, ShardState(parent)).finished:
                continue  # its parent's records come first
            if not take_lease(self._calls, self.indexer_table, shard_id, self.owner, self.lease_seconds):
                report.shards_elsewhere.append(shard_id)
                continue
            try:
                finished = self._read(arn, shard_id, state, report)
            except LeaseLost:
                logger.warning("stream indexer %s lost the lease of shard %s", self.owner, shard_id)
                continue
            report.shards_read.append(shard_id)
            if finished:
                states[shard_id] = ShardState(shard_id, finished=True)
        return report

    def run(self, *, interval: float = 1.0, stop: threading.Event | None = None) -> None:
        """Poll every ``interval`` seconds until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.poll()
            except StorageOperationError as exc:
                logger.error("stream indexer pass failed (trying again): %s", exc)
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def release(self) -> None:
        """Give up every lease this process holds, so another can go on at once."""
        for shard_id, state in read_shards(self._calls, self.indexer_table).items():
            if state.owner == self.owner:
                release_lease(self._calls, self.indexer_table, shard_id, self.owner)

    def _read(self, arn: str, shard_id: str, state: ShardState, report: PassReport) -> bool:
        """Read one shard from its checkpoint to its tip; True once a closed shard is read to its end."""
        iterator = self._iterator(arn, shard_id, state.checkpoint)
        while iterator is not None:
            page = self._streams.call("get_records", ShardIterator=iterator, Limit=RECORDS_PER_READ)
            records = page.get("Records", [])
            iterator = page.get("NextShardIterator")
            closed = iterator is None
            # An empty read of an open shard: at its tip for this pass (the next one reads on).
            caught_up = closed or not records
            last = records[-1] if records else None

            def progress(last: dict[str, Any] | None = last, caught_up: bool = caught_up,
                         closed: bool = closed) -> dict[str, Any]:
                return checkpoint_update(
                    self.indexer_table, shard_id, self.owner, self.lease_seconds,
                    sequence=last["dynamodb"]["SequenceNumber"] if last else None,
                    last_record_at=record_time(last) if last else None, caught_up=caught_up, finished=closed)

            report.applied += self._applier.apply(records, checkpoint=progress)
            report.records += len(records)
            if caught_up:
                return closed
        return True

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
