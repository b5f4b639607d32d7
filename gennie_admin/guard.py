"""The dashboard's storage behind a deadline and a circuit breaker.

A backend that accepts connections and never answers would hold a request until botocore's
timeouts and retries give up, and gunicorn kills a worker after 30 s: users would get 502s
instead of the styled 503. So every call the dashboard makes waits at most
``GENNIE_STORAGE_DEADLINE_SECONDS``; and once the storage has failed (an operation error or a
missed deadline), calls fail at once for ``GENNIE_STORAGE_BACKOFF_SECONDS`` instead of each
waiting again. After the back-off the next call tries the backend again: the guard recovers by
itself. Only failures of the backend open the breaker: a missing or corrupt document, or a
refused input, is an answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from storage_backends import (
    GenerationStateStorage,
    StorageCorruptDocumentError,
    StorageInitializationError,
    StorageOperationError,
)

#: Calls that may wait on a hung backend at once; more queue, and still give up at the deadline.
MAX_WAITING_CALLS = 8
#: Methods that only read the storage object's own settings: no backend to wait on or to spare.
LOCAL_METHODS = frozenset({"describe"})


class StorageUnavailableError(StorageOperationError):
    """The storage missed the deadline, or failed moments ago and is left alone for a while."""

    def __init__(self, message: str, *, code: str, retry_after: float) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class GuardedStorage:
    """Forwards every method of a storage, each call bounded by ``deadline`` seconds; after a
    failure, every call raises ``StorageUnavailableError`` for ``backoff`` seconds."""

    def __init__(self, storage: GenerationStateStorage, *, deadline: float, backoff: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.storage = storage
        self.deadline = deadline
        self.backoff = backoff
        self._clock = clock
        self._failed_at: float | None = None
        self._failure = ""
        self._lock = threading.Lock()
        # Long-lived workers, so thread-local clients and connections are reused from call to call.
        self._calls = ThreadPoolExecutor(max_workers=MAX_WAITING_CALLS, thread_name_prefix="storage-call")

    @property
    def backend_name(self) -> str:
        return self.storage.backend_name

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.storage, name)
        if not callable(method) or name.startswith("_") or name in LOCAL_METHODS:
            return method
        return lambda *args, **kwargs: self.call(method, *args, **kwargs)

    def call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` in a worker thread, waited for until the deadline."""
        self._refuse_while_backing_off()
        future = self._calls.submit(method, *args, **kwargs)
        try:
            result = future.result(timeout=self.deadline)
        except FutureTimeout:
            raise self._trip(f"{self.backend_name} storage did not answer within {self.deadline:g} s",
                             "DeadlineExceeded") from None
        except StorageCorruptDocumentError:
            raise  # one bad document, not a sick backend
        except (StorageOperationError, StorageInitializationError) as exc:
            self._trip(f"{type(exc).__name__}: {exc}", "")
            raise
        with self._lock:
            self._failed_at = None
        return result

    def is_healthy(self) -> bool:
        """The backend's own probe, never refused by the breaker (it is how a prober sees the
        backend come back) but bounded by the deadline: False when it does not answer in time."""
        future = self._calls.submit(self.storage.is_healthy)
        try:
            healthy = future.result(timeout=self.deadline)
        except FutureTimeout:
            self._trip(f"{self.backend_name} storage did not answer within {self.deadline:g} s", "DeadlineExceeded")
            return False
        if healthy:
            with self._lock:
                self._failed_at = None
        return healthy

    def close(self) -> None:
        """Close the storage; calls still stuck in a hung backend are not waited for."""
        self._calls.shutdown(wait=False, cancel_futures=True)
        self.storage.close()

    def _refuse_while_backing_off(self) -> None:
        with self._lock:
            if self._failed_at is None:
                return
            remaining = self._failed_at + self.backoff - self._clock()
            failure = self._failure
        if remaining > 0:
            raise StorageUnavailableError(
                f"{failure} (the storage failed moments ago: trying again in {remaining:.0f} s)",
                code="BackingOff", retry_after=remaining,
            )

    def _trip(self, failure: str, code: str) -> StorageUnavailableError:
        """Open the breaker; the error to raise for this call."""
        with self._lock:
            self._failed_at, self._failure = self._clock(), failure
        return StorageUnavailableError(failure, code=code or "Failed", retry_after=self.backoff)
