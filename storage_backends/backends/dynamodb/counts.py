"""Counts that need a whole-table Scan.

``DescribeTable``'s ``ItemCount`` is refreshed by AWS only every ~6 hours, so the number of
generations is a ``Select=COUNT`` Scan, kept for ``max_age`` seconds (``TimedCache``) and dropped
when this process writes; counts by status read the stage maps and are left for the caller
to keep (one cache, which knows how old its counts are).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterator
from datetime import timedelta
from typing import Any

from ...documents import CREATED, ID_FIELD, UPDATED
from ...filtering import count_statuses
from ...models import STAGES, GenerationState, GenerationStatus
from .client import DynamoDBCalls
from .expressions import Expression, projection


class TimedCache:
    """Values kept for ``max_age`` seconds; ``ages`` says how old each one is."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value kept under ``key`` while fresh, else ``compute()`` (kept from now on)."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] <= self.max_age:
            return entry[1]
        value = compute()
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
        return value

    def ages(self) -> dict[str, float]:
        """Seconds since each value was computed, for metrics."""
        now = time.monotonic()
        with self._lock:
            return {str(key): round(now - stored, 3) for key, (stored, _) in self._entries.items()}

    def clear(self) -> None:
        """Forget every value: a write here has made them stale."""
        with self._lock:
            self._entries.clear()


def scan_pages(calls: DynamoDBCalls, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a Scan."""
    while True:
        response = calls.call("scan", **params)
        yield response
        if "LastEvaluatedKey" not in response:
            return
        params = {**params, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def count_items(calls: DynamoDBCalls, table: str) -> int:
    return sum(page["Count"] for page in scan_pages(calls, TableName=table, Select="COUNT"))


def count_by_status(calls: DynamoDBCalls, table: str, stalled_after: timedelta,
                    read: Callable[[dict[str, Any]], GenerationState | None]) -> dict[GenerationStatus, int]:
    """Statuses from the times and stage maps only (not the unknown attributes or index copies);
    items ``read`` turns into None are not counted."""
    expr = Expression()
    names = projection(expr, ID_FIELD, CREATED, UPDATED, *(stage.value for stage in STAGES))
    pages = scan_pages(calls, TableName=table, ProjectionExpression=names, **expr.params())
    states = (read(item) for page in pages for item in page["Items"])
    return count_statuses((state for state in states if state is not None), stalled_after)
