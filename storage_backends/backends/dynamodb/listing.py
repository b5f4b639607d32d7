"""``list_generations`` as a ``Query`` on the listing index: a page costs about a page of reads.

The cursor's boundary and the created range become the key condition; the other filters a
``FilterExpression``. Reading goes on until the page is full or ``budget`` items have been read;
a page cut short by the budget still gets a cursor from where reading stopped, so a rare
filter costs several short calls rather than one that reads the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...documents import ID_FIELD
from ...models import GenerationState, ListQuery, Page, format_timestamp, utcnow
from ...paging import PagePosition, build_page, make_cursor, position_of, sort_key
from .client import DynamoDBCalls
from .expressions import Expression
from .filters import filter_expression
from .index import CREATED_KEY, INDEX_NAME, SHARD, SHARD_VALUE, created_of, sort_value

#: Items one Query request asks for at most when a filter drops some (1 MB caps it anyway).
_MAX_REQUEST_ITEMS = 1000


def list_page(calls: DynamoDBCalls, table: str, query: ListQuery, *, budget: int,
              read: Callable[[dict[str, Any]], GenerationState | None]) -> tuple[Page, int]:
    """One page, and how many items DynamoDB read for it (the sum of ``ScannedCount``); items ``read``
    turns into None are left out."""
    position = position_of(query)
    ascending = position.ascending(query)
    expr = Expression()
    key_condition = _key_condition(expr, query, position)
    if key_condition is None:
        return Page(items=[]), 0
    params: dict[str, Any] = {
        "TableName": table, "IndexName": INDEX_NAME, "KeyConditionExpression": key_condition,
        "ScanIndexForward": ascending,
    }
    filtered = filter_expression(expr, query, utcnow())
    if filtered:
        params["FilterExpression"] = filtered
    params.update(expr.params())

    rows: list[GenerationState] = []
    scanned, request_size, last_key = 0, 0, None
    while True:
        need = query.limit + 1 - len(rows)
        # Ask for what is missing; when a filter dropped items, ask for twice as many as last time.
        request_size = need if not filtered else min(_MAX_REQUEST_ITEMS, max(need, 2 * request_size))
        request = {**params, "Limit": max(1, min(request_size, budget - scanned))}
        if last_key:
            request["ExclusiveStartKey"] = last_key
        response = calls.call("query", **request)
        scanned += response.get("ScannedCount", 0)
        states = (state for state in map(read, response["Items"]) if state is not None)
        rows += [state for state in states if position.precedes(sort_key(state), ascending)]
        last_key = response.get("LastEvaluatedKey")
        if len(rows) > query.limit or last_key is None or scanned >= budget:
            break
    page = build_page(rows[: query.limit + 1], query, position)
    if len(rows) <= query.limit and last_key is not None:
        # The budget ran out first: continue from the last item read, matched or not.
        stopped = (created_of(last_key[CREATED_KEY]["S"]), last_key[ID_FIELD]["S"])
        stopped_at = make_cursor(stopped, "p" if position.backwards else "n", query)
        page = page.model_copy(update={"prev_cursor" if position.backwards else "next_cursor": stopped_at})
    return page, scanned


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
    condition = f"{expr.name(SHARD)} = {expr.value(SHARD_VALUE)}"
    if low is not None and high is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} BETWEEN {expr.value(low)} AND {expr.value(high)}"
    if low is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} >= {expr.value(low)}"
    if high is not None:
        return f"{condition} AND {expr.name(CREATED_KEY)} <= {expr.value(high)}"
    return condition
