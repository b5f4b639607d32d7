"""The dashboard's one storage instance per process, built from the GENNIE_STORAGE setting."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from django.conf import settings

from storage_backends import GenerationStateStorage, StorageFactory
from storage_backends.factory import config_from_env, parse_storage_url

_lock = threading.Lock()
_storage: GenerationStateStorage | None = None


def storage_config(setting: Any = None) -> dict[str, Any]:
    """The storage config from the setting (a mapping or URL); empty means the environment.

    Relative SQLite and file paths are resolved against the project directory.
    """
    setting = settings.GENNIE_STORAGE if setting is None else setting
    if isinstance(setting, str):
        config = parse_storage_url(setting)
    elif setting:
        config = {"type": setting.get("type"), "options": dict(setting.get("options") or {})}
    else:
        config = config_from_env(os.environ)
    options = config.setdefault("options", {})
    for key in ("path", "directory"):
        if isinstance(options.get(key), str) and not Path(options[key]).is_absolute():
            options[key] = str(Path(settings.BASE_DIR) / options[key])
    return config


def get_storage() -> GenerationStateStorage:
    """The process-wide storage, created on first use."""
    global _storage
    if _storage is None:
        with _lock:
            if _storage is None:
                _storage = StorageFactory.create_storage(storage_config())
    return _storage


def reset_storage() -> None:
    """Forget the process-wide storage (tests, or after the setting changed)."""
    global _storage
    with _lock:
        if _storage is not None:
            _storage.close()
        _storage = None
