"""The database file: opened without ever being created by mistake, and watched.

SQLite creates a missing file on connect, and writes into a file that was deleted or replaced
while it is open, so both are decided here: a file is created only on request (``create``),
an empty or foreign file is never taken for a database, and connections are opened with
``mode=rw`` after that, so a deleted database is never quietly recreated empty. ``identity``
(device and inode) tells the backend when its path names another file (a restore, a ``rm``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from ...errors import StorageInitializationError

#: How often an empty file is looked at again while another process may be creating it.
_POLL_SECONDS = 0.05

Identity = tuple[int, int]


def connect(path: Path, *, timeout: float, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any one thread at a time."""
    uri = f"file:{quote(str(path))}?mode={'rwc' if create else 'rw'}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    # NORMAL is durable across application crashes in WAL mode; only an OS crash or power
    # cut can lose the last commits, never corrupt the database.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def check_file(path: Path, *, create: bool, allow_empty_file: bool, wait_seconds: float) -> None:
    """Refuse, with a ``StorageInitializationError``, what SQLite itself would quietly accept: a
    missing file (unless ``create``), or an empty one (unless ``allow_empty_file``: an empty file is
    more often a mistake, such as a failed copy, than a database to start). A directory or a file
    that is not SQLite is refused by SQLite on opening, with its own error as the cause."""
    if not path.exists():
        if create:
            return
        raise StorageInitializationError(f"no sqlite database at {path} (opened without creating one: check the path)")
    if path.is_file() and _settled_size(path, wait_seconds) == 0 and not allow_empty_file:
        raise StorageInitializationError(
            f"sqlite storage at {path} is an empty file, not a database: remove it, or allow it to become "
            "one with the option allow_empty_file=true"
        )


def identity(path: Path) -> Identity | None:
    """Which file the path names now (device, inode); None if there is none."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def empty_wal(conn: sqlite3.Connection) -> None:
    """Checkpoint a connection's WAL into its database file and truncate it to nothing."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _settled_size(path: Path, wait_seconds: float) -> int:
    """The file's size; an empty one is given up to ``wait_seconds`` to gain a header, as it does
    while another process (the web server and the cron starting together) creates the database."""
    deadline = time.monotonic() + wait_seconds
    while (size := path.stat().st_size) == 0 and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    return size
