"""The health page's report: is the backend up, how fast it answers, what it is set to.

Settings and metric details come from the backend itself, so anything that could be a
credential is dropped here, whatever a backend's ``describe()`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storage_backends import GenerationStateStorage, StorageError, StorageMetrics

#: Setting names that may hold a credential: never shown, whatever a backend's describe() says.
SECRET_WORDS = (
    "secret", "password", "passwd", "token", "credential", "access_key", "api_key", "apikey", "private", "auth",
)


@dataclass(frozen=True)
class HealthReport:
    backend: str
    settings: dict[str, str]
    healthy: bool
    latency_ms: float
    metrics: StorageMetrics | None
    #: The backend's extra metrics, filtered like its settings.
    metric_details: dict[str, str]
    metrics_error: str = ""
    #: DynamoDB's stream indexer, when the storage uses one: its shards and whether it is behind.
    indexer: dict[str, Any] | None = None


def storage_health(*, storage: GenerationStateStorage) -> HealthReport:
    """Health, health-check latency, non-secret settings and metrics (if the backend answers)."""
    started = time.perf_counter()
    healthy = storage.is_healthy()
    latency_ms = (time.perf_counter() - started) * 1000
    try:
        metrics, metrics_error = storage.get_metrics(), ""
    except StorageError as exc:
        metrics, metrics_error = None, f"{type(exc).__name__}: {exc}"
    details = dict(metrics.details) if metrics else {}
    indexer = details.pop("stream_indexer", None)
    return HealthReport(
        backend=storage.backend_name, settings=public_settings(storage.describe()), healthy=healthy,
        latency_ms=latency_ms, metrics=metrics, metrics_error=metrics_error,
        metric_details=public_settings(details), indexer=indexer,
    )


def public_settings(described: Mapping[str, Any]) -> dict[str, str]:
    """A backend's settings as text, without anything that could be a credential."""
    return {
        str(name): without_userinfo(str(value))
        for name, value in described.items()
        if not any(word in str(name).lower().replace("-", "_") for word in SECRET_WORDS)
    }


def without_userinfo(value: str) -> str:
    """``https://user:pw@host/x`` -> ``https://host/x``; other text unchanged."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if "@" not in parts.netloc:
        return value
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
