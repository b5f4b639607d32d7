"""Run iterators a few items ahead in background threads.

A migration spends much of its time waiting for the target to acknowledge a batch; reading
and matching the next batches meanwhile hides the source's cost behind that wait. A source
read in parallel parts (DynamoDB's Scan segments) runs each part in a thread of its own.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: How often a blocked producer checks whether the consumer has gone.
_POLL_SECONDS = 0.1
_END = object()


def prefetched(items: Iterable[T], *, depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order, produced in another thread at most ``depth`` ahead.

    An exception of the producer is raised here, in the consumer, where it would have been
    raised without the thread. When the consumer stops early (an error, Ctrl-C) the producer
    stops at its next item.
    """
    return interleaved([items], depth=depth)


def interleaved(sources: list[Iterable[T]], *, depth: int = 2) -> Iterator[T]:
    """Yield the items of every source, each produced in a thread of its own, as they come
    (one source's items in its order), at most ``depth`` ahead of the consumer in all.

    The first exception of a producer is raised in the consumer, after the items that came
    before it, and stops the other producers; so does a consumer that stops early.
    """
    ready: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def put(entry: tuple[object, BaseException | None]) -> bool:
        while not stopped.is_set():
            try:
                ready.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce(items: Iterable[T]) -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put((_END, exc))
            return
        put((_END, None))

    # Daemon threads: a producer stuck in a slow read never keeps the process alive.
    for number, items in enumerate(sources):
        threading.Thread(target=produce, args=(items,), name=f"prefetch-{number}", daemon=True).start()
    running = len(sources)
    try:
        while running:
            item, error = ready.get()
            if item is _END:
                if error is not None:
                    raise error
                running -= 1
                continue
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
