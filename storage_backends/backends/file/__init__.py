"""The file backend: one JSON document per generation in a directory (see ``backend``)."""

from .backend import FileStorage

__all__ = ["FileStorage"]
