"""SQLite backend: the embedded default. One table of JSON documents plus indexed columns for
what the list filters and sorts on, a trigram full-text index for search, WAL journaling.

Safe for a web process and a cron job at once: every write is a ``BEGIN IMMEDIATE``
transaction (so a read-modify-write cannot lose an update and a busy database is waited
for, up to ``timeout`` seconds), and WAL lets readers go on while one process writes.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ...base import GenerationStateStorage, OnSkip
from ...documents import MAX_DEPTH, apply_update, read_item, refusing_non_json, stamp_for_save
from ...errors import (
    StorageCorruptDocumentError,
    StorageInitializationError,
    StorageNotFoundError,
    StorageOperationError,
)
from ...insights import Insights, InsightsQuery
from ...models import GenerationState, GenerationStatus, ListQuery, Page, SkippedDocument, format_timestamp, utcnow
from ...options import as_flag
from ...paging import build_page, position_of
from ...summaries import GenerationSummary, SummaryPage, stored_summary
from . import database, insights
from .pool import ConnectionPool
from .query import COUNT_BY_STATUS_SQL, SUMMARY_COLUMNS, plan_search, select_page
from .schema import COLUMNS, SCHEMA_VERSION, TABLE, migrate, row_values

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 5.0
#: The trigram tokenizer came with 3.34.0.
MIN_SQLITE = (3, 34, 0)
#: Rows cleanup deletes per transaction, so a big cleanup never holds the write lock for long.
CLEANUP_BATCH = 1000
#: Ids per ``delete_many`` statement (below SQLite's 32,766 bound parameters).
DELETE_CHUNK = 500

_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    " ON CONFLICT (generation_id) DO UPDATE SET "
    + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS[1:])
)
_OLD = f"{TABLE} WHERE created_key > '' AND created_key < ?"


class SQLiteStorage(GenerationStateStorage):
    """One SQLite database file, shared safely by the threads and processes that open it."""

    backend_name = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT, create: bool | str = True,
                 allow_empty_file: bool | str = False) -> None:
        """Open the database at ``path``, creating it and its directory if needed (``create``;
        without it a missing database is a ``StorageInitializationError``).

        ``timeout`` is how many seconds an operation waits for another writer to finish. An
        existing empty file is refused unless ``allow_empty_file`` (see ``database.check_file``).
        """
        super().__init__()
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise StorageInitializationError(
                f"sqlite storage needs SQLite {'.'.join(map(str, MIN_SQLITE))} or later (FTS5 trigrams); "
                f"this Python has {sqlite3.sqlite_version}"
            )
        if not isinstance(path, str | os.PathLike) or str(path) in ("", ":memory:") or "\x00" in str(path):
            raise StorageInitializationError(
                f"sqlite storage needs a file path, got {path!r}; use the memory backend for a throw-away store"
            )
        try:
            self._timeout = float(timeout)
        except (TypeError, ValueError) as exc:
            raise StorageInitializationError(f"sqlite timeout must be a number of seconds, got {timeout!r}") from exc
        self._path = Path(path).expanduser().absolute()
        self._allow_empty_file = as_flag("allow_empty_file", allow_empty_file)
        self._corrupt_skipped = 0
        self._corrupt_lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        try:
            create = as_flag("create", create)
            if create:
                self._path.parent.mkdir(parents=True, exist_ok=True)
            self._open(create=create)
        except (OSError, sqlite3.Error) as exc:
            raise StorageInitializationError(f"cannot open sqlite storage at {self._path}: {exc}") from exc
        self._pool = ConnectionPool(self._connect)

    def _open(self, *, create: bool) -> None:
        """Check the file, bring its schema up to date, and remember which file it is."""
        database.check_file(self._path, create=create, allow_empty_file=self._allow_empty_file,
                   wait_seconds=min(self._timeout, 2.0))
        conn = database.connect(self._path, timeout=self._timeout, create=create)
        try:
            # WAL is a property of the file, set once; a file system without shared memory
            # (some network mounts) refuses it, and writers then block readers.
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                logger.warning("sqlite storage at %s cannot use WAL; readers will wait for writers", self._path)
            migrate(conn)
        finally:
            conn.close()
        self._identity = database.identity(self._path)

    # -- writes ---------------------------------------------------------------------------

    def _save(self, item: dict[str, Any], now: str) -> GenerationState:
        with self._writing() as conn:
            return self._stamp_and_put(conn, item, now)

    def _save_many(self, items: list[dict[str, Any]], now: str, *, preserve_timestamps: bool) -> None:
        with self._writing() as conn:
            if preserve_timestamps:
                conn.executemany(_UPSERT, [_encode(item)[0] for item in items])
                return
            # One by one (in the one transaction), so an id given twice keeps its first createdAt.
            for item in items:
                self._stamp_and_put(conn, item, now)

    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState:
        with self._writing() as conn:
            existing = self._read(conn, generation_id)
            return self._put(conn, apply_update(existing.to_item(), changes, now))

    def _delete(self, generation_id: str) -> bool:
        with self._writing() as conn:
            return conn.execute(f"DELETE FROM {TABLE} WHERE generation_id = ?", (generation_id,)).rowcount > 0

    def _delete_many(self, generation_ids: list[str]) -> list[str]:
        deleted: set[str] = set()
        for start in range(0, len(generation_ids), DELETE_CHUNK):
            chunk = generation_ids[start:start + DELETE_CHUNK]
            chosen = f"{TABLE} WHERE generation_id IN ({', '.join('?' * len(chunk))})"
            with self._writing() as conn:  # one transaction: what is read as there is what goes
                deleted.update(row[0] for row in conn.execute(f"SELECT generation_id FROM {chosen}", chunk))
                conn.execute(f"DELETE FROM {chosen}", chunk)
        return [generation_id for generation_id in generation_ids if generation_id in deleted]

    def _cleanup(self, cutoff: str, *, dry_run: bool) -> int:
        if dry_run:
            with self._reading() as conn:
                return conn.execute(f"SELECT count(*) FROM {_OLD}", (cutoff,)).fetchone()[0]
        removed = 0
        while True:
            with self._writing() as conn:
                # The insights sums keep the history of what cleanup removes (see sqlite/insights.py).
                insights.keep_on_delete(conn, True)
                batch = conn.execute(
                    f"DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {_OLD} LIMIT ?)", (cutoff, CLEANUP_BATCH)
                ).rowcount
                insights.keep_on_delete(conn, False)
            removed += batch
            if batch < CLEANUP_BATCH:
                return removed

    def _stamp_and_put(self, conn: sqlite3.Connection, item: dict[str, Any], now: str) -> GenerationState:
        """Save with the times stamped, keeping the stored ``createdAt`` of a generation replaced."""
        document = _document(conn, item["generationId"])
        return self._put(conn, stamp_for_save(item, now, existing_created_at=_created_at_of(document)))

    def _put(self, conn: sqlite3.Connection, item: dict[str, Any]) -> GenerationState:
        row, state = _encode(item)
        conn.execute(_UPSERT, row)
        return state

    # -- reads ----------------------------------------------------------------------------

    def _get(self, generation_id: str) -> GenerationState:
        with self._reading() as conn:
            return self._read(conn, generation_id)

    def _exists(self, generation_id: str) -> bool:
        with self._reading() as conn:
            row = conn.execute(f"SELECT 1 FROM {TABLE} WHERE generation_id = ?", (generation_id,)).fetchone()
        return row is not None

    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        position = position_of(query)
        ascending = position.ascending(query)
        at = utcnow()
        states: list[GenerationState] = []
        after = position.key
        with self._snapshot() as conn:
            search = plan_search(conn, query)
            # Corrupt rows are skipped, so read on until the page is full or the rows run out.
            while True:
                wanted = query.limit + 1 - len(states)
                sql, params = select_page(query, at, search=search, after=after, ascending=ascending, limit=wanted)
                rows = conn.execute(sql, params).fetchall()
                states.extend(self._readable(rows, on_skip))
                if len(rows) < wanted or len(states) > query.limit:
                    return build_page(states, query, position)
                after = (rows[-1][1], rows[-1][0])

    def _list_summaries(self, query: ListQuery, on_skip: OnSkip, at: datetime) -> SummaryPage:
        """From the summary columns alone: no document is read or parsed (see ``schema``)."""
        position = position_of(query)
        with self._snapshot() as conn:
            sql, params = select_page(query, at, search=plan_search(conn, query), after=position.key,
                                      ascending=position.ascending(query), limit=query.limit + 1,
                                      columns=SUMMARY_COLUMNS)
            rows = conn.execute(sql, params).fetchall()
        summaries = [_summary(row, at=at, stalled_after=query.stalled_after) for row in rows]
        return build_page(summaries, query, position, page_type=SummaryPage)

    def _insights(self, query: InsightsQuery, now: datetime) -> Insights:
        """From the hourly sums; a language or stage filter, which they do not keep, from the
        window's matching rows (see ``insights``)."""
        with self._snapshot() as conn:
            if query.filtered:
                return insights.read_filtered(conn, TABLE, query, now)
            return insights.read(conn, TABLE, query, now)

    def recount(self) -> int:
        """Make the insights sums again from the rows (hours without rows keep their history);
        returns how many rows were counted. The counts by status need nothing: they are indexed."""
        with self._writing() as conn:
            return insights.rebuild(conn, TABLE)

    def _count(self) -> int:
        with self._reading() as conn:
            return conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]

    def _count_by_status(self, stalled_after: timedelta) -> dict[GenerationStatus, int]:
        cutoff = format_timestamp(utcnow() - stalled_after)
        with self._reading() as conn:
            rows = conn.execute(COUNT_BY_STATUS_SQL, (cutoff,)).fetchall()
        counts = dict.fromkeys(GenerationStatus, 0) | {GenerationStatus(status): count for status, count in rows}
        # The stalled ones were counted in progress too.
        counts[GenerationStatus.IN_PROGRESS] -= counts[GenerationStatus.STALLED]
        return counts

    def _is_healthy(self) -> bool:
        with self._reading() as conn:
            conn.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchall()
        return True

    def _read(self, conn: sqlite3.Connection, generation_id: str) -> GenerationState:
        document = _document(conn, generation_id)
        if document is None:
            raise StorageNotFoundError(generation_id)
        return _decode(generation_id, document)

    def _readable(self, rows: list[tuple[str, str, str]], on_skip: OnSkip) -> Iterator[GenerationState]:
        """The rows as states, leaving out corrupt ones (told to ``on_skip``) so a list still works."""
        for generation_id, _, document in rows:
            try:
                yield _decode(generation_id, document)
            except StorageCorruptDocumentError as exc:
                on_skip(SkippedDocument.of(exc))
                with self._corrupt_lock:
                    self._corrupt_skipped += 1

    # -- connections ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # Never creating: a database deleted under a running server is not recreated empty.
        return database.connect(self._path, timeout=self._timeout)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with _translated(self._path):
            self._follow_file()
            with self._pool.connection() as conn:
                yield conn

    def _follow_file(self) -> None:
        """Before each operation (one ``stat``): if the path names another file than the one
        opened (a restore put a new one there), switch to it; if it names none, fail (503,
        unhealthy) rather than read or write a deleted file."""
        current = database.identity(self._path)
        if current == self._identity:
            return
        if current is None:
            raise StorageOperationError(
                f"sqlite database {self._path} is gone (deleted or moved away): restore it there",
                code="SQLITE_GONE",
            )
        with self._reopen_lock:
            if database.identity(self._path) != self._identity:
                logger.warning("sqlite database %s was replaced: reopening it", self._path)
                # The -wal file beside it is still the old database's: emptied into the old file
                # first, or the new file would be read with the old one's pages laid over it.
                self._pool.discard_all(settle=database.empty_wal)
                self._open(create=False)

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads that see one state of the database (a read transaction: with WAL it
        blocks no one), so rowids read first still name the same rows in the next query."""
        with self._reading() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock up front: two read-modify-writes then
        queue on the busy timeout, instead of both reading and one failing to upgrade its lock."""
        with self._reading() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    # -- housekeeping ---------------------------------------------------------------------

    def close(self) -> None:
        self._pool.close()

    def describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "timeout": self._timeout, "schema_version": SCHEMA_VERSION}

    def identity(self) -> Hashable:
        return ("sqlite", database.identity(self._path) or str(self._path.resolve()))

    def _metrics_details(self) -> dict[str, Any]:
        with self._reading() as conn:
            journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            free_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        wal = self._path.with_name(self._path.name + "-wal")
        return {
            "path": str(self._path),
            "file_size_bytes": _size(self._path),
            "wal_size_bytes": _size(wal),
            "free_bytes": free_pages * page_size,
            "journal_mode": journal_mode,
            "wal": journal_mode == "wal",
            "schema_version": SCHEMA_VERSION,
            "sqlite_version": sqlite3.sqlite_version,
            "corrupt_rows_skipped": self._corrupt_skipped,
        }


