"""What the management commands share: opening a storage and turning its failures into one line.

A command run from cron must end with a single line that says why it failed, never a
traceback, so every ``StorageError`` becomes a ``CommandError`` here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from storage_backends import GenerationStateStorage, StorageError, StorageFactory

from ..storage import storage_config

#: describe() keys that say where a backend keeps its data, most telling first.
_LOCATION_KEYS = ("path", "directory", "table_name", "table")


def open_storage(url: str | None, *, create: bool = True) -> GenerationStateStorage:
    """The storage at ``url`` (relative paths from the working directory), else the configured one.

    ``create=False`` for what a command reads or cleans: a mistyped path or table name is then
    an error naming it, never a new empty storage. A storage is its own context manager:
    ``with open_storage(url) as storage:`` closes it.
    """
    with failures_as_command_errors(f"cannot open storage {url}" if url else "cannot open the configured storage"):
        if url:
            return StorageFactory.from_url(url, create=create)
        return StorageFactory.create_storage(storage_config(), create=create)


@contextmanager
def failures_as_command_errors(action: str) -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        raise CommandError(f"{action}: {exc}") from exc


def storage_label(storage: GenerationStateStorage) -> str:
    """``sqlite (/srv/var/generations.sqlite3)``: the backend and where its data is."""
    details = storage.describe()
    location = next((details[key] for key in _LOCATION_KEYS if details.get(key)), None)
    return f"{storage.backend_name} ({location})" if location else storage.backend_name
