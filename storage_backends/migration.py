"""Copy every generation from one storage to another, losslessly and idempotently; verify the copy.

The engine behind ``manage.py migrate_storage``, usable by a pipeline worker or a script alone:

    from storage_backends import StorageFactory
    from storage_backends.migration import migrate, verify

    with StorageFactory.from_url("file:///srv/generations") as source, \
         StorageFactory.from_url("sqlite:///var/generations.sqlite3") as target:
        report = migrate(source, target)   # report.copied, report.skipped, report.failed
        assert not report.failed.count and not verify(source, target).differences.count

Nothing is left behind silently: a source document that cannot be read (``on_skip`` of
``iter_generations``) or that the target refuses is listed in ``report.failed``.

Both storages list in the same order, (createdAt, generationId) ascending, so the target is
read alongside the source, one window at a time: each source batch is matched by id with the
target documents that sort up to its last key. That costs one streamed read of each side
(constant memory, batch reads where the backend has them) instead of a lookup per document.
A target document is matched only at its own position, so one whose ``createdAt`` differs
from the source's (another producer re-created it) counts as absent and is replaced. Into a
target that lists nothing at the start there is nothing to pair, so the source is read in
whatever order it reads fastest (DynamoDB: parallel Scan segments); a rerun after an
interruption finds the target not empty and pairs again, in order.

Writes go to ``workers`` threads at once (default: the target's ``write_concurrency``, 8 for
DynamoDB, whose batch writes mostly wait on the network; 1 elsewhere), each batch split into
chunks among them. Progress counts a batch only once it and every batch before it are written,
so the count never runs ahead of the target. With several workers an interrupted run may have
written later chunks but not earlier ones: that is fine, since a migration is idempotent and a
rerun pairs with what the target holds, so it copies exactly what is missing.

The writes happen inside ``target.bulk_load()``: DynamoDB then updates its rollups (counts,
insights) once every few seconds and at the end, not once per batch. A run killed outright (not
an error or Ctrl-C, which still bring them up to date) can leave the last few seconds' writes
uncounted, and a rerun skips what is already copied: ``manage.py recount`` repairs that.
"""

from __future__ import annotations

import collections
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, field

from .base import GenerationStateStorage, OnSkip, log_skip
from .errors import StorageCorruptDocumentError, StorageError, StorageNotFoundError, StorageValidationError
from .models import GenerationState, ListQuery, SkippedDocument
from .paging import SortKey, created_sort_value, sort_key
from .prefetch import prefetched

DEFAULT_BATCH_SIZE = 500
#: The smallest chunk a batch is split into for a writer: a whole DynamoDB BatchWriteItem.
MIN_CHUNK = 25
#: How many failures or differences a report keeps by name; the counts go on.
MAX_LISTED = 100

#: Called after each batch with how many source documents were handled and how many there are (if known).
Progress = Callable[[int, int | None], None]


@dataclass
class Problems:
    """Documents that went wrong, by id with the reason, the first ``MAX_LISTED`` of them named."""

    count: int = 0
    listed: dict[str, str] = field(default_factory=dict)
    # Added to from the reading thread (corrupt documents) and the writing ones (refused ones).
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, label: str, reason: str) -> None:
        """Count a document, named by its id (or its location, when it has no readable id)."""
        with self._lock:
            if label in self.listed:
                return
            self.count += 1
            if len(self.listed) < MAX_LISTED:
                self.listed[label] = reason


@dataclass
class MigrationReport:
    copied: int = 0
    unchanged: int = 0
    newer_in_target: int = 0
    failed: Problems = field(default_factory=Problems)
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        return self.unchanged + self.newer_in_target


@dataclass
class VerifyReport:
    checked: int = 0
    #: None when a listing was out of order, so documents were compared by id instead.
    only_in_target: int | None = 0
    differences: Problems = field(default_factory=Problems)
    seconds: float = 0.0


class TargetUnavailableError(StorageError):
    """Every document of a batch failed to be written: the target is down, not the documents."""