def _encode(item: dict[str, Any]) -> tuple[tuple[Any, ...], GenerationState]:
    """The row to write for an item, and the item as a model (validated once)."""
    state = read_item(item["generationId"], item)
    # ASCII-only JSON: a lone surrogate stays escaped in the document (see schema.index_text).
    with refusing_non_json(item):
        document = json.dumps(item, separators=(",", ":"), allow_nan=False)
    return row_values(item, state, document), state


def _summary(row: tuple[Any, ...], *, at: datetime, stalled_after: timedelta) -> GenerationSummary:
    (generation_id, _, phase, stage, prompt, language, aspect_ratio, failed_stage, error, created_at, updated_at,
     failure) = row
    fields = {"prompt": prompt, "language": language, "aspect_ratio": aspect_ratio, "current_stage": stage,
              "failed_stage": failed_stage, "error": error, "failure": failure}
    return stored_summary(generation_id, fields, phase=phase, created_at=created_at, updated_at=updated_at, at=at,
                          stalled_after=stalled_after)


def _decode(generation_id: str, document: str) -> GenerationState:
    try:
        item = json.loads(document)
    except (TypeError, ValueError) as exc:
        raise StorageCorruptDocumentError(generation_id, f"invalid JSON ({exc})") from exc
    except RecursionError:  # nested past what Python's JSON decoder can follow
        raise StorageCorruptDocumentError(generation_id, f"nested more than {MAX_DEPTH} levels deep") from None
    return read_item(generation_id, item)


def _document(conn: sqlite3.Connection, generation_id: str) -> str | None:
    row = conn.execute(f"SELECT document FROM {TABLE} WHERE generation_id = ?", (generation_id,)).fetchone()
    return row[0] if row else None


def _created_at_of(document: str | None) -> str | None:
    """The stored ``createdAt`` a re-save keeps; None if there is none or the row is unreadable."""
    if document is None:
        return None
    try:
        stored = json.loads(document)
    except (ValueError, RecursionError):
        return None
    created = stored.get("createdAt") if isinstance(stored, dict) else None
    return created if isinstance(created, str) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0  # no WAL file between checkpoints
    except OSError as exc:
        code = errno.errorcode.get(exc.errno) if exc.errno else None
        raise StorageOperationError(f"sqlite storage could not measure {path}: {exc}", code=code) from exc


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """Turn sqlite3's errors into ours, keeping the cause and SQLite's error name as ``code``."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorname", None)
        raise StorageOperationError(f"sqlite operation on {path} failed: {exc}", code=code) from exc
