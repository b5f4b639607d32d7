"""A backend that is down: every operation fails as an unreachable service would."""

from __future__ import annotations

from typing import Any

from storage_backends import GenerationStateStorage, StorageOperationError


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
