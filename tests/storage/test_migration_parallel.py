"""``migrate(..., workers=N)``: several writers at once, keeping everything one writer promises."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import pytest

from storage_backends import (
    GenerationState,
    InsightsQuery,
    StorageFactory,
    StorageOperationError,
    StorageValidationError,
)
from storage_backends.backends.dynamodb import DynamoDBStorage
from storage_backends.backends.memory import MemoryStorage
from storage_backends.demo import save_demo
from storage_backends.migration import TargetUnavailableError, migrate, verify
from storage_backends.models import format_timestamp

from ..factories import make_item

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ODD_ONES = [
    make_item("Ünïcode-ид-日本", created_at="2026-11-20T10:00:00.000Z", updated_at="2026-11-20T10:05:00.000Z",
              pipelineVersion="2.3.1"),
    {"generationId": "bare", "createdAt": "2026-11-21T00:00:00.000Z", "updatedAt": "2026-11-21T00:00:00.000Z",
     "custom": {"nested": [1, 2.5, True, None, "x"]}},
]


class WatchedStorage(MemoryStorage):
    """A memory target that records how many ``save_many`` calls ran at once and how many documents
    they wrote; it can wait for a second caller, be slow for one id, refuse one id, or be down."""

    def __init__(self, *, wait_for_company: bool = False, slow: str | None = None, refuse: str | None = None,
                 down: bool = False) -> None:
        super().__init__()
        self.wait_for_company, self.slow, self.refuse, self.down = wait_for_company, slow, refuse, down
        self.running = self.most_at_once = self.written = 0
        self._watch = threading.Lock()
        self._company = threading.Event()

    def save_many(self, states: Iterable[GenerationState], *, preserve_timestamps: bool = False) -> int:
        states = list(states)
        ids = {state.generation_id for state in states}
        with self._watch:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            if self.running > 1:
                self._company.set()
        try:
            if self.wait_for_company:  # so overlap shows on a loaded machine too
                self._company.wait(timeout=5)
            if self.slow in ids:
                time.sleep(0.3)
            if self.down:
                raise StorageOperationError("connection refused", code="ConnectionRefused")
            if self.refuse in ids:
                raise StorageValidationError(f"generation {self.refuse!r} is too large")
            written = super().save_many(states, preserve_timestamps=preserve_timestamps)
            with self._watch:
                self.written += written
            return written
        finally:
            with self._watch:
                self.running -= 1


def demo_source(count: int) -> MemoryStorage:
    source = MemoryStorage()
    save_demo(source, count, now=NOW)
    source.save_many(ODD_ONES, preserve_timestamps=True)
    return source


def first_id(storage: MemoryStorage) -> str:
    return next(iter(storage.iter_generations())).generation_id


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_four_workers_copy_every_document_losslessly_and_a_rerun_copies_nothing(kind, tmp_path):
    source = demo_source(398)
    target = MemoryStorage() if kind == "memory" else StorageFactory.from_url(f"sqlite:///{tmp_path / 't.sqlite3'}")
    seen: list[tuple[int, int | None]] = []
    report = migrate(source, target, batch_size=100, workers=4, progress=lambda done, total: seen.append((done, total)))
    assert (report.copied, report.skipped, report.failed.count) == (400, 0, 0)
    assert [done for done, _ in seen] == [100, 200, 300, 400]
    assert seen[-1] == (400, 400)
    checked = verify(source, target)
    assert (checked.checked, checked.differences.count, checked.only_in_target) == (400, 0, 0)
    again = migrate(source, target, batch_size=100, workers=4)
    assert (again.copied, again.unchanged, again.failed.count) == (0, 400, 0)
    target.close()


@pytest.mark.parametrize(("workers", "at_once"), [(4, "several"), (1, "one")])
def test_writes_run_at_once_only_with_several_workers(workers, at_once):
    source, target = demo_source(298), WatchedStorage(wait_for_company=workers > 1)
    report = migrate(source, target, batch_size=100, workers=workers)
    assert report.copied == 300
    assert (target.most_at_once > 1) if at_once == "several" else (target.most_at_once == 1)


def test_the_default_number_of_workers_is_the_targets_write_concurrency():
    class Concurrent(WatchedStorage):
        write_concurrency = 4

    source = demo_source(198)
    serial, concurrent = WatchedStorage(), Concurrent(wait_for_company=True)
    migrate(source, serial, batch_size=100)
    migrate(source, concurrent, batch_size=100)
    assert (serial.most_at_once, concurrent.most_at_once > 1) == (1, True)
    assert DynamoDBStorage.write_concurrency > 1 and MemoryStorage.write_concurrency == 1


def test_progress_never_counts_a_batch_before_it_and_every_earlier_one_are_written():
    source = demo_source(598)
    # The very first chunk is slow: the batches after it are written first, but not counted first.
    target = WatchedStorage(slow=first_id(source))
    ahead: list[tuple[int, int]] = []

    def progress(done: int, total: int | None) -> None:
        if target.written < done:
            ahead.append((done, target.written))

    report = migrate(source, target, batch_size=100, workers=4, progress=progress)
    assert report.copied == 600 and ahead == []


def test_a_refused_document_is_named_while_the_rest_is_copied():
    source = demo_source(298)
    refused = [state.generation_id for state in source.iter_generations()][150]
    target = WatchedStorage(refuse=refused)
    report = migrate(source, target, batch_size=100, workers=4)
    assert (report.copied, report.failed.count) == (299, 1)
    assert list(report.failed.listed) == [refused]
    assert "not written to the target: " in report.failed.listed[refused]
    assert not target.exists(refused) and len(list(target.iter_generations())) == 299


def test_a_target_that_is_down_raises_target_unavailable_and_leaves_no_writer_running():
    source = demo_source(298)
    # The first chunk fails fast, the second slowly: it is still being written when the error is raised.
    target = WatchedStorage(down=True, slow=[state.generation_id for state in source.iter_generations()][30])
    with pytest.raises(TargetUnavailableError, match="the target refused a whole batch: connection refused"):
        migrate(source, target, batch_size=100, workers=4)
    assert target.running == 0


def test_a_dry_run_with_workers_writes_nothing():
    source, target = demo_source(98), WatchedStorage()
    report = migrate(source, target, dry_run=True, workers=4)
    assert (report.copied, target.written) == (100, 0)


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_at_least_one(workers):
    with pytest.raises(StorageValidationError, match="workers must be at least 1"):
        migrate(MemoryStorage(), MemoryStorage(), workers=workers)


def test_four_workers_into_dynamodb_name_a_refused_document_and_copy_the_rest(moto_server, dynamodb_table_name):
    source = demo_source(148)
    huge = make_item("huge", created_at="2026-11-20T00:00:00.000Z", updated_at="2026-11-20T00:00:00.000Z",
                     script={"content": "x" * 450_000})
    source.save_many([huge], preserve_timestamps=True)
    # moto answers one request at a time (tests/conftest.py): a generous read timeout rides out the queue.
    with StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}"
                                 "&read_timeout=30") as target:
        report = migrate(source, target, batch_size=100, workers=4)
        assert (report.copied, report.failed.count) == (150, 1)
        assert "a DynamoDB item holds at most" in report.failed.listed["huge"]
        checked = verify(source, target)
        assert (checked.checked, checked.only_in_target) == (151, 0)
        assert checked.differences.listed == {"huge": "missing in the target"}
        again = migrate(source, target, batch_size=100, workers=4)
        assert (again.copied, again.unchanged, again.failed.count) == (0, 150, 1)


def test_a_migration_into_dynamodb_leaves_counts_and_insights_as_the_sources(moto_server, dynamodb_table_name):
    """The rollups are applied in bulk (``bulk_load``) and still add up to what was copied."""
    source = demo_source(300)
    window = InsightsQuery(created_after=NOW - timedelta(days=14), created_before=NOW + timedelta(hours=1),
                           bucket="day")
    with StorageFactory.from_url(f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}"
                                 "&read_timeout=30") as target:
        assert migrate(source, target, batch_size=100, workers=4).copied == source.get_metrics().active_generations
        assert target.count_by_status() == source.count_by_status()
        expected, found = source.insights(window), target.insights(window)
        assert [b.counts for b in found.buckets] == [b.counts for b in expected.buckets]
        assert {g.fingerprint: g.count for g in found.failures} == {g.fingerprint: g.count for g in expected.failures}
        assert found.stage_durations == expected.stage_durations


def dynamodb_requests(storage: DynamoDBStorage) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in storage.get_metrics().details["requests"].items()}


def test_a_dynamodb_source_is_read_by_parallel_scan_segments_into_an_empty_target(
        moto_server, dynamodb_table_name, monkeypatch):
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&read_timeout=30"
    with StorageFactory.from_url(url) as source:
        source.save_many(demo_source(120).iter_generations(), preserve_timestamps=True)  # rollup items too
        source._calls.call("put_item", TableName=dynamodb_table_name, Item={  # another producer's, unindexed
            "generationId": {"S": "foreign"}, "createdAt": {"S": "2026-11-20T00:00:00.000Z"},
            "updatedAt": {"S": "2026-11-20T00:00:00.000Z"}})
        source._calls.call("put_item", TableName=dynamodb_table_name, Item={  # not a document at all
            "generationId": {"S": "corrupt"}, "initialParams": {"S": "not a map"}})
        segments_read = set()
        real_call = source._calls.call

        def call(operation, **params):
            if operation == "scan":
                segments_read.add(params["Segment"])
            return real_call(operation, **params)

        monkeypatch.setattr(source._calls, "call", call)
        before = dynamodb_requests(source)
        target = MemoryStorage()
        report = migrate(source, target, batch_size=50)
        spent = {name: calls - before.get(name, 0) for name, calls in dynamodb_requests(source).items()}

        assert segments_read == set(range(8))
        assert spent.get("query", 0) == 0 and spent.get("batch_get_item", 0) == 0  # no index pages, no BatchGets
        assert report.copied == 123 and target.get("foreign").generation_id == "foreign"
        assert list(report.failed.listed) == ["corrupt"]
        assert not any(state.generation_id.startswith("_gennie#") for state in target.iter_generations())
        source._calls.call = real_call
        checked = verify(source, target)  # in order, as ever: the unindexed one is not listed there
        assert (checked.checked, checked.differences.count) == (122, 0)


def test_a_target_that_holds_documents_is_paired_in_order_not_scanned(moto_server, dynamodb_table_name):
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&read_timeout=30"
    with StorageFactory.from_url(url) as source:
        source.save_many(demo_source(60).iter_generations(), preserve_timestamps=True)
        target = MemoryStorage()
        later = format_timestamp(NOW + timedelta(days=1))
        newest = next(source.iter_generations()).model_copy(update={"updated_at": later})
        target.save_many([newest], preserve_timestamps=True)
        before = dynamodb_requests(source)
        report = migrate(source, target)
        spent = {name: calls - before.get(name, 0) for name, calls in dynamodb_requests(source).items()}
        assert spent.get("scan", 0) == 0 and spent["query"] >= 1
        assert (report.copied, report.newer_in_target) == (61, 1)
        assert target.get(newest.generation_id).updated_at == newest.updated_at
