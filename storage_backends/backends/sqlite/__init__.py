"""The SQLite backend: the embedded default (see ``backend``)."""

from .backend import SQLiteStorage

__all__ = ["SQLiteStorage"]
