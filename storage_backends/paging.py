"""Keyset paging on (createdAt, generationId), shared by the backends that sort themselves.

A cursor names the boundary item and a direction: ``next`` pages continue after it in the
query's order, ``prev`` pages end just before it. Keyset paging (rather than offsets) keeps
every page cheap and visits each item exactly once while others are added or removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .cursors import decode_cursor, encode_cursor
from .errors import StorageValidationError
from .models import GenerationState, ListQuery, Page, format_timestamp, parse_timestamp
from .summaries import GenerationSummary, SummaryPage

P = TypeVar("P", Page, SummaryPage)
T = TypeVar("T")

SortKey = tuple[str, str]
#: ``format_timestamp``'s output: UTC, milliseconds, a ``Z``.
_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


@dataclass(frozen=True)
class PagePosition:
    """Where a page starts: after (or, going back, before) ``key``; ``key`` None is the start."""

    key: SortKey | None = None
    backwards: bool = False

    def ascending(self, query: ListQuery) -> bool:
        """Whether rows are read in ascending (createdAt, id) order for this page."""
        return query.newest_first == self.backwards

    def precedes(self, key: SortKey, ascending: bool) -> bool:
        """Whether a row with ``key`` lies past this position in reading order (the boundary does not)."""
        if self.key is None:
            return True
        return key > self.key if ascending else key < self.key


def sort_key(item: dict[str, Any] | GenerationState | GenerationSummary) -> SortKey:
    """The normalized sort key: a fixed-width UTC time (so strings sort as times) and the id."""
    if isinstance(item, dict):
        created, generation_id = item.get("createdAt"), item["generationId"]
    else:
        created, generation_id = item.created_at, item.generation_id
    return created_sort_value(created), generation_id


def created_sort_value(created: object) -> str:
    moment = parse_timestamp(created) if isinstance(created, str) else None
    if moment is None:
        return ""
    # Most stored times are already in the fixed-width form: skip the costly strftime for them.
    return created if _CANONICAL_TIME.fullmatch(created) else format_timestamp(moment)


def is_older(item: dict[str, Any] | GenerationState, cutoff: str) -> bool:
    """Whether cleanup takes this item (stored or read): created before ``cutoff``. An item without
    a readable ``createdAt`` has no known age and is kept."""
    created = sort_key(item)[0]
    return bool(created) and created < cutoff


def position_of(query: ListQuery) -> PagePosition:
    if query.cursor is None:
        return PagePosition()
    payload = decode_cursor(query.cursor)
    try:
        created, generation_id = payload["k"]
        backwards = {"n": False, "p": True}[payload["d"]]
        newest_first = payload["o"]
    except (KeyError, TypeError, ValueError) as exc:
        raise StorageValidationError("invalid cursor: unexpected payload") from exc
    if newest_first != query.newest_first:
        raise StorageValidationError("invalid cursor: it belongs to the other sort order")
    return PagePosition((str(created), str(generation_id)), backwards)


def make_cursor(key: SortKey, direction: str, query: ListQuery) -> str:
    """A cursor for pages after (``"n"``) or before (``"p"``) ``key`` in the query's order."""
    return encode_cursor({"k": list(key), "d": direction, "o": query.newest_first})


def build_page(
    rows: Sequence[Any], query: ListQuery, position: PagePosition,
    key_of: Callable[[Any], SortKey] = sort_key, page_type: type[P] = Page,
) -> P:
    """Make a page (of documents, or of summaries with ``page_type=SummaryPage``) from up to
    ``limit + 1`` rows read from ``position`` in its reading order."""
    items, next_cursor, prev_cursor = page_bounds(rows, query, position, key_of=key_of)
    return page_type(items=items, next_cursor=next_cursor, prev_cursor=prev_cursor)


def page_bounds(
    rows: Sequence[T], query: ListQuery, position: PagePosition, *, key_of: Callable[[T], SortKey] = sort_key,
) -> tuple[list[T], str | None, str | None]:
    """A page's rows in the query's order and its next and previous cursors, from up to
    ``limit + 1`` rows read from ``position`` in its reading order."""
    has_more = len(rows) > query.limit
    items = list(rows[: query.limit])
    if position.backwards:
        items.reverse()
    if not items:
        return [], None, None
    more_after = has_more if not position.backwards else True
    more_before = has_more if position.backwards else position.key is not None
    return (
        items,
        make_cursor(key_of(items[-1]), "n", query) if more_after else None,
        make_cursor(key_of(items[0]), "p", query) if more_before else None,
    )
