"""``ListQuery`` evaluated in Python, and statuses counted, for backends that hold or scan documents themselves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from operator import itemgetter

from .fingerprints import failure_of
from .models import GenerationState, GenerationStatus, ListQuery, Page, format_timestamp, utcnow
from .paging import build_page, position_of, sort_key


def matches(state: GenerationState, query: ListQuery, at: datetime | None = None) -> bool:
    """Whether a state passes every filter of the query (``at`` is the clock for 'stalled')."""
    if query.status is not None and state.status_at(at or utcnow(), query.stalled_after) is not query.status:
        return False
    if query.stage is not None and state.current_stage is not query.stage:
        return False
    if query.language is not None and (state.language or "").lower() != query.language.lower():
        return False
    if query.failure is not None and failure_of(state) != query.failure:
        return False
    if query.search:
        needle = query.search.casefold()
        if needle not in state.generation_id.casefold() and needle not in (state.prompt or "").casefold():
            return False
    if query.created_after is None and query.created_before is None:
        return True
    created = sort_key(state)[0]
    if query.created_after is not None and created < format_timestamp(query.created_after):
        return False
    return query.created_before is None or created < format_timestamp(query.created_before)


def select_page(states: Iterable[GenerationState], query: ListQuery) -> Page:
    """Filter, order and cut one page out of ``states``."""
    position = position_of(query)
    at = utcnow()
    ascending = position.ascending(query)
    # Each state's key is computed once: parsing times is most of the cost on large stores.
    keyed = []
    for state in states:
        key = sort_key(state)
        if position.precedes(key, ascending) and matches(state, query, at):
            keyed.append((key, state))
    keyed.sort(key=itemgetter(0), reverse=not ascending)
    return build_page([state for _, state in keyed[: query.limit + 1]], query, position)


def count_statuses(states: Iterable[GenerationState], stalled_after: timedelta) -> dict[GenerationStatus, int]:
    """How many of ``states`` are in each status now; every status is a key, zero if none are."""
    at = utcnow()
    counts = Counter(state.status_at(at, stalled_after) for state in states)
    return {status: counts.get(status, 0) for status in GenerationStatus}
