"""The table and its indexes: checked, created or completed, then waited for.

A table is reused when its key is ``generationId`` alone; any other key schema is refused
(writing there would scatter documents). A table without the indexes (one laid out as the
seed describes) gets them with ``UpdateTable``; existing items join them once backfilled. A
projection cannot be changed in place: a created index made ``ALL`` by an earlier version is
used as it is (a superset of the row's attributes, and a bigger write per update) until it is
dropped, after which the next start adds it slim. A
PROVISIONED table (the seed advises provisioned billing for high throughput) is adopted: the
index it gets is given throughput too, from the options or matching the table's. With a TTL
attribute, Time to Live is switched on for it. With ``stream`` (``stream_indexer``), the table's
change stream is switched on with old and new images.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ...documents import CREATED, ID_FIELD, UPDATED
from ...errors import StorageInitializationError, StorageOperationError
from .client import DynamoDBCalls
from .derived import FAILURE, PHASE, STAGE, SUMMARY
from .index import CREATED_KEY, INDEX_NAME, LANGUAGE, LAST_CHANGE, SEARCH_ID, SEARCH_PROMPT, SHARD

PHASE_INDEX_NAME = "gennie-phase-index"
STATUS_INDEX_NAME = "gennie-status-index"
FAILURE_INDEX_NAME = "gennie-failure-index"
#: What a list row needs (the summary, the times) and what the filters compare: an index item is
#: a row, so a stage update writes about a row to each index, not the whole document again.
ROW_ATTRIBUTES = (CREATED, UPDATED, SUMMARY, STAGE, FAILURE, PHASE, SHARD, LANGUAGE, SEARCH_ID, SEARCH_PROMPT,
                  LAST_CHANGE)
_POLL_SECONDS = 1.0


def _slim_index(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}],
        # An index's own keys are projected anyway, and DynamoDB refuses them in NonKeyAttributes.
        "Projection": {"ProjectionType": "INCLUDE",
                       "NonKeyAttributes": [a for a in ROW_ATTRIBUTES if a not in (hash_key, range_key)]},
    }


_INDEXES = [
    # Every item newest (or oldest) first: the unfiltered list and the stage, language and search filters.
    _slim_index(INDEX_NAME, SHARD, CREATED_KEY),
    # Items of one phase by created time: a status page reads items of that status alone.
    _slim_index(STATUS_INDEX_NAME, PHASE, CREATED_KEY),
    # Failed items of one failure group by created time (sparse: only failed items carry the key).
    _slim_index(FAILURE_INDEX_NAME, FAILURE, CREATED_KEY),
    {
        # Items by phase and last change: the stalled ones of an hour (in progress, idle since before
        # a cut-off) are one key range; with the created time, insights tell their hour.
        "IndexName": PHASE_INDEX_NAME,
        "KeySchema": [{"AttributeName": PHASE, "KeyType": "HASH"},
                      {"AttributeName": LAST_CHANGE, "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [CREATED_KEY]},
    },
]
_ATTRIBUTES = [
    {"AttributeName": ID_FIELD, "AttributeType": "S"},
    {"AttributeName": SHARD, "AttributeType": "S"},
    {"AttributeName": CREATED_KEY, "AttributeType": "S"},
    {"AttributeName": PHASE, "AttributeType": "S"},
    {"AttributeName": LAST_CHANGE, "AttributeType": "S"},
    {"AttributeName": FAILURE, "AttributeType": "S"},
]


PAY_PER_REQUEST, PROVISIONED = "PAY_PER_REQUEST", "PROVISIONED"
#: The change stream ``stream_indexer`` reads: every write's old and new images.
STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


@dataclass(frozen=True)
class TableLayout:
    """How the table is made or completed: what may be done, how it is billed, its TTL attribute."""

    create: bool = True
    add_index: bool = True
    billing_mode: str = PAY_PER_REQUEST
    #: Throughput of a PROVISIONED table made here, and of an index added to one (None: the table's).
    read_capacity: int | None = None
    write_capacity: int | None = None
    ttl_attribute: str | None = None
    wait_seconds: float = 120.0
    #: Whether the table carries a change stream of old and new images (``stream_indexer``).
    stream: bool = False


def ensure_table(calls: DynamoDBCalls, table: str, layout: TableLayout) -> None:
    """Make sure ``table`` exists with the right key and the listing index, creating the table if
    ``layout.create`` and adding the index if ``layout.add_index``; errors name the AWS code."""
    try:
        description = _describe(calls, table)
        if description is None:
            if not layout.create:
                raise StorageInitializationError(
                    f"DynamoDB table {table!r} does not exist (ResourceNotFoundException): check the name, "
                    "or let the backend create it (create=true)"
                )
            description = _create(calls, table, layout)
        _check_key(table, description)
        present = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
        for index in _INDEXES:
            if index["IndexName"] in present:
                continue
            if not layout.add_index:
                raise StorageInitializationError(
                    f"DynamoDB table {table!r} has no index {index['IndexName']!r}; "
                    "let the backend add it with create_table=true"
                )
            # One index at a time: DynamoDB refuses a second while the first is being built.
            _wait_until_active(calls, table, layout.wait_seconds)
            # Only the attributes the new index's key uses: DynamoDB refuses definitions nothing uses.
            used = {part["AttributeName"] for part in index["KeySchema"]}
            calls.call("update_table", TableName=table,
                       AttributeDefinitions=[a for a in _ATTRIBUTES if a["AttributeName"] in used],
                       GlobalSecondaryIndexUpdates=[{"Create": _index_for(index, description, layout)}])
        # Listing needs its indexes; the phase index, which an older table gets here and which may take
        # hours to build over a large one, is read by the stalled count alone (see counts.py).
        _wait_until_active(calls, table, layout.wait_seconds,
                           indexes=frozenset({INDEX_NAME, STATUS_INDEX_NAME, FAILURE_INDEX_NAME}))
        if layout.ttl_attribute:
            _enable_ttl(calls, table, layout.ttl_attribute)
        if layout.stream:
            _enable_stream(calls, table, description, layout.wait_seconds)
    except StorageOperationError as exc:
        raise StorageInitializationError(f"cannot use DynamoDB table {table!r}: {exc}") from exc


def _describe(calls: DynamoDBCalls, table: str) -> dict[str, Any] | None:
    try:
        return calls.call("describe_table", TableName=table)["Table"]
    except StorageOperationError as exc:
        if exc.code == "ResourceNotFoundException":
            return None
        raise


def _create(calls: DynamoDBCalls, table: str, layout: TableLayout) -> dict[str, Any]:
    billing: dict[str, Any] = {"BillingMode": layout.billing_mode}
    indexes = [dict(index) for index in _INDEXES]
    if layout.billing_mode == PROVISIONED:
        billing["ProvisionedThroughput"] = _throughput(layout.read_capacity or 5, layout.write_capacity or 5)
        for index in indexes:
            index["ProvisionedThroughput"] = billing["ProvisionedThroughput"]
    if layout.stream:
        billing["StreamSpecification"] = STREAM
    try:
        return calls.call(
            "create_table", TableName=table, KeySchema=[{"AttributeName": ID_FIELD, "KeyType": "HASH"}],
            AttributeDefinitions=_ATTRIBUTES, GlobalSecondaryIndexes=indexes, **billing,
        )["TableDescription"]
    except StorageOperationError as exc:
        if exc.code != "ResourceInUseException":
            raise
        # Another process created it at the same moment: use theirs.
        return calls.call("describe_table", TableName=table)["Table"]


def _index_for(index: dict[str, Any], description: dict[str, Any], layout: TableLayout) -> dict[str, Any]:
    """An index to add to an existing table: with throughput when the table is PROVISIONED
    (DynamoDB refuses the index otherwise), from the options or else matching the table's own."""
    mode = description.get("BillingModeSummary", {}).get("BillingMode")
    table_throughput = description.get("ProvisionedThroughput", {})
    # A table made PROVISIONED long ago may carry no BillingModeSummary, only its throughput.
    if mode == PAY_PER_REQUEST or (mode is None and not table_throughput.get("ReadCapacityUnits")):
        return index
    return {**index, "ProvisionedThroughput": _throughput(
        layout.read_capacity or table_throughput.get("ReadCapacityUnits") or 5,
        layout.write_capacity or table_throughput.get("WriteCapacityUnits") or 5,
    )}


