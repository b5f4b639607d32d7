"""``prefetched``: the same items in the same order, errors where they belong, no runaway thread."""

from __future__ import annotations

import threading
import time

import pytest

from storage_backends.prefetch import prefetched


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
    assert threads == {"prefetch"}
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
