"""Run a function in several spawned processes at once, for cross-process safety tests."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any


def run_together(target: Callable[..., None], arguments: Sequence[tuple[Any, ...]], timeout: float = 120) -> list[int]:
    """Start ``target(*args, start)`` per tuple in its own (spawned) process and return the exit codes.

    ``start`` is a barrier the target waits on once set up, so the processes' work overlaps.
    """
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(arguments))
    workers = [context.Process(target=target, args=(*args, start)) for args in arguments]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    return [worker.exitcode for worker in workers]
