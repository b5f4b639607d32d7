"""``ListQuery`` evaluated in Python, for backends that hold or scan documents themselves."""

from __future__ import annotations

from collections.abc import Iterable

from .models import GenerationState, ListQuery, Page, format_timestamp, utcnow
from .paging import PagePosition, build_page, position_of, sort_key


def matches(state: GenerationState, query: ListQuery, at=None) -> bool:
    """Whether a state passes every filter of the query (``at`` is the clock for 'stalled')."""
    if query.status is not None and state.status_at(at or utcnow(), query.stalled_after) is not query.status:
        return False
    if query.stage is not None and state.current_stage is not query.stage:
        return False
    if query.language is not None and (state.language or "").lower() != query.language.lower():
        return False
    if query.search:
        needle = query.search.casefold()
        if needle not in state.generation_id.casefold() and needle not in (state.prompt or "").casefold():
            return False
    created = sort_key(state)[0]
    if query.created_after is not None and created < format_timestamp(query.created_after):
        return False
    return query.created_before is None or created < format_timestamp(query.created_before)


def select_page(states: Iterable[GenerationState], query: ListQuery) -> Page:
    """Filter, order and cut one page out of ``states``."""
    position = position_of(query)
    at = utcnow()
    ascending = position.ascending(query)
    rows = [
        state for state in states
        if matches(state, query, at) and _beyond(sort_key(state), position, ascending)
    ]
    rows.sort(key=sort_key, reverse=not ascending)
    return build_page(rows[: query.limit + 1], query, position)


def _beyond(key, position: PagePosition, ascending: bool) -> bool:
    if position.key is None:
        return True
    return key > position.key if ascending else key < position.key