def migrate(
    source: GenerationStateStorage, target: GenerationStateStorage, *, overwrite: bool = False,
    dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress | None = None,
    workers: int | None = None,
) -> MigrationReport:
    """Copy what the target lacks or holds an older version of (by ``updatedAt``), times included.

    A target document newer than the source's is kept unless ``overwrite``. Source documents
    that cannot be read and documents the target refuses are listed in ``report.failed``; the
    others are copied all the same. A source or target that fails altogether raises ``StorageError``.
    Call ``prepare_for_listing()`` on both first (the command does, except in a dry run), or
    documents another producer wrote that a backend cannot list yet are neither copied nor seen.
    ``workers``: how many ``save_many`` calls run at once (None: ``target.write_concurrency``).
    """
    workers = target.write_concurrency if workers is None else workers
    if workers < 1:
        raise StorageValidationError("workers must be at least 1")
    report = MigrationReport()
    started = time.monotonic()
    total = _expected_count(source) if progress else None
    _check_batch_size(batch_size)
    on_skip = _failed_in_source(report.failed)
    pairs = (_unpaired(source, batch_size, on_skip) if _holds_nothing(target)
             else _Pairing(source, target, batch_size, on_skip=on_skip))
    done = 0

    def advance(finished: list[int]) -> None:
        nonlocal done
        for read in finished:
            done += read
            if progress:
                progress(done, total)

    # Reading and matching run ahead in a thread while this one hands the writes out.
    # A bulk load lets the target keep its sums up to date once every few seconds, not per batch.
    with closing(prefetched(_to_copy(batch, report, overwrite=overwrite) for batch in pairs)) as batches, \
         (nullcontext() if dry_run else target.bulk_load()), _Writers(target, report, workers) as writers:
        for read, to_copy in batches:
            if dry_run:
                report.copied += len(to_copy)
                advance([read])
            else:
                advance(writers.write(read, to_copy))
        advance(writers.drain())
    report.seconds = time.monotonic() - started
    return report


def verify(
    source: GenerationStateStorage, target: GenerationStateStorage, *,
    batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress | None = None,
) -> VerifyReport:
    """Compare every source document with the target's, attribute by attribute; a source document
    that cannot be read is a difference too (it cannot have been copied)."""
    report = VerifyReport()
    started = time.monotonic()
    total = _expected_count(source) if progress else None
    pairs = _Pairing(source, target, batch_size, on_skip=_failed_in_source(report.differences))
    for batch in pairs:
        for state, existing in batch:
            report.checked += 1
            difference = describe_difference(state, existing or _get_directly(target, state.generation_id))
            if difference:
                report.differences.add(state.generation_id, difference)
        if progress:
            progress(pairs.read, total)
    report.only_in_target = pairs.only_in_target
    report.seconds = time.monotonic() - started
    return report


def describe_difference(state: GenerationState, existing: GenerationState | StorageError | None) -> str | None:
    """None if the target holds exactly the source's document, else what differs."""
    if existing is None:
        return "missing in the target"
    if isinstance(existing, StorageError):
        return f"unreadable in the target: {existing}"
    ours, theirs = state.to_item(), existing.to_item()
    if ours == theirs:
        return None
    keys = sorted(key for key in ours.keys() | theirs.keys() if ours.get(key) != theirs.get(key))
    return f"differs in {', '.join(keys)}"


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise StorageValidationError("batch_size must be at least 1")


def _holds_nothing(target: GenerationStateStorage) -> bool:
    """Whether the target holds no generation to pair with, so the source may be read in any
    order. Its count first (cheap everywhere: a file store's listing would open every file),
    then its first row, since a count may lag (DynamoDB's, after a bulk load killed before its
    sums were written)."""
    return target.get_metrics().active_generations == 0 and not target.list_summaries(ListQuery(limit=1)).items


def _unpaired(source: GenerationStateStorage, batch_size: int,
              on_skip: OnSkip) -> Iterator[list[tuple[GenerationState, None]]]:
    """Source batches for an empty target, read in whatever order the source reads fastest
    (DynamoDB: parallel Scan segments), each document paired with nothing."""
    documents = source._iter_any_order(batch_size, on_skip)
    while batch := list(itertools.islice(documents, batch_size)):
        yield [(state, None) for state in batch]


def _failed_in_source(problems: Problems) -> OnSkip:
    """The ``on_skip`` of a source read: each document it could not read becomes a problem."""

    def skipped(document: SkippedDocument) -> None:
        problems.add(document.label, f"unreadable in the source: {document.reason}")

    return skipped


