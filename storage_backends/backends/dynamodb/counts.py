"""Reading what the totals cannot say alone, and a small cache.

The totals (``rollups``) give each phase, and the in-progress ones by the hour of their last
change; the stalled ones last changed in the cutoff's own hour are a key
range of the phase index (``count_stalled``). ``TimedCache`` keeps ``active_generations`` for
the metrics; counts by status are left for the caller to keep (one cache, which knows its age).
``scan_pages`` serves the whole-table passes that remain: cleanup, backfill and recount.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from datetime import datetime, timedelta
from typing import Any

from ...errors import StorageOperationError
from ...models import GenerationStatus, format_timestamp
from .client import DynamoDBCalls
from .derived import PHASE
from .expressions import Expression
from .index import LAST_CHANGE
from .table import PHASE_INDEX_NAME

logger = logging.getLogger(__name__)


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


def count_stalled(calls: DynamoDBCalls, table: str, since: str, cutoff: datetime) -> int:
    """Generations in progress last changed from ``since`` to just before ``cutoff``: one key
    range of the phase index (the caller gives the start of the cutoff's hour, so it is an hour's
    worth of in-progress items at most; the earlier ones come from the totals)."""
    expr = Expression()
    before = format_timestamp(cutoff - timedelta(milliseconds=1))  # times are kept to the millisecond
    condition = (f"{expr.name(PHASE)} = {expr.value(GenerationStatus.IN_PROGRESS.value)} AND "
                 f"{expr.name(LAST_CHANGE)} BETWEEN {expr.value(since)} AND {expr.value(before)}")
    params: dict[str, Any] = {"TableName": table, "IndexName": PHASE_INDEX_NAME, "KeyConditionExpression": condition,
                              "Select": "COUNT", **expr.params()}
    total = 0
    while True:
        try:
            response = calls.call("query", **params)
        except StorageOperationError as exc:
            if exc.code == "ValidationException" and "backfilling" in str(exc):
                # The index an older table was just given is still being built: none counted stalled yet.
                logger.warning("%s is still being built: stalled generations are counted in progress", PHASE_INDEX_NAME)
                return 0
            raise
        total += response["Count"]
        if "LastEvaluatedKey" not in response:
            return total
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
