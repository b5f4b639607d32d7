"""``prefetched`` and ``interleaved``: the same items (in order, per source), errors where they belong,
no runaway thread."""

from __future__ import annotations

import threading
import time

import pytest

from storage_backends.prefetch import interleaved, prefetched


def test_yields_every_item_in_order():
    assert list(prefetched(iter(range(1000)), depth=3)) == list(range(1000))


def test_runs_ahead_in_another_thread_but_no_further_than_depth():
    produced: list[int] = []
    threads: set[str] = set()

    def items():
        for n in range(10):
            threads.add(threading.current_thread().name)
            produced.append(n)
            yield n

    iterator = prefetched(items(), depth=2)
    assert next(iterator) == 0
    time.sleep(0.3)
    # One handed over, two waiting in the queue, one produced and waiting for room.
    assert len(produced) == 4
    assert threads == {"prefetch-0"}
    iterator.close()


def test_an_error_of_the_producer_is_raised_to_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    seen = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetched(items()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer():
    produced = []

    def items():
        for n in range(10_000):
            produced.append(n)
            yield n

    iterator = prefetched(items(), depth=1)
    next(iterator)
    iterator.close()
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count < 10


def test_interleaved_yields_every_source_item_once_each_source_in_its_order():
    sources = [range(start, 3000, 3) for start in range(3)]
    seen = list(interleaved([iter(source) for source in sources], depth=4))
    assert sorted(seen) == list(range(3000))
    for source in sources:
        assert [item for item in seen if item in source] == list(source)


def test_interleaved_reads_its_sources_at_once():
    """Three sources that each wait for the other two (a barrier) finish only if they run together."""
    together = threading.Barrier(3, timeout=5)

    def source(number):
        together.wait()
        yield number

    assert sorted(interleaved([source(n) for n in range(3)])) == [0, 1, 2]


def test_interleaved_raises_the_first_error_and_stops_the_other_sources():
    produced = []

    def endless():
        for n in range(100_000):
            produced.append(n)
            yield n

    def failing():
        yield -1
        raise OSError("segment gone")

    with pytest.raises(OSError, match="segment gone"):
        list(interleaved([endless(), failing()], depth=1))
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count < 100_000


def test_interleaved_with_no_source_yields_nothing():
    assert list(interleaved([])) == []
