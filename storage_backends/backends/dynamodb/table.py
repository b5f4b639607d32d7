"""The table and its listing index: checked, created or completed, then waited for.

A table is reused when its key is ``generationId`` alone; any other key schema is refused
(writing there would scatter documents). A table without the listing index (one laid out as
the seed describes) gets it with ``UpdateTable``; existing items join it once backfilled.
"""

from __future__ import annotations

import time
from typing import Any

from ...documents import ID_FIELD
from ...errors import StorageInitializationError, StorageOperationError
from .client import DynamoDBCalls
from .index import CREATED_KEY, INDEX_NAME, SHARD

_POLL_SECONDS = 1.0
_INDEX = {
    "IndexName": INDEX_NAME,
    "KeySchema": [{"AttributeName": SHARD, "KeyType": "HASH"}, {"AttributeName": CREATED_KEY, "KeyType": "RANGE"}],
    # Whole items in the index, so a page is one Query with no follow-up reads.
    "Projection": {"ProjectionType": "ALL"},
}
_ATTRIBUTES = [
    {"AttributeName": ID_FIELD, "AttributeType": "S"},
    {"AttributeName": SHARD, "AttributeType": "S"},
    {"AttributeName": CREATED_KEY, "AttributeType": "S"},
]


def ensure_table(calls: DynamoDBCalls, table: str, *, create: bool, add_index: bool, wait_seconds: float) -> None:
    """Make sure ``table`` exists with the right key and the listing index, creating the table if
    ``create`` and adding the index if ``add_index``; errors name the AWS code."""
    try:
        description = _describe(calls, table)
        if description is None:
            if not create:
                raise StorageInitializationError(
                    f"DynamoDB table {table!r} does not exist (ResourceNotFoundException): check the name, "
                    "or let the backend create it (create=true)"
                )
            description = _create(calls, table)
        _check_key(table, description)
        if not any(index["IndexName"] == INDEX_NAME for index in description.get("GlobalSecondaryIndexes", [])):
            if not add_index:
                raise StorageInitializationError(
                    f"DynamoDB table {table!r} has no index {INDEX_NAME!r}; "
                    "let the backend add it with create_table=true"
                )
            calls.call("update_table", TableName=table, AttributeDefinitions=_ATTRIBUTES[1:],
                       GlobalSecondaryIndexUpdates=[{"Create": _INDEX}])
        _wait_until_active(calls, table, wait_seconds)
    except StorageOperationError as exc:
        raise StorageInitializationError(f"cannot use DynamoDB table {table!r}: {exc}") from exc


def _describe(calls: DynamoDBCalls, table: str) -> dict[str, Any] | None:
    try:
        return calls.call("describe_table", TableName=table)["Table"]
    except StorageOperationError as exc:
        if exc.code == "ResourceNotFoundException":
            return None
        raise


def _create(calls: DynamoDBCalls, table: str) -> dict[str, Any]:
    try:
        return calls.call(
            "create_table", TableName=table, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": ID_FIELD, "KeyType": "HASH"}],
            AttributeDefinitions=_ATTRIBUTES, GlobalSecondaryIndexes=[_INDEX],
        )["TableDescription"]
    except StorageOperationError as exc:
        if exc.code != "ResourceInUseException":
            raise
        # Another process created it at the same moment: use theirs.
        return calls.call("describe_table", TableName=table)["Table"]


def _check_key(table: str, description: dict[str, Any]) -> None:
    key = [(part["AttributeName"], part["KeyType"]) for part in description["KeySchema"]]
    if key != [(ID_FIELD, "HASH")]:
        found = ", ".join(f"{name} ({kind})" for name, kind in key)
        raise StorageInitializationError(
            f"DynamoDB table {table!r} has the key {found}; this backend needs {ID_FIELD} (HASH) alone"
        )


def _wait_until_active(calls: DynamoDBCalls, table: str, wait_seconds: float) -> None:
    """Poll until the table and its index are ACTIVE, for at most ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        description = calls.call("describe_table", TableName=table)["Table"]
        statuses = [description["TableStatus"]]
        statuses += [index.get("IndexStatus", "ACTIVE") for index in description.get("GlobalSecondaryIndexes", [])]
        if all(status == "ACTIVE" for status in statuses):
            return
        if time.monotonic() + _POLL_SECONDS > deadline:
            raise StorageInitializationError(
                f"DynamoDB table {table!r} is not ACTIVE after {wait_seconds:g}s (statuses: {', '.join(statuses)})"
            )
        time.sleep(_POLL_SECONDS)
