"""Typed errors of the storage library.

Each one also subclasses the nearest builtin (as Django's ``InvalidCacheKey(ValueError)``
does), so callers that only know Python's exceptions still catch them sensibly.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error raised by a storage backend."""


class StorageInitializationError(StorageError, RuntimeError):
    """The backend could not be configured or connected (bad option, no table, no access)."""


class StorageNotFoundError(StorageError, KeyError):
    """No generation with that id exists."""

    def __init__(self, generation_id: str) -> None:
        super().__init__(generation_id)
        self.generation_id = generation_id

    def __str__(self) -> str:
        return f"generation {self.generation_id!r} not found"


class StorageValidationError(StorageError, ValueError):
    """The input was refused before anything was written (bad id, bad changes, too large…)."""


class StorageOperationError(StorageError, IOError):
    """The backend failed to carry out an operation; ``__cause__`` keeps the original error.

    ``code`` holds the backend's own error code where it has one (an AWS error code,
    for instance), like PynamoDB's ``cause_response_code``.
    """

    def __init__(self, message: str, *, code: str | None = None, generation_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.generation_id = generation_id


class StorageCorruptDocumentError(StorageOperationError):
    """A stored document cannot be read back as a generation state.

    ``raw`` holds what could be read (the decoded mapping, or None if it was not even
    valid JSON), so a dashboard can still show it.
    """

    def __init__(self, generation_id: str, reason: str, *, raw: object = None) -> None:
        super().__init__(f"generation {generation_id!r} is corrupt: {reason}", generation_id=generation_id)
        self.reason = reason
        self.raw = raw
