"""The indexer's own table: a lease and a checkpoint per shard, and the last record applied per item.

Its name is the data table's plus ``-indexer``; it is made on first use (pay per request, key
``pk`` + ``sk``, Time to Live on ``expiresAt``). Two kinds of item:

- ``pk = "shards"``, ``sk = <shard id>``: who holds the shard (``owner``) until when
  (``leaseUntil``, epoch seconds), the last sequence number applied (``checkpoint``), whether
  the shard is closed and read to its end (``finished``), the creation time of the last record
  applied (``lastRecordAt``), when it was last read to its tip (``caughtUpAt``). As the Kinesis
  Client Library's lease table: a process takes a shard whose lease is free or expired, renews
  it as it goes, and every checkpoint is written on the condition that it still holds it.
  Each checkpoint moves in the transaction that applies the records up to it, on the condition
  that it has not moved meanwhile: so the shard reader needs nothing per item.
- ``pk = "item#<generation id>"``, ``sk = "applied"`` (written by the Lambda handler alone, which
  keeps no checkpoint: Lambda keeps the shard's position): the sequence number of the last record
  of that item whose derived state was applied (``seq``). It is written in the same transaction
  as the rollups the record moves, on the condition that the record is newer, so a batch Lambda
  retries is never counted twice. It expires two days later, when the stream (24 h) can no
  longer deliver that record again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ....errors import StorageOperationError
from ..client import DynamoDBCalls
from ..expressions import Expression
from ..items import from_item_values

SHARDS = "shards"
#: Seconds an item's last applied sequence number is kept: past the stream's 24 h retention.
APPLIED_KEPT_SECONDS = 2 * 24 * 3600
_WAIT_SECONDS = 60.0
#: An open shard not read to its tip for this long is behind (the indexer polls every second).
BEHIND_SECONDS = 30.0


def indexer_table_name(table: str) -> str:
    return f"{table}-indexer"


def ensure_indexer_table(calls: DynamoDBCalls, name: str) -> None:
    """Make the indexer's table unless it exists, and wait until it can be used."""
    try:
        calls.call("describe_table", TableName=name)
        return
    except StorageOperationError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
    try:
        calls.call("create_table", TableName=name, BillingMode="PAY_PER_REQUEST",
                   KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "S"}])
    except StorageOperationError as exc:
        if exc.code != "ResourceInUseException":  # another indexer made it at the same moment
            raise
    deadline = time.monotonic() + _WAIT_SECONDS
    while calls.call("describe_table", TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        if time.monotonic() > deadline:
            raise StorageOperationError(f"DynamoDB table {name!r} did not become ACTIVE", code="TableNotActive")
        time.sleep(0.5)
    calls.call("update_time_to_live", TableName=name,
               TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})


@dataclass(frozen=True)
class ShardState:
    shard_id: str
    owner: str | None = None
    lease_until: float = 0.0
    checkpoint: str | None = None
    finished: bool = False
    last_record_at: float | None = None
    caught_up_at: float | None = None


def read_shards(calls: DynamoDBCalls, name: str) -> dict[str, ShardState]:
    """Every shard the indexer has seen, by id (one Query, paged)."""
    expr = Expression()
    params: dict[str, Any] = {"TableName": name, "KeyConditionExpression": f"{expr.name('pk')} = {expr.value(SHARDS)}",
                              "ConsistentRead": True, **expr.params()}
    found: dict[str, ShardState] = {}
    while True:
        page = calls.call("query", **params)
        for raw in page["Items"]:
            item = from_item_values(raw)
            found[item["sk"]] = ShardState(
                shard_id=item["sk"], owner=item.get("owner"), lease_until=float(item.get("leaseUntil", 0)),
                checkpoint=item.get("checkpoint"), finished=bool(item.get("finished")),
                last_record_at=_optional_float(item.get("lastRecordAt")),
                caught_up_at=_optional_float(item.get("caughtUpAt")))
        if "LastEvaluatedKey" not in page:
            return found
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def indexer_status(calls: DynamoDBCalls, name: str) -> dict[str, Any]:
    """What the health page shows: per open shard, who reads it, the age of the last record applied
    and of the last read to its tip; ``behind`` when one was not read to its tip for
    ``BEHIND_SECONDS`` (or the indexer never ran)."""
    try:
        shards = read_shards(calls, name)
    except StorageOperationError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        return {"started": False, "behind": True, "shards": []}
    now = time.time()
    rows = [{"shard": state.shard_id, "owner": state.owner if state.lease_until > now else None,
             "last_record_age_seconds": _age(now, state.last_record_at),
             "caught_up_age_seconds": _age(now, state.caught_up_at)}
            for state in shards.values() if not state.finished]
    for row in rows:
        row["behind"] = row["caught_up_age_seconds"] is None or row["caught_up_age_seconds"] > BEHIND_SECONDS
    return {"started": True, "behind": any(row["behind"] for row in rows) or not rows, "shards": rows}


