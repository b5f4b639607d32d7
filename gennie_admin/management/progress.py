"""Progress of a long command: a bar redrawn in place on a terminal, a plain line now and then elsewhere.

Cron mails and CI logs get a few readable lines instead of hundreds of carriage returns.
"""

from __future__ import annotations

import time

from django.core.management.base import OutputWrapper

BAR_WIDTH = 30
#: Seconds between plain lines when the output is not a terminal.
LINE_INTERVAL = 10.0
#: Seconds between redraws of the bar (redrawing on every batch would cost more than it shows).
REDRAW_INTERVAL = 0.2


class ProgressReporter:
    """Call with the count done so far and the total if known; ``finish`` ends the bar's line."""

    def __init__(self, out: OutputWrapper, *, label: str, tty: bool) -> None:
        self._out = out
        self._label = label
        self._done = 0
        self._total: int | None = None
        self._tty = tty
        self._started = self._last = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        self._done, self._total = done, total or None
        now = time.monotonic()
        if now - self._last >= (REDRAW_INTERVAL if self._tty else LINE_INTERVAL):
            self._last = now
            self._show(now)

    def finish(self) -> None:
        """On a terminal, draw the final count (redraws are spaced out) and end the line."""
        if self._drawn:
            self._show(time.monotonic())
            self._out.write("")
            self._drawn = False

    def _show(self, now: float) -> None:
        if self._tty:
            self._out.write(f"\r{self._bar(self._done)} {self._figures(self._done, now)}", ending="")
            self._out.flush()
            self._drawn = True
        else:
            self._out.write(f"{self._label}: {self._figures(self._done, now)}")

    def _bar(self, done: int) -> str:
        if self._total is None:
            return self._label
        filled = min(BAR_WIDTH, BAR_WIDTH * done // self._total)
        return f"{self._label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}]"

    def _figures(self, done: int, now: float) -> str:
        rate = done / max(now - self._started, 1e-9)
        # The total is the backend's count when we started, so it may be passed.
        count = f"{done:,}/{self._total:,}" if self._total and done <= self._total else f"{done:,}"
        return f"{count} ({rate:,.0f}/s)"
