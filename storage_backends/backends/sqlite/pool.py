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
        self._generation = 0
        #: The generation each lent connection was made in: those of an older one are not kept.
        self._lent: dict[sqlite3.Connection, int] = {}

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation, used by this thread alone until the block ends."""
        with self._lock:
            if self._pid != os.getpid():  # a forked child (e.g. a pre-loading server's worker)
                _INHERITED.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            conn = self._idle.pop() if self._idle else None
            generation = self._generation
        if conn is None:
            conn = self._connect()
        with self._lock:
            self._lent[conn] = generation
        try:
            yield conn
        finally:
            self._release(conn)

    def discard_all(self, settle: Callable[[sqlite3.Connection], None]) -> None:
        """Close the idle connections, after ``settle`` ran on one of them, and those in use once
        their operation ends (their file was replaced); the next operations get new ones."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        try:
            if idle:
                settle(idle[0])
        finally:
            for conn in idle:
                conn.close()

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
            current = self._lent.pop(conn, None) == self._generation
            keep = current and not self._closed and not conn.in_transaction and len(self._idle) < self._max_idle
            if keep:
                self._idle.append(conn)
        if not keep:
            conn.close()
