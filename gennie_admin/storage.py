"""The dashboard's one storage instance per process, built from the GENNIE_STORAGE setting."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from storage_backends import StorageFactory, StorageInitializationError
from storage_backends.factory import read_config

from .guard import GuardedStorage

#: Options that name a local path, resolved against the project directory when relative.
PATH_OPTIONS = ("path", "directory")

_lock = threading.Lock()
_storage: GuardedStorage | None = None


def storage_config(setting: Any = None) -> dict[str, Any]:
    """The storage config from the setting (a mapping or URL); empty means the environment.

    The library checks the setting's shape (``read_config``: a ``StorageInitializationError``
    if it is wrong). Relative SQLite and file paths are then resolved against the project
    directory, so the web process and cron jobs started elsewhere see the same data.
    """
    config = read_config(settings.GENNIE_STORAGE if setting is None else setting, os.environ)
    options = config["options"]
    for key in PATH_OPTIONS:
        if isinstance(options.get(key), str) and not Path(options[key]).is_absolute():
            options[key] = str(Path(settings.BASE_DIR) / options[key])
    return config


def get_storage() -> GuardedStorage:
    """The process-wide storage, created on first use, behind the request deadline (``guard``)."""
    global _storage
    if _storage is None:
        with _lock:
            if _storage is None:
                _storage = GuardedStorage(
                    StorageFactory.create_storage(storage_config()),
                    deadline=settings.GENNIE_STORAGE_DEADLINE_SECONDS,
                    backoff=settings.GENNIE_STORAGE_BACKOFF_SECONDS,
                )
    return _storage


def backend_name() -> str:
    """The configured backend's short name, without creating it (it may be what is failing)."""
    if _storage is not None:
        return _storage.backend_name
    try:
        return str(storage_config()["type"])
    except StorageInitializationError:
        return "unknown"


def reset_storage() -> None:
    """Forget the process-wide storage (tests, or after the setting changed)."""
    global _storage
    with _lock:
        if _storage is not None:
            _storage.close()
        _storage = None
