"""Reads behind the insights page and the detail page's comparisons: ``storage.insights`` of a
window ending now (on the insights page, narrowed by the list's stage and language filters).

The insights page makes one call per view, fresh. The detail page asks the same two questions
of every generation (how long does a stage usually take, over the last 7 days; how many failed
this way, in the last 24 hours), so those answers are kept per process for ``CACHE_SECONDS``:
a detail view costs at most two calls, and none while they are fresh.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from storage_backends import GenerationState, GenerationStateStorage, Insights, InsightsQuery, Stage
from storage_backends.fingerprints import failure_of
from storage_backends.insights import window_bounds
from storage_backends.models import utcnow

from .forms import CREATED_PRESETS, ListParams
from .selectors import stalled_after

#: Hours for the short windows, days for the week (a week of hours is too fine to read).
BUCKETS = {"1h": "hour", "24h": "hour", "7d": "day"}
#: Failure groups the insights page shows.
PAGE_GROUPS = 20
#: Failure groups the detail page looks its own up among (the most the storage returns).
LOOKUP_GROUPS = 100
CACHE_SECONDS = 60
#: The windows the detail page compares with.
TYPICAL_WINDOW, SAME_FAILURE_WINDOW = "7d", "24h"


@dataclass(frozen=True)
class WindowInsights:
    """The insights of the generations created in ``window`` (a ``CREATED_PRESETS`` key) up to ``until``."""

    window: str
    since: datetime
    until: datetime
    insights: Insights
    max_groups: int

    @property
    def bucket(self) -> str:
        return BUCKETS[self.window]


@dataclass(frozen=True)
class SameFailure:
    """How many other generations failed the way one did, in ``SAME_FAILURE_WINDOW``."""

    fingerprint: str
    others: int

    @property
    def list_url(self) -> str:
        """The list of that group in that window (this generation too, when it is in the window)."""
        return ListParams(failure=self.fingerprint, created=SAME_FAILURE_WINDOW).url()

    @property
    def window_label(self) -> str:
        return window_label(SAME_FAILURE_WINDOW)


def window_label(window: str) -> str:
    """'last 7 days', as a sentence says it."""
    return CREATED_PRESETS[window][0].lower()


def window_insights(*, storage: GenerationStateStorage, window: str, max_groups: int = PAGE_GROUPS,
                    examples: bool = True, stage: Stage | None = None, language: str = "") -> WindowInsights:
    """One ``insights`` call for the window ending now, bucketed by ``BUCKETS`` (whose sums cover
    whole buckets: ``since`` is the start of the first), of the generations at ``stage`` in
    ``language`` if given (as the list filters them: "" is any language here, as there)."""
    until = utcnow()
    query = InsightsQuery(created_after=until - CREATED_PRESETS[window][1], created_before=until,
                          bucket=BUCKETS[window], stalled_after=stalled_after(), max_groups=max_groups,
                          examples=examples, stage=stage, language=language or None)
    return WindowInsights(window=window, since=window_bounds(query)[0], until=until, insights=storage.insights(query),
                          max_groups=max_groups)


@dataclass
class _Entry:
    storage: GenerationStateStorage
    expires: float
    value: WindowInsights


_lock = threading.Lock()
_cache: dict[str, _Entry] = {}


def recent_insights(*, storage: GenerationStateStorage, window: str) -> WindowInsights:
    """``window_insights`` reused for ``CACHE_SECONDS`` for the same storage, looking up to
    ``LOOKUP_GROUPS`` groups deep."""
    with _lock:  # one call at a time; the others wait and reuse it
        entry = _cache.get(window)
        if entry and entry.storage is storage and time.monotonic() < entry.expires:
            return entry.value
        # Counts are all the detail page needs: no example reads per group.
        value = window_insights(storage=storage, window=window, max_groups=LOOKUP_GROUPS, examples=False)
        _cache[window] = _Entry(storage=storage, expires=time.monotonic() + CACHE_SECONDS, value=value)
        return value


def same_failure(*, storage: GenerationStateStorage, state: GenerationState) -> SameFailure | None:
    """For a failed generation, how many others failed the same way lately; None when it did not
    fail, or when its group is too rare to be among the groups returned and so cannot be counted."""
    fingerprint = failure_of(state)
    if fingerprint is None:
        return None
    recent = recent_insights(storage=storage, window=SAME_FAILURE_WINDOW)
    group = next((group for group in recent.insights.failures if group.fingerprint == fingerprint), None)
    if group is None:
        # Every group was returned: none other failed so.
        return SameFailure(fingerprint, 0) if len(recent.insights.failures) < recent.max_groups else None
    itself = state.created is not None and recent.since <= state.created < recent.until
    return SameFailure(fingerprint, max(0, group.count - itself))