class _Pairing:
    """Source batches, each document paired with the target's document of the same id (or None).

    Both sides are expected in (createdAt, generationId) order, as ``iter_generations``
    promises. Should either break it, pairing goes on by reading each document from the target
    by id: slower, still right, and ``only_in_target`` is then unknown (None). Source documents
    that cannot be read go to ``on_skip``; unreadable target documents are replaced.
    """

    def __init__(self, source: GenerationStateStorage, target: GenerationStateStorage, batch_size: int, *,
                 on_skip: OnSkip) -> None:
        _check_batch_size(batch_size)
        self._source = source.iter_generations(batch_size, on_skip)
        self._target_storage = target
        # An unreadable target document is not lost (logged; the source's copy replaces it).
        self._target = target.iter_generations(batch_size, log_skip)
        self._batch_size = batch_size
        self._ahead: GenerationState | None = None
        self._probe: collections.deque[GenerationState] | None = None
        self._last_source: SortKey | None = None
        self._last_target: SortKey | None = None
        self.ordered = True
        self.read = 0
        self.only_in_target: int | None = 0

    def __iter__(self) -> Iterator[list[tuple[GenerationState, GenerationState | None]]]:
        while batch := self._source_batch():
            self.read += len(batch)
            keys = [sort_key(state) for state in batch]
            self.ordered = self.ordered and _ascending([self._last_source, *keys])
            self._last_source = keys[-1]
            window = {state.generation_id: state for state in self._target_up_to(keys[-1])} if self.ordered else {}
            if not self.ordered:
                yield [(state, self._lookup(state.generation_id)) for state in batch]
                continue
            yield [(state, window.pop(state.generation_id, None)) for state in batch]
            # Whatever no source document claimed sorts before the next batch: it is the target's own.
            self.only_in_target += len(window)
        rest = sum(1 for _ in self._target_up_to(None)) if self.ordered else 0
        self.only_in_target = self.only_in_target + rest if self.ordered else None

    def _source_batch(self) -> list[GenerationState]:
        return list(itertools.islice(self._source, self._batch_size))

    def _target_up_to(self, last: SortKey | None) -> Iterator[GenerationState]:
        """Target documents up to ``last`` (None: all the rest), in order; stops if the order breaks."""
        if self._probe is None:
            self._probe_target()
        while self.ordered:
            if self._ahead is None:
                self._ahead = self._probe.popleft() if self._probe else next(self._target, None)
                if self._ahead is None:
                    return
                key = sort_key(self._ahead)
                self.ordered = _ascending([self._last_target, key])
                self._last_target = key
                continue
            if last is not None and self._last_target > last:
                return
            yield self._ahead
            self._ahead = None

    def _probe_target(self) -> None:
        """Read a batch of the target ahead: a target out of order must be caught before a document
        is taken for absent (the source's order is checked as it comes, which is soon enough)."""
        self._probe = collections.deque(itertools.islice(self._target, self._batch_size))
        self.ordered = self.ordered and _ascending([sort_key(state) for state in self._probe])

    def _lookup(self, generation_id: str) -> GenerationState | None:
        found = _get_directly(self._target_storage, generation_id)
        return found if isinstance(found, GenerationState) else None  # a corrupt one is replaced


def _ascending(keys: list[SortKey | None]) -> bool:
    """Whether the keys (None: no key yet) strictly ascend."""
    present = [key for key in keys if key is not None]
    return all(a < b for a, b in itertools.pairwise(present))


def _get_directly(target: GenerationStateStorage, generation_id: str) -> GenerationState | StorageError | None:
    """A document the listing did not show, read by id: a listing index (DynamoDB's) may lag a write."""
    try:
        return target.get(generation_id)
    except StorageNotFoundError:
        return None
    except StorageCorruptDocumentError as exc:
        return exc


def _expected_count(source: GenerationStateStorage) -> int | None:
    """How many documents the source holds, for progress; None if it cannot say."""
    try:
        return source.get_metrics().active_generations
    except StorageError:
        return None  # only the progress display loses its total; reading reports real failures


