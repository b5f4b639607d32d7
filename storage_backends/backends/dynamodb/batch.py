"""Batch requests within DynamoDB's limits, re-sending what it leaves unprocessed.

``BatchWriteItem`` takes at most 25 requests and ``BatchGetItem`` 100 keys; under load the
service hands back ``UnprocessedItems`` / ``UnprocessedKeys``, which are re-sent with capped
exponential backoff and full jitter (as the AWS guidance says) until an overall deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any, TypeVar

from ...errors import StorageOperationError
from .client import DynamoDBCalls

MAX_WRITES = 25
MAX_GETS = 100
#: BatchGetItem requests of one read sent at once.
MAX_PARALLEL_GETS = 8

T = TypeVar("T")
R = TypeVar("R")


def at_once(function: Callable[[T], R], items: list[T], *, workers: int) -> list[R]:
    """``function`` of each item, in order, up to ``workers`` calls at once: requests that each
    wait on a round trip and do not depend on one another. One item is done in this thread."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))


class Backoff:
    """Full-jitter exponential backoff (by default 0.05 s doubling, capped at 2 s) under an
    overall deadline."""

    def __init__(self, deadline_seconds: float, *, base: float = 0.05, cap: float = 2.0) -> None:
        self._deadline = time.monotonic() + deadline_seconds
        self._attempt = 0
        self._base, self._cap = base, cap

    def wait(self) -> bool:
        """Sleep before the next try; False, without sleeping, once that would pass the deadline."""
        delay = random.uniform(0, min(self._cap, self._base * 2 ** self._attempt))
        self._attempt += 1
        if time.monotonic() + delay > self._deadline:
            return False
        time.sleep(delay)
        return True


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def write_all(calls: DynamoDBCalls, table: str, requests: Iterable[dict[str, Any]], *,
              deadline_seconds: float) -> int:
    """Send put/delete requests 25 at a time (read lazily); returns how many writes were done."""
    written = 0
    for chunk in chunks(requests, MAX_WRITES):
        pending: list[dict[str, Any]] = chunk
        backoff = Backoff(deadline_seconds)
        written += len(chunk)
        while pending:
            response = calls.call("batch_write_item", RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if pending and not backoff.wait():
                raise StorageOperationError(
                    f"DynamoDB left {len(pending)} writes unprocessed after {deadline_seconds:g}s of retries: "
                    f"{', '.join(_describe(request) for request in pending)}",
                    code="UnprocessedItems",
                )
    return written


def get_all(calls: DynamoDBCalls, table: str, keys: list[dict[str, Any]], *, projection: dict[str, Any],
            deadline_seconds: float, consistent: bool = True) -> list[dict[str, Any]]:
    """Read items by key, 100 a request, the requests of more than 100 keys at once (a page of
    500 documents costs one round trip, not five); ``projection`` is a ProjectionExpression and its
    names. Strongly consistent unless told otherwise (an eventually consistent read costs half)."""
    requests = [{"Keys": chunk, "ConsistentRead": consistent, **projection} for chunk in chunks(keys, MAX_GETS)]
    answers = at_once(lambda request: _get(calls, table, request, deadline_seconds), requests,
                      workers=MAX_PARALLEL_GETS)
    return [item for answer in answers for item in answer]


def _get(calls: DynamoDBCalls, table: str, pending: dict[str, Any] | None,
         deadline_seconds: float) -> list[dict[str, Any]]:
    """One BatchGetItem request, and again for the keys it leaves unprocessed."""
    found: list[dict[str, Any]] = []
    backoff = Backoff(deadline_seconds)
    while pending:
        response = calls.call("batch_get_item", RequestItems={table: pending})
        found.extend(response.get("Responses", {}).get(table, []))
        pending = response.get("UnprocessedKeys", {}).get(table)
        if pending and not backoff.wait():
            raise StorageOperationError(
                f"DynamoDB left {len(pending['Keys'])} reads unprocessed after {deadline_seconds:g}s of retries",
                code="UnprocessedKeys",
            )
    return found


def _describe(request: dict[str, Any]) -> str:
    """The generation id a put or delete request is about."""
    body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key", {})
    return repr(body.get("generationId", {}).get("S"))
