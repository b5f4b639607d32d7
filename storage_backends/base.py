"""The storage contract: ``GenerationStateStorage``.

Public methods hold what every backend shares (argument checks, timestamps, metrics, the
contract's defaults) and call a few small abstract methods that only move items. A backend
subclasses this, implements the ``_``-prefixed hooks, and passes the shared contract suite.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any, ClassVar

from .documents import normalize_changes, to_item, validate_id
from .errors import StorageError, StorageNotFoundError, StorageValidationError
from .exact_first import exact_hit, with_exact_first
from .filtering import count_statuses
from .insights import Insights, InsightsQuery, insights_of
from .models import (
    DEFAULT_STALLED_AFTER,
    GenerationState,
    GenerationStatus,
    ListQuery,
    OperationStats,
    Page,
    SkippedDocument,
    StorageMetrics,
    format_timestamp,
    utcnow,
)
from .summaries import SummaryPage, summarize

DEFAULT_CLEANUP_AGE = timedelta(hours=24)

#: Told of each document a read had to leave out (see ``iter_generations``).
OnSkip = Callable[[SkippedDocument], None]

logger = logging.getLogger(__name__)


class GenerationStateStorage(abc.ABC):
    """Stores generation states keyed by ``generationId``. Sync, thread-safe, a context manager."""

    #: Short name shown in metrics and on the dashboard.
    backend_name: ClassVar[str] = "custom"
    #: How many ``save_many`` calls may usefully run at once (a migration's default number of
    #: writers): a single-writer backend, such as SQLite or files, gains nothing from more.
    write_concurrency: ClassVar[int] = 1

    def __init__(self) -> None:
        self._stats: dict[str, OperationStats] = {}
        self._stats_lock = threading.Lock()

    # -- the contract -------------------------------------------------------------------

    def save(self, state: GenerationState | Mapping[str, Any]) -> GenerationState:
        """Create or replace a generation; sets ``createdAt`` if absent and ``updatedAt`` always."""
        with self._track("save"):
            return self._save(to_item(state), now())

    def save_many(
        self, states: Iterable[GenerationState | Mapping[str, Any]], *, preserve_timestamps: bool = False
    ) -> int:
        """Create or replace many generations at once; returns how many were written.

        With ``preserve_timestamps`` the items are stored exactly as given (times included),
        which is what a lossless migration needs.
        """
        with self._track("save_many"):
            items = [to_item(state) for state in states]
            if items:
                self._save_many(items, now(), preserve_timestamps=preserve_timestamps)
        return len(items)

    def get(self, generation_id: str) -> GenerationState:
        """The generation with that id; ``StorageNotFoundError`` if there is none."""
        with self._track("get"):
            return self._get(validate_id(generation_id))

    def update(self, generation_id: str, changes: Mapping[str, Any]) -> GenerationState:
        """Atomically merge top-level attributes into a generation and bump ``updatedAt``."""
        with self._track("update"):
            validate_id(generation_id)
            return self._update(generation_id, normalize_changes(changes), now())

    def delete(self, generation_id: str) -> bool:
        """Delete a generation; True if it existed. Deleting a missing one is not an error."""
        with self._track("delete"):
            return self._delete(validate_id(generation_id))

    def delete_many(self, generation_ids: Iterable[str]) -> list[str]:
        """Delete many generations at once; returns the ids that existed (in the order given, each
        once). Missing ones are not an error. Every id is checked before anything is deleted.
        SQLite deletes them in one statement per chunk, DynamoDB in ``BatchWriteItem``s."""
        if isinstance(generation_ids, str):
            raise StorageValidationError("delete_many takes a list of ids, not one id: use delete")
        with self._track("delete_many"):
            wanted = [validate_id(generation_id) for generation_id in dict.fromkeys(generation_ids)]
            return self._delete_many(wanted) if wanted else []

    def exists(self, generation_id: str) -> bool:
        """Whether a generation with that id is stored (cheaper than ``get`` where a backend can)."""
        with self._track("exists"):
            return self._exists(validate_id(generation_id))

    def list_generations(self, query: ListQuery | None = None) -> Page:
        """One page of generations matching the query (newest first by default); a search equal
        to a stored id has that generation first.

        A document that cannot be read is left out of the page (and logged), so one bad
        document never breaks a list; ``get`` names it with ``StorageCorruptDocumentError``.
        """
        with self._track("list"):
            query = _checked_query(query)
            # A search equal to an id shows that generation first (see exact_first).
            exact = exact_hit(query, self._get)
            return with_exact_first(self._list(query, log_skip), query, exact)

    def list_summaries(self, query: ListQuery | None = None) -> SummaryPage:
        """``list_generations`` as list rows: the same filters, order, cursors and exact id first,
        without whole documents where the backend keeps summaries (see ``summaries``)."""
        with self._track("list"):
            query = _checked_query(query)
            at = utcnow()
            exact = exact_hit(query, self._get)
            summary = summarize(exact, at=at, stalled_after=query.stalled_after) if exact else None
            return with_exact_first(self._list_summaries(query, log_skip, at), query, summary)

    def insights(self, query: InsightsQuery) -> Insights:
        """Statuses per hour or day, failure groups and stage durations of the generations created in
        the window (see ``insights``); SQLite and DynamoDB read sums kept as documents are written."""
        if not isinstance(query, InsightsQuery):
            raise StorageValidationError(f"query must be an InsightsQuery, got {type(query).__name__}")
        with self._track("insights"):
            return self._insights(query, utcnow())

    def iter_generations(self, batch_size: int = 500, on_skip: OnSkip | None = None) -> Iterator[GenerationState]:
        """Every generation, oldest first, read ``batch_size`` at a time (constant memory).

        A stored document that cannot be read (corrupt, unreadable, misnamed) is left out and
        handed to ``on_skip`` as a ``SkippedDocument``, so a caller that must not lose one (a
        migration) counts it; without ``on_skip`` it is logged as a warning.
        """
        if batch_size < 1:
            raise StorageValidationError("batch_size must be at least 1")
        yield from self._iter(batch_size, on_skip or log_skip)

    def cleanup(self, older_than: timedelta = DEFAULT_CLEANUP_AGE, *, dry_run: bool = False) -> int:
        """Remove generations created longer than ``older_than`` ago; returns how many (would be) removed."""
        if not isinstance(older_than, timedelta) or older_than < timedelta(0):
            raise StorageValidationError("older_than must be a non-negative timedelta")
        cutoff = format_timestamp(utcnow() - older_than)
        with self._track("cleanup"):
            return self._cleanup(cutoff, dry_run=dry_run)

    def count_by_status(self, stalled_after: timedelta = DEFAULT_STALLED_AFTER) -> dict[GenerationStatus, int]:
        """How many generations are in each status (stalled counted apart from in progress)."""
        with self._track("count"):
            return self._count_by_status(stalled_after)

    def is_healthy(self) -> bool:
        """Whether the backend answers; never raises."""
        try:
            return self._is_healthy()
        except StorageError:
            return False

    def get_metrics(self) -> StorageMetrics:
        """This process's per-operation counts and times, the number of generations, backend extras."""
        with self._stats_lock:
            operations = {name: stats.model_copy() for name, stats in self._stats.items()}
        return StorageMetrics(
            backend=self.backend_name,
            active_generations=self._count(),
            operations=operations,
            details=self._metrics_details(),
        )

    def close(self) -> None:
        """Release connections and files; the storage is not used afterwards."""
        return None

    def __enter__(self) -> GenerationStateStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        """Non-secret settings, for the dashboard's health page."""
        return {}

    @classmethod
    def validate_options(cls, options: Mapping[str, Any]) -> None:
        """Refuse, with a ``StorageInitializationError``, option values that can never work, without
        creating or contacting anything (what start-up checks call). By default: nothing to check."""
        return None

    def identity(self) -> Hashable:
        """What names the data this storage holds, resolved (a file's device and inode, a table
        and where it is): two storages with equal identities are the same storage, however they
        were spelled (``../``, a symlink, other options). By default this object itself."""
        return self

    # -- what a backend implements ------------------------------------------------------

    @abc.abstractmethod
    def _save(self, item: dict[str, Any], now: str) -> GenerationState: ...

    @abc.abstractmethod
    def _save_many(self, items: list[dict[str, Any]], now: str, *, preserve_timestamps: bool) -> None: ...

    @abc.abstractmethod
    def _get(self, generation_id: str) -> GenerationState: ...

    @abc.abstractmethod
    def _update(self, generation_id: str, changes: dict[str, Any], now: str) -> GenerationState: ...

    @abc.abstractmethod
    def _delete(self, generation_id: str) -> bool: ...

    @abc.abstractmethod
    def _list(self, query: ListQuery, on_skip: OnSkip) -> Page:
        """One page; every document left out because it cannot be read goes to ``on_skip``."""

    @abc.abstractmethod
    def _cleanup(self, cutoff: str, *, dry_run: bool) -> int: ...

    @abc.abstractmethod
    def _count(self) -> int: ...

    @abc.abstractmethod
    def _is_healthy(self) -> bool: ...

    def _delete_many(self, generation_ids: list[str]) -> list[str]:
        """By default one ``_delete`` each; backends with a batch delete override it."""
        return [generation_id for generation_id in generation_ids if self._delete(generation_id)]

    def _exists(self, generation_id: str) -> bool:
        try:
            self._get(generation_id)
        except StorageNotFoundError:
            return False
        return True

    def bulk_load(self) -> AbstractContextManager[None]:
        """A context for writing many documents (``migrate`` writes inside one): a backend that keeps
        sums as documents are written may apply them in bulk instead of per write (DynamoDB: every
        few seconds and on leaving). Inside it, counts and insights may lag this object's writes;
        on leaving, error or not, they are up to date. By default it changes nothing."""
        return nullcontext()

    def prepare_for_listing(self) -> int:
        """Make every stored generation listable; returns how many items it had to complete.

        For backends that list through an index other producers' writes may lack (DynamoDB's
        listing index): run before reading or writing everything, as ``migrate`` does. Safe to
        run at any time and more than once. Other backends list everything already: 0.
        """
        return 0

    def recount(self) -> int:
        """Recompute the sums the backend maintains as documents are written (DynamoDB's totals,
        SQLite's and DynamoDB's hourly insights) from the documents themselves; returns how many it
        counted. A full pass, for a quiet hour (``manage.py recount``); hours without documents
        keep their history. Backends that compute from their documents directly keep nothing to
        repair: 0."""
        return 0

    def _list_summaries(self, query: ListQuery, on_skip: OnSkip, at: datetime) -> SummaryPage:
        """A page of summaries, statuses taken at ``at``: by default the documents of ``_list``'s
        page, summarized. Backends that store summaries read those instead."""
        page = self._list(query, on_skip)
        return SummaryPage(items=[summarize(state, at=at, stalled_after=query.stalled_after) for state in page.items],
                           next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)

    def _insights(self, query: InsightsQuery, now: datetime) -> Insights:
        """By default one pass over every document (memory and file: they hold them in hand)."""
        return insights_of(self.iter_generations(), query, now)

    def _iter(self, batch_size: int, on_skip: OnSkip) -> Iterator[GenerationState]:
        """Every generation in ``paging.sort_key`` order (oldest first): by default, keyset pages of
        ``_list``. A backend whose listing rescans everything per page overrides it."""
        query = ListQuery(newest_first=False, limit=min(batch_size, 500))
        # A page reads one item past its end (to know whether another follows) and the next page
        # reads it again: a document that cannot be read is reported once all the same.
        reported: set[tuple[str | None, str | None]] = set()

        def once(skipped: SkippedDocument) -> None:
            if (key := (skipped.generation_id, skipped.location)) not in reported:
                reported.add(key)
                on_skip(skipped)

        while True:
            with self._track("list"):
                page = self._list(query, once)
            yield from page.items
            if page.next_cursor is None:
                return
            query = query.model_copy(update={"cursor": page.next_cursor})

    def _iter_any_order(self, batch_size: int, on_skip: OnSkip) -> Iterator[GenerationState]:
        """Every generation, in whatever order this backend reads fastest (a migration into an
        empty target pairs nothing, so needs no order): by default ``_iter``'s order."""
        return self._iter(batch_size, on_skip)

    def _count_by_status(self, stalled_after: timedelta) -> dict[GenerationStatus, int]:
        return count_statuses(self.iter_generations(), stalled_after)

    def _metrics_details(self) -> dict[str, Any]:
        return {}

    # -- metrics ------------------------------------------------------------------------

    @contextmanager
    def _track(self, operation: str) -> Iterator[None]:
        """Count a call, its time, and whether it failed (a missing item is not a failure)."""
        started = time.perf_counter()
        failed = False
        try:
            yield
        except StorageNotFoundError:
            raise
        except StorageError:
            failed = True
            raise
        finally:
            self._record(operation, time.perf_counter() - started, failed)

    def _record(self, operation: str, seconds: float, failed: bool) -> None:
        with self._stats_lock:
            self._stats.setdefault(operation, OperationStats()).record(seconds, failed)


def _checked_query(query: ListQuery | None) -> ListQuery:
    query = query or ListQuery()
    if not isinstance(query, ListQuery):
        raise StorageValidationError(f"query must be a ListQuery, got {type(query).__name__}")
    return query


def now() -> str:
    return format_timestamp(utcnow())


def log_skip(skipped: SkippedDocument) -> None:
    """Where a skipped document goes when the caller did not ask for it: a warning."""
    logger.warning("skipping unreadable document %r: %s", skipped.label, skipped.reason)