def _to_copy(batch: list[tuple[GenerationState, GenerationState | None]], report: MigrationReport, *,
             overwrite: bool) -> tuple[int, list[GenerationState]]:
    """How many source documents the batch holds, and those to copy; counts the others as skipped."""
    to_copy = []
    for state, existing in batch:
        action = _action(state, existing, overwrite=overwrite)
        if action == "copy":
            to_copy.append(state)
        elif action == "unchanged":
            report.unchanged += 1
        else:
            report.newer_in_target += 1
    return len(batch), to_copy


def _action(state: GenerationState, existing: GenerationState | None, *, overwrite: bool) -> str:
    if existing is None:
        return "copy"
    ours, theirs = created_sort_value(state.updated_at), created_sort_value(existing.updated_at)
    if (ours, state.updated_at) == (theirs, existing.updated_at):
        return "unchanged"
    if theirs > ours and not overwrite:
        return "newer"
    return "copy"


class _Writers:
    """Writes batches with ``workers`` threads, each batch split into chunks among them.

    At most ``2 * workers`` chunks are in flight (memory stays flat; a worker that finishes
    finds the next chunk waiting). ``write`` and ``drain`` return the read counts of the batches
    that are written, in order, each once every batch before it is too: progress never runs
    ahead of the target. One worker writes in the calling thread, as the migration always did.
    """

    def __init__(self, target: GenerationStateStorage, report: MigrationReport, workers: int) -> None:
        self._target, self._report, self._workers = target, report, workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="migrate-write") if workers > 1 else None
        self._pending: collections.deque[tuple[int, list[Future[int]]]] = collections.deque()
        self._in_flight = 0

    def __enter__(self) -> _Writers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            # After an error, chunks not started are dropped and the running ones awaited:
            # nothing writes to the target once ``migrate`` has returned or raised.
            self._pool.shutdown(wait=True, cancel_futures=True)

    def write(self, read: int, states: list[GenerationState]) -> list[int]:
        """Start writing a batch of ``read`` source documents; the read counts of batches done."""
        if self._pool is None:
            if states:
                self._report.copied += _write(self._target, states, self._report.failed)
            return [read]
        chunks = _split(states, self._workers)
        finished = []
        while self._pending and self._in_flight + len(chunks) > 2 * self._workers:
            finished.append(self._finish_oldest())
        self._pending.append((read, [self._pool.submit(_write, self._target, chunk, self._report.failed)
                                     for chunk in chunks]))
        self._in_flight += len(chunks)
        while self._pending and all(future.done() for future in self._pending[0][1]):
            finished.append(self._finish_oldest())
        return finished

    def drain(self) -> list[int]:
        """Wait for every batch still being written; their read counts, in order."""
        return [self._finish_oldest() for _ in range(len(self._pending))]

    def _finish_oldest(self) -> int:
        read, futures = self._pending.popleft()
        self._in_flight -= len(futures)
        for future in futures:
            # Counted here, in one thread; a chunk's TargetUnavailableError is raised here too.
            self._report.copied += future.result()
        return read


def _split(states: list[GenerationState], workers: int) -> list[list[GenerationState]]:
    """About ``workers`` equal chunks, each a multiple of ``MIN_CHUNK`` but the last (whole batch requests)."""
    size = max(1, math.ceil(len(states) / workers / MIN_CHUNK)) * MIN_CHUNK
    return [states[start:start + size] for start in range(0, len(states), size)]


def _write(target: GenerationStateStorage, states: list[GenerationState], failed: Problems) -> int:
    """Write a chunk at once; if it is refused, write one by one to name the documents at fault.
    Returns how many were written (a worker thread's result, counted by the caller)."""
    try:
        return target.save_many(states, preserve_timestamps=True)
    except StorageError:
        pass
    copied = 0
    failures: list[StorageError] = []
    for state in states:
        try:
            copied += target.save_many([state], preserve_timestamps=True)
        except StorageError as exc:
            failures.append(exc)
            failed.add(state.generation_id, f"not written to the target: {exc}")
    if len(failures) == len(states) and not all(isinstance(exc, StorageValidationError) for exc in failures):
        raise TargetUnavailableError(f"the target refused a whole batch: {failures[-1]}") from failures[-1]
    return copied
