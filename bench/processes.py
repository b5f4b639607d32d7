"""Child processes a benchmark starts (servers, proxies), never left running when it ends.

Every process started with ``start`` is remembered and stopped by ``stop`` (the caller's
``finally``) or, failing that, at interpreter exit (``atexit``), by its own pid: terminate,
then kill after a grace period. ``exit_on_signals`` turns SIGTERM and SIGHUP into ``SystemExit``
so ``finally`` blocks and ``atexit`` run then too (Ctrl-C is a ``KeyboardInterrupt`` already).
Children that read their stdin (the dynalite launcher, the delay proxy) also exit by themselves
when this process dies: their stdin pipe closes.
"""

from __future__ import annotations

import atexit
import contextlib
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

_running: list[subprocess.Popen] = []


def start(command: Sequence[str], **popen: Any) -> subprocess.Popen:
    """``subprocess.Popen(command, **popen)``, remembered until stopped."""
    process = subprocess.Popen(list(command), **popen)
    _running.append(process)
    return process


def stop(process: subprocess.Popen, grace_seconds: float = 10.0) -> None:
    """Terminate ``process`` (kill it if it outlives ``grace_seconds``) and forget it; safe to repeat."""
    try:
        if process.poll() is None:
            # Closing its stdin first lets a child that waits on it leave by itself.
            if process.stdin is not None and not process.stdin.closed:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            process.terminate()
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=grace_seconds)
    finally:
        if process in _running:
            _running.remove(process)


def stop_all() -> None:
    for process in list(_running):
        stop(process, grace_seconds=5)


def exit_on_signals() -> None:
    """SIGTERM / SIGHUP end this process through ``SystemExit``, so its children are stopped."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda number, frame: sys.exit(128 + number))


atexit.register(stop_all)