def _throughput(read: int, write: int) -> dict[str, int]:
    return {"ReadCapacityUnits": int(read), "WriteCapacityUnits": int(write)}


def _enable_ttl(calls: DynamoDBCalls, table: str, attribute: str) -> None:
    """Switch Time to Live on for ``attribute`` unless it is on already (one request when it is)."""
    current = calls.call("describe_time_to_live", TableName=table).get("TimeToLiveDescription", {})
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
        return
    calls.call("update_time_to_live", TableName=table,
               TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute})


def _enable_stream(calls: DynamoDBCalls, table: str, description: dict[str, Any], wait_seconds: float) -> None:
    """Switch the change stream on unless it is on; one with other images than old and new is
    refused (the indexer needs both, and a stream's view type cannot change while it is on)."""
    current = description.get("StreamSpecification") or {}
    if current.get("StreamEnabled"):
        if current.get("StreamViewType") != STREAM["StreamViewType"]:
            raise StorageInitializationError(
                f"DynamoDB table {table!r} has a {current.get('StreamViewType')} stream; the indexer needs "
                "NEW_AND_OLD_IMAGES: switch that stream off first (UpdateTable), and the backend switches it on again"
            )
        return
    _wait_until_active(calls, table, wait_seconds)
    calls.call("update_table", TableName=table, StreamSpecification=STREAM)
    _wait_until_active(calls, table, wait_seconds)


def stream_arn(calls: DynamoDBCalls, table: str) -> str | None:
    """The table's current stream, if it has one."""
    return calls.call("describe_table", TableName=table)["Table"].get("LatestStreamArn")


def _check_key(table: str, description: dict[str, Any]) -> None:
    key = [(part["AttributeName"], part["KeyType"]) for part in description["KeySchema"]]
    if key != [(ID_FIELD, "HASH")]:
        found = ", ".join(f"{name} ({kind})" for name, kind in key)
        raise StorageInitializationError(
            f"DynamoDB table {table!r} has the key {found}; this backend needs {ID_FIELD} (HASH) alone"
        )


def _wait_until_active(calls: DynamoDBCalls, table: str, wait_seconds: float, *,
                       indexes: frozenset[str] | None = None) -> None:
    """Poll until the table and its indexes (only ``indexes``, if given) are ACTIVE, for at most
    ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        description = calls.call("describe_table", TableName=table)["Table"]
        statuses = [description["TableStatus"]]
        statuses += [index.get("IndexStatus", "ACTIVE") for index in description.get("GlobalSecondaryIndexes", [])
                     if indexes is None or index["IndexName"] in indexes]
        if all(status == "ACTIVE" for status in statuses):
            return
        if time.monotonic() + _POLL_SECONDS > deadline:
            raise StorageInitializationError(
                f"DynamoDB table {table!r} is not ACTIVE after {wait_seconds:g}s (statuses: {', '.join(statuses)})"
            )
        time.sleep(_POLL_SECONDS)
