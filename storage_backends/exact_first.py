"""A search equal to a stored id puts that generation first.

Support staff paste the id a customer sent; it should be the first row even when other ids or
prompts contain it and are newer. The first page of such a search is that generation, found by
one ``get``, then up to ``limit - 1`` substring matches; every later page of the same search
leaves it out, so it is listed exactly once. A page reached going back to the start with ``prev_cursor``
is a later page in this sense: the list's "first page" link (no cursor) shows it on top again.
A search that is not a possible id, or pages of one item, are listed as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from .documents import validate_id
from .errors import StorageCorruptDocumentError, StorageNotFoundError, StorageValidationError
from .filtering import matches
from .models import GenerationState, ListQuery
from .paging import P, make_cursor, sort_key
from .summaries import GenerationSummary


def promotes(query: ListQuery) -> bool:
    """Whether this query's pages put an exact id first (and leave it out of later pages)."""
    if not query.search or query.limit < 2:
        return False
    try:
        validate_id(query.search)
    except StorageValidationError:
        return False
    return True


def exact_hit(query: ListQuery, get: Callable[[str], GenerationState]) -> GenerationState | None:
    """On a promoting query's first page, the generation whose id is the search, if it passes
    the other filters; None otherwise."""
    if not promotes(query) or query.cursor is not None:
        return None
    try:
        state = get(query.search)
    except (StorageNotFoundError, StorageCorruptDocumentError):
        return None
    return state if matches(state, query) else None


def with_exact_first(page: P, query: ListQuery, exact: GenerationState | GenerationSummary | None) -> P:
    """The page (of documents or of summaries, ``exact`` of the same kind) with the exact hit on
    top and never twice. A full page gives up its last match to make room, and the next page then
    starts after the match it keeps last."""
    if not promotes(query):
        return page
    rest = [state for state in page.items if state.generation_id != query.search]
    if exact is None:
        return page.model_copy(update={"items": rest})
    if len(rest) < query.limit:
        return page.model_copy(update={"items": [exact, *rest]})
    kept = rest[: query.limit - 1]
    return page.model_copy(update={"items": [exact, *kept],
                                   "next_cursor": make_cursor(sort_key(kept[-1]), "n", query)})
