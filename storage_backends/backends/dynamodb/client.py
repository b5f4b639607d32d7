"""The one place boto3 is called: a lazily made client, per-request metrics, error translation.

A boto3 client is thread-safe once made, but making one (and its session) is not, so it is
made once under a lock. Every request goes through ``DynamoDBCalls.call``, which times it,
adds up botocore's retries, and turns ``ClientError`` / ``BotoCoreError`` into
``StorageOperationError`` carrying the AWS error code and the cause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ...errors import StorageOperationError
from ...models import OperationStats


@dataclass(frozen=True)
class ClientSettings:
    """How to reach DynamoDB. Credentials left as None come from boto3's default chain."""

    region: str
    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None


#: Requests that can report the capacity they consumed; reads are billed in read units, the rest in write units.
READ_OPERATIONS = frozenset({"get_item", "batch_get_item", "query", "scan", "transact_get_items"})
WRITE_OPERATIONS = frozenset({"put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"})

#: Error codes that mean "too many requests" (counted apart; botocore retries them first).
THROTTLE_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
})


#: One boto3 session per profile: a session loads the service model once (~0.1 s) and is not
#: thread-safe, so clients are made from it under a lock; the clients themselves are thread-safe.
_sessions: dict[str | None, boto3.session.Session] = {}
_sessions_lock = threading.Lock()


def make_client(settings: ClientSettings, *, connect_timeout: float, read_timeout: float, max_attempts: int,
                service: str = "dynamodb"):
    """A low-level DynamoDB client (or ``dynamodbstreams``, the change streams'); explicit
    credentials win, else boto3's chain (env, profile, role)."""
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # total_max_attempts counts the first try (botocore's max_attempts would not), as AWS_MAX_ATTEMPTS does.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        # Room for a migration's parallel writers (up to 64) and a web server's threads; botocore keeps 10.
        max_pool_connections=64,
        # botocore's client-side check of every parameter walks each item value by value (a third of
        # a batch write's CPU); this backend builds its requests itself and checks DynamoDB's limits
        # before sending, and the service validates everything again.
        parameter_validation=False,
    )
    with _sessions_lock:
        if settings.profile not in _sessions:
            _sessions[settings.profile] = boto3.session.Session(profile_name=settings.profile)
        return _sessions[settings.profile].client(
            service, region_name=settings.region, endpoint_url=settings.endpoint, config=config,
            aws_access_key_id=settings.access_key_id, aws_secret_access_key=settings.secret_access_key,
            aws_session_token=settings.session_token,
        )


class DynamoDBCalls:
    """A lazily made client plus counters of what was asked of it."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._client: Any = None
        self._lock = threading.Lock()
        self._stats: dict[str, OperationStats] = {}
        #: Capacity units consumed, per request type (what AWS bills, table and indexes together).
        self._capacity: dict[str, float] = {}
        self.retries = 0
        self.throttles = 0

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (so a storage can be built while DynamoDB is down)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
        return self._client

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Send one request (``operation`` is the client method, e.g. ``"get_item"``); requests that
        can report the capacity they consume are asked to (``ReturnConsumedCapacity``)."""
        client = self.client
        if operation in READ_OPERATIONS | WRITE_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        started = time.perf_counter()
        try:
            response = getattr(client, operation)(**params)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "Unknown")
            self._record(operation, started, exc.response, failed=True, throttled=code in THROTTLE_CODES)
            message = _one_line(exc.response.get("Error", {}).get("Message", ""))
            raise StorageOperationError(f"DynamoDB {operation} failed: {code}: {message}", code=code) from exc
        except BotoCoreError as exc:
            self._record(operation, started, {}, failed=True, throttled=False)
            raise StorageOperationError(f"DynamoDB {operation} failed: {exc}") from exc
        self._record(operation, started, response, failed=False, throttled=False)
        return response

    def snapshot(self) -> dict[str, Any]:
        """Counters for ``get_metrics().details``: per request type, and retries / throttles overall."""
        with self._lock:
            requests = {
                name: {**stats.model_dump(), "average_ms": round(stats.average_ms, 3)}
                | ({"capacity_units": round(self._capacity[name], 3)} if name in self._capacity else {})
                for name, stats in self._stats.items()
            }
            units = {kind: round(sum(self._capacity.get(name, 0.0) for name in names), 3)
                     for kind, names in (("read", READ_OPERATIONS), ("write", WRITE_OPERATIONS))}
            return {"requests": requests, "retries": self.retries, "throttles": self.throttles,
                    "read_capacity_units": units["read"], "write_capacity_units": units["write"]}

    def close(self) -> None:
        """Close the client's connections; a later call makes a new client."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _make(self) -> Any:
        try:
            return self._factory()
        except BotoCoreError as exc:  # e.g. a profile that does not exist
            raise StorageOperationError(f"cannot make a DynamoDB client: {exc}") from exc

    def _record(self, operation: str, started: float, response: dict, *, failed: bool, throttled: bool) -> None:
        seconds = time.perf_counter() - started
        retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        consumed = response.get("ConsumedCapacity")
        # One summary for a single-table request; a list (one per table) for batches and transactions.
        units = sum(part.get("CapacityUnits", 0.0) for part in (consumed if isinstance(consumed, list)
                                                                 else [consumed] if consumed else []))
        with self._lock:
            self._stats.setdefault(operation, OperationStats()).record(seconds, failed)
            if consumed is not None:
                self._capacity[operation] = self._capacity.get(operation, 0.0) + float(units)
            self.retries += retries
            self.throttles += throttled


#: Characters of a server's error message kept: a proxy's or a failing server's whole HTML page is not one.
MESSAGE_CHARACTERS = 300


def _one_line(message: str) -> str:
    """A server's error message fit for one log line (DynamoDB's are; an HTML error page is not)."""
    line = " ".join(message.split())
    return line if len(line) <= MESSAGE_CHARACTERS else line[:MESSAGE_CHARACTERS - 1] + "…"
