"""Reads behind the list page: one page of rows (``list_summaries``: no whole documents, plus
one query for which of them have notes), and the counts by status.

Counting is a full pass on backends that cannot count by index, so the counts are kept
for ``GENNIE_COUNTS_CACHE_SECONDS`` per process and shown with the time they were taken. This
is the only cache of them (no backend keeps its own), so that time is the truth.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from storage_backends import (
    GenerationStateStorage,
    GenerationStatus,
    GenerationSummary,
    Stage,
    StorageValidationError,
    describe_error,
)
from storage_backends.models import utcnow

from .forms import ListParams
from .notes import ids_with_notes
from .presentation.labels import STAGE_LABELS

PROMPT_CHARS = 90
ERROR_CHARS = 300
FAILURE_CHARS = 60
STATUS_ORDER = (
    GenerationStatus.IN_PROGRESS, GenerationStatus.STALLED, GenerationStatus.FAILED, GenerationStatus.COMPLETED
)


@dataclass(frozen=True)
class GenerationRow:
    """What one row of the list shows, computed once against one clock."""

    generation_id: str
    prompt: str
    language: str
    aspect_ratio: str
    status: GenerationStatus
    stage: Stage | None
    #: 1-based position of the first failed stage, 0 if none failed.
    failed_number: int
    #: Which stage failed and why, cut short for a tooltip ("" when nothing failed).
    error: str
    created_at: str | None
    updated_at: str | None
    #: The failure group's fingerprint and readable message ("" when nothing failed).
    failure: str
    failure_message: str
    #: Whether staff left notes on it (one query for the whole page: ``ids_with_notes``).
    has_notes: bool = False

    @property
    def stage_number(self) -> int:
        return self.stage.index + 1 if self.stage else 0

    @property
    def short_prompt(self) -> str:
        """The prompt cut to fit one table cell (the cell's title holds it all)."""
        return shorten(self.prompt, PROMPT_CHARS)

    @property
    def short_failure(self) -> str:
        """The failure group's message cut to fit under the status badge."""
        return shorten(self.failure_message, FAILURE_CHARS)

    @property
    def in_progress(self) -> bool:
        return self.status in (GenerationStatus.IN_PROGRESS, GenerationStatus.STALLED)

    @classmethod
    def of(cls, summary: GenerationSummary, *, has_notes: bool = False) -> GenerationRow:
        failed = summary.failed_stage
        return cls(
            generation_id=summary.generation_id, prompt=summary.prompt or "", language=summary.language or "",
            aspect_ratio=summary.aspect_ratio or "", status=summary.status, stage=summary.current_stage,
            failed_number=failed.index + 1 if failed else 0, error=failure_summary(failed, summary.error),
            created_at=summary.created_at, updated_at=summary.updated_at,
            failure=summary.failure or "", failure_message=failure_message(failed, summary),
            has_notes=has_notes,
        )


@dataclass(frozen=True)
class StatusCounts:
    counts: dict[GenerationStatus, int]
    as_of: datetime
    max_age_seconds: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def entries(self) -> list[tuple[GenerationStatus, int]]:
        """(status, count) in the order staff scan them: what needs attention first."""
        return [(status, self.counts.get(status, 0)) for status in STATUS_ORDER]


@dataclass(frozen=True)
class GenerationListing:
    """Everything the list page renders: the state it shows, its rows, links' cursors, counts."""

    backend: str
    params: ListParams
    rows: list[GenerationRow]
    next_cursor: str | None
    prev_cursor: str | None
    counts: StatusCounts
    #: Readable lines about the parameters that were ignored.
    problems: tuple[str, ...]

    @property
    def current_url(self) -> str:
        """This page's canonical URL; the first page (nothing before it) never carries a cursor."""
        return self.params.url(cursor=self.params.cursor if self.prev_cursor else "")

    @property
    def any_in_progress(self) -> bool:
        return any(row.in_progress for row in self.rows)

    @property
    def failure_message(self) -> str:
        """The readable message of the failure group filtered on, from a row of it ("" without one)."""
        return next((row.failure_message for row in self.rows if row.failure == self.params.failure), "")


def failure_summary(failed: Stage | None, reason: str | None) -> str:
    """'Audio failed: TTS quota exceeded', cut to ``ERROR_CHARS``; "" when nothing failed."""
    if failed is None:
        return ""
    return shorten(f"{STAGE_LABELS[failed]} failed" + (f": {reason}" if reason else ""), ERROR_CHARS)


def failure_message(failed: Stage | None, summary: GenerationSummary) -> str:
    """The readable message of the row's failure group; the failed stage when it has no message."""
    if failed is None or not summary.failure:
        return ""
    return describe_error(summary.error) or f"{STAGE_LABELS[failed]} failed, with no message"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stalled_after() -> timedelta:
    return timedelta(minutes=settings.GENNIE_STALLED_AFTER_MINUTES)


def generation_listing(
    *, storage: GenerationStateStorage, params: ListParams, problems: Sequence[str] = ()
) -> GenerationListing:
    """One page for ``params``; a cursor the storage refuses falls back to the unfiltered first page."""
    now, threshold = utcnow(), stalled_after()
    try:
        page = storage.list_summaries(params.to_query(now=now, stalled_after=threshold))
    except StorageValidationError as exc:
        problems = [*problems, f"cursor: {exc}"]
        params = ListParams()
        page = storage.list_summaries(params.to_query(now=now, stalled_after=threshold))
    noted = ids_with_notes(summary.generation_id for summary in page.items)
    return GenerationListing(
        backend=storage.backend_name,
        params=params,
        rows=[GenerationRow.of(summary, has_notes=summary.generation_id in noted) for summary in page.items],
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        counts=status_counts(storage=storage),
        problems=tuple(problems),
    )


@dataclass
class _CountsCache:
    storage: GenerationStateStorage | None = None
    expires: float = 0.0
    counts: StatusCounts | None = None


#: The longest the counts are reused on a storage whose derived state a stream indexer keeps.
STREAM_COUNTS_CACHE_SECONDS = 1

_counts_lock = threading.Lock()
_counts_cache = _CountsCache()


def status_counts(*, storage: GenerationStateStorage) -> StatusCounts:
    """Counts by status, reused for ``GENNIE_COUNTS_CACHE_SECONDS`` for the same storage (a second
    at most on DynamoDB with the stream indexer: its counts are a few small reads, moved by
    another process, and a producer's write should show within a second or two of its pass)."""
    max_age = settings.GENNIE_COUNTS_CACHE_SECONDS
    if storage.describe().get("stream_indexer"):
        max_age = min(max_age, STREAM_COUNTS_CACHE_SECONDS)
    with _counts_lock:  # one count at a time; the others wait and reuse it
        cache = _counts_cache
        if cache.counts and cache.storage is storage and time.monotonic() < cache.expires:
            return cache.counts
        cache.counts = StatusCounts(storage.count_by_status(stalled_after()), as_of=utcnow(), max_age_seconds=max_age)
        cache.storage, cache.expires = storage, time.monotonic() + max_age
        return cache.counts
