"""Run an iterator a few items ahead in a background thread.

A migration spends much of its time waiting for the target to acknowledge a batch; reading
and matching the next batches meanwhile hides the source's cost behind that wait.
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

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            put((_END, exc))
            return
        put((_END, None))

    # A daemon thread: a producer stuck in a slow read never keeps the process alive.
    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ready.get()
            if item is _END:
                if error is not None:
                    raise error
                return
            yield item  # type: ignore[misc]
    finally:
        stopped.set()