def _age(now: float, moment: float | None) -> float | None:
    return None if moment is None else round(max(0.0, now - moment), 1)


def shard_key(shard_id: str) -> dict[str, Any]:
    return {"pk": {"S": SHARDS}, "sk": {"S": shard_id}}


def applied_key(generation_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"item#{generation_id}"}, "sk": {"S": "applied"}}


def take_lease(calls: DynamoDBCalls, name: str, shard_id: str, owner: str, lease_seconds: float) -> bool:
    """Hold ``shard_id`` for ``lease_seconds`` if nobody else holds it now; False if someone does."""
    now = time.time()
    expr = Expression()
    free = (f"attribute_not_exists({expr.name('owner')}) OR {expr.name('owner')} = {expr.value(owner)}"
            f" OR {expr.name('leaseUntil')} < {expr.value(now)}")
    try:
        calls.call("update_item", TableName=name, Key=shard_key(shard_id),
                   UpdateExpression=f"SET {expr.name('owner')} = {expr.value(owner)}, "
                                    f"{expr.name('leaseUntil')} = {expr.value(now + lease_seconds)}",
                   ConditionExpression=free, **expr.params())
    except StorageOperationError as exc:
        if exc.code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def release_lease(calls: DynamoDBCalls, name: str, shard_id: str, owner: str) -> None:
    """Let another process take the shard at once (if this one still holds it)."""
    expr = Expression()
    try:
        calls.call("update_item", TableName=name, Key=shard_key(shard_id),
                   UpdateExpression=f"SET {expr.name('leaseUntil')} = {expr.value(0)}",
                   ConditionExpression=f"{expr.name('owner')} = {expr.value(owner)}", **expr.params())
    except StorageOperationError as exc:
        if exc.code != "ConditionalCheckFailedException":
            raise


def checkpoint_update(name: str, shard_id: str, owner: str, lease_seconds: float, *, after: str | None,
                      sequence: str | None, last_record_at: float | None, caught_up: bool,
                      finished: bool = False) -> dict[str, Any]:
    """A transaction's ``Update`` that moves a shard's checkpoint from ``after`` (None: never
    written) to ``sequence`` and renews its lease, on the condition that ``owner`` still holds it
    and the checkpoint is still ``after``. The records between the two are applied in the same
    transaction, so a batch read again (by a process that lost its lease, or one that did not
    know the checkpoint moved) writes nothing and counts nothing twice."""
    expr = Expression()
    checkpoint = expr.name("checkpoint")
    unmoved = (f"attribute_not_exists({checkpoint})" if after is None
               else f"{checkpoint} = {expr.value(after)}")
    values: dict[str, Any] = {"leaseUntil": time.time() + lease_seconds}
    if sequence is not None:
        values["checkpoint"] = sequence
    if last_record_at is not None:
        values["lastRecordAt"] = last_record_at
    if caught_up:
        values["caughtUpAt"] = time.time()
    if finished:
        values["finished"] = True
    assignments = ", ".join(f"{expr.name(field)} = {expr.value(value)}" for field, value in values.items())
    return {"TableName": name, "Key": shard_key(shard_id), "UpdateExpression": f"SET {assignments}",
            "ConditionExpression": f"{expr.name('owner')} = {expr.value(owner)} AND {unmoved}", **expr.params()}


def applied_update(name: str, generation_id: str, first: str, last: str) -> dict[str, Any]:
    """A transaction's ``Update`` that records ``last`` as the item's last applied record, on the
    condition that none at or after ``first`` was applied before. Sequence numbers are strings of
    up to 40 digits (more than a DynamoDB number holds): compared as strings padded to 40."""
    expr = Expression()
    seq = expr.name("seq")
    return {"TableName": name, "Key": applied_key(generation_id),
            "UpdateExpression": f"SET {seq} = {expr.value(last.zfill(40))}, "
                                f"{expr.name('expiresAt')} = {expr.value(int(time.time()) + APPLIED_KEPT_SECONDS)}",
            "ConditionExpression": f"attribute_not_exists({seq}) OR {seq} < {expr.value(first.zfill(40))}",
            **expr.params()}


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
