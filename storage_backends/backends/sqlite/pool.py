"""A small pool of SQLite connections shared by the threads of one process.

A connection per thread (``threading.local``) would leak one open file per thread under a
thread-per-request server such as Django's runserver; a single locked connection would make
readers wait for each other. A pool hands each operation a connection of its own, reuses it
afterwards, and keeps only a few idle ones open (as SQLAlchemy's ``QueuePool`` does).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Idle connections kept open for reuse; more are opened (and closed again) under load.
MAX_IDLE = 4

#: Connections a forked child inherited: never used nor closed there (SQLite forbids carrying
#: a connection across fork), only kept referenced so garbage collection does not close them.
_INHERITED: list[sqlite3.Connection] = []


class ConnectionPool:
    """Connections made by ``connect``, lent to one operation at a time; at most ``max_idle`` kept."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], max_idle: int = MAX_IDLE) -> None:
        self._connect = connect
        self._max_idle = max_idle
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, used by this thread alone until the block ends."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child (e.g. a pre-loading server's worker)
                _INHERITED.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._release(conn)

    def close(self) -> None:
        """Close the idle connections; those in use are closed when their operation ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            # A connection still in a transaction (its rollback failed) is closed, which rolls
            # back, rather than handed to the next caller.
            keep = not self._closed and not conn.in_transaction and len(self._idle) < self._max_idle
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()
