"""A list page as a ``Query`` of one of the slim listing indexes: a page costs about a page of reads.

A failure-group filter reads the failure index (group, created), a status filter the status
index (phase, created), where every item read is of that group or phase; anything else reads
the created index (one partition, created). The cursor's boundary
and the created range become the key condition; the other filters a ``FilterExpression`` over
the projected attributes (see ``filters``). Reading goes on until the page is full or the
budget of items is spent: ``2 × limit + 1`` on the status and failure indexes, whatever the table's size or
the match rate, ``list_read_budget`` otherwise. A page cut short by its budget still gets a
cursor from where reading stopped, so a rare filter costs several short pages rather than one
request that reads the whole table.

The rows are index items; ``page_rows`` returns them with the page's cursors, and the backend
turns them into summaries (from the items alone) or documents (one ``BatchGetItem`` per 100).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...documents import ID_FIELD
from ...models import GenerationStatus, ListQuery, format_timestamp, utcnow
from ...paging import PagePosition, SortKey, make_cursor, page_bounds, position_of
from .client import DynamoDBCalls
from .derived import FAILURE, PHASE
from .expressions import Expression
from .filters import filter_expression
from .index import CREATED_KEY, INDEX_NAME, SHARD, SHARD_VALUE, created_of, sort_value
from .table import FAILURE_INDEX_NAME, STATUS_INDEX_NAME

#: The key attributes of each listing index (an ``ExclusiveStartKey`` holds them and the table's).
INDEX_KEYS = {INDEX_NAME: (SHARD, CREATED_KEY), STATUS_INDEX_NAME: (PHASE, CREATED_KEY),
              FAILURE_INDEX_NAME: (FAILURE, CREATED_KEY)}
#: Items one Query request asks for at most when a filter drops some (1 MB caps it anyway).
_MAX_REQUEST_ITEMS = 1000
#: A search's first request: matches are usually rare, so it starts wide.
_SEARCH_REQUEST_ITEMS = 200


@dataclass
class RowPage:
    """The index items of one page, in the page's order, with its cursors and what it cost."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    prev_cursor: str | None = None
    #: Items DynamoDB read for it (the sum of ``ScannedCount``).
    scanned: int = 0


def row_key(row: dict[str, Any]) -> SortKey:
    """The (createdAt, id) sort key of an index item."""
    return created_of(row[CREATED_KEY]["S"]), row[ID_FIELD]["S"]


def page_rows(calls: DynamoDBCalls, table: str, query: ListQuery, *, budget: int, max_requests: int | None = None,
              keep: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> RowPage:
    """The index items of one page (at most ``max_requests`` Query requests, if given).

    ``keep`` is shown the matching items, a page's worth at most at a time, and returns those
    the page may hold (the backend drops items whose documents cannot be read); reading goes on
    until the page is full of kept items."""
    index_name = _index_for(query)
    position = position_of(query)
    ascending = position.ascending(query)
    if index_name != INDEX_NAME:
        budget = min(budget, 2 * query.limit + 1)
    if query.failure is not None and query.status not in (None, GenerationStatus.FAILED):
        return RowPage()  # only failed generations have a failure group
    expr = Expression()
    key_condition = _key_condition(expr, query, position)
    if key_condition is None:
        return RowPage()
    params: dict[str, Any] = {
        "TableName": table, "IndexName": index_name,
        "KeyConditionExpression": key_condition, "ScanIndexForward": ascending,
    }
    filtered = filter_expression(expr, query, utcnow())
    if filtered:
        params["FilterExpression"] = filtered
    params.update(expr.params())

    rows: list[dict[str, Any]] = []
    scanned, request_size, last_key, requests = 0, 0, None, 0
    while True:
        need = query.limit + 1 - len(rows)
        request_size = _request_size(need, request_size, filtered=bool(filtered), search=bool(query.search))
        request = {**params, "Limit": max(1, min(request_size, budget - scanned))}
        if last_key:
            request["ExclusiveStartKey"] = last_key
        response = calls.call("query", **request)
        requests += 1
        scanned += response.get("ScannedCount", 0)
        last_key = response.get("LastEvaluatedKey")
        matched = [row for row in response["Items"] if position.precedes(row_key(row), ascending)]
        if keep is not None and len(matched) > need:
            # Only a page's worth is shown to ``keep``: reading goes on after the last one shown.
            matched = matched[:need]
            last_key = {name: matched[-1][name] for name in (*INDEX_KEYS[index_name], ID_FIELD)}
        rows += keep(matched) if keep is not None and matched else matched
        if len(rows) > query.limit or last_key is None or scanned >= budget or requests == max_requests:
            break
    items, next_cursor, prev_cursor = page_bounds(rows[: query.limit + 1], query, position, key_of=row_key)
    page = RowPage(rows=items, next_cursor=next_cursor, prev_cursor=prev_cursor, scanned=scanned)
    if len(rows) <= query.limit and last_key is not None:
        # The budget ran out first: continue from the last item read, matched or not.
        stopped_at = make_cursor(row_key(last_key), "p" if position.backwards else "n", query)
        if position.backwards:
            page.prev_cursor = stopped_at
        else:
            page.next_cursor = stopped_at
    return page


def _index_for(query: ListQuery) -> str:
    """The failure index for a failure group, the status index for a status, else the created index."""
    if query.failure is not None:
        return FAILURE_INDEX_NAME
    return STATUS_INDEX_NAME if query.status is not None else INDEX_NAME


def _request_size(need: int, last: int, *, filtered: bool, search: bool) -> int:
    """Ask for what is missing; when a filter dropped items, ask for twice as many as last time."""
    if not filtered:
        return need
    start = max(need, _SEARCH_REQUEST_ITEMS) if search else need
    return min(_MAX_REQUEST_ITEMS, max(start, 2 * last))


def _key_condition(expr: Expression, query: ListQuery, position: PagePosition) -> str | None:
    """The key condition; None when the range is empty.

    Bounds are inclusive (the boundary item itself is dropped by the caller), and no sort value
    equals a bare time (each holds ``#id``), so the created range needs no exclusive bounds.
    """
    low = format_timestamp(query.created_after) if query.created_after else None
    high = format_timestamp(query.created_before) if query.created_before else None
    if position.key is not None:
        boundary = sort_value(position.key)
        if position.ascending(query):
            low = max(low, boundary) if low else boundary
        else:
            high = min(high, boundary) if high else boundary
    if low is not None and high is not None and low > high:
        return None
    if query.failure is not None:
        condition = f"{expr.name(FAILURE)} = {expr.value(query.failure)}"
    elif query.status is None:
        condition = f"{expr.name(SHARD)} = {expr.value(SHARD_VALUE)}"
    else:
        stalled = query.status is GenerationStatus.STALLED
        phase = GenerationStatus.IN_PROGRESS if stalled else query.status
        condition = f"{expr.name(PHASE)} = {expr.value(phase.value)}"
    if low is not None and high is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} BETWEEN {expr.value(low)} AND {expr.value(high)}"
    if low is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} >= {expr.value(low)}"
    if high is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} <= {expr.value(high)}"
    return condition
