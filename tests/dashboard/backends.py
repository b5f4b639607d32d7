"""Backends for dashboard tests, plugged in by dotted path through GENNIE_STORAGE."""

from __future__ import annotations

from typing import Any

from storage_backends import GenerationStateStorage, StorageOperationError
from storage_backends.backends.memory import MemoryStorage


class FailingStorage(GenerationStateStorage):
    """Plugged in by dotted path (``{"type": "tests.dashboard.backends.FailingStorage"}``)."""

    backend_name = "failing"

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise StorageOperationError("connection refused", code="ConnectionRefused")

    _save = _save_many = _get = _update = _delete = _exists = _list = _cleanup = _count = _fail
    _count_by_status = _fail

    def _is_healthy(self) -> bool:
        return False

    def describe(self) -> dict[str, Any]:
        return {"endpoint": "http://127.0.0.1:9"}


class ChattyStorage(MemoryStorage):
    """A working backend whose describe() says too much: the dashboard must filter it."""

    backend_name = "chatty"

    def describe(self) -> dict[str, Any]:
        return {
            "table_name": "generations",
            "region": "eu-west-1",
            "endpoint": "https://admin:hunter2@dynamo.internal:8000/",
            "secret_access_key": "wJalrXUtnFEMI/K7MDENG",
            "aws-session-token": "FwoGZXIvYXdzEBYaDH",
            "password": "hunter2",
        }

    def _metrics_details(self) -> dict[str, Any]:
        return {"endpoint": "https://admin:hunter2@dynamo.internal:8000/", "session_token": "FwoGZXIvYXdzEBYaDH",
                "retries": 3}
