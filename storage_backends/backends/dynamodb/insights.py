"""What insights need beyond the hourly rollups: the clock-dependent stalled split and examples.

Stalled depends on the clock: the sums keep the in-progress ones by the hour of their last change,
which tells the stalled ones apart but for the cutoff's own hour; those are read from a range of
the phase index (an hour's worth of in-progress items at most). A failure group's latest members and its first
are two small Queries of the failure index, newest first and oldest first.

A language or stage filter has no rollups of its own (one per language × stage × hour would
multiply every write's rollup updates): ``filtered_insights`` Queries the created index over the
window with the list's ``FilterExpression`` on the projected language and stage, and adds the
matching items up in one pass (``storage_backends.insights.add_up``). The index holds everything
``contribution_of`` reads but the durations (its projection, which existing tables cannot
change, leaves them out), so those come from ``BatchGetItem``s of the matching ids, sent at
once. Cost: no index is keyed by language or stage, so the Query reads (and is billed for) the
window's slim index items, many to a 4 KB read unit, and the filter drops the others before
they are sent; the gets, 100 to a request, are of the matching items alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from ...documents import ID_FIELD
from ...insights import (
    EXAMPLES,
    Counted,
    Examples,
    Insights,
    InsightsQuery,
    add_up,
    counted_row,
    hour_of,
    window_bounds,
)
from ...models import GenerationStatus, format_timestamp, parse_timestamp
from .batch import get_all
from .client import DynamoDBCalls
from .derived import COUNTED_NAMES, DURATIONS, FAILURE, PHASE, contribution_of
from .expressions import Expression, projection
from .filters import filter_expression
from .index import CREATED_KEY, INDEX_NAME, LAST_CHANGE, SHARD, SHARD_VALUE, created_of
from .table import FAILURE_INDEX_NAME, PHASE_INDEX_NAME

#: What the created index holds of ``contribution_of``'s attributes: all but the durations.
_INDEXED_COUNTED = tuple(name for name in COUNTED_NAMES if name != DURATIONS)


def boundary_stalled(calls: DynamoDBCalls, table: str, cutoff: datetime, low: str, high: str) -> dict[str, int]:
    """Per hour of creation in [low, high), the in-progress items last changed in the cutoff's own
    hour before the cutoff: one key range of the phase index, an hour's worth at most (the
    earlier ones come from the hourly sums)."""
    expr = Expression()
    since = f"{hour_of(cutoff)}:00:00.000Z"
    before = format_timestamp(cutoff - timedelta(milliseconds=1))  # times are kept to the millisecond
    params: dict[str, Any] = {
        "TableName": table, "IndexName": PHASE_INDEX_NAME,
        "KeyConditionExpression": f"{expr.name(PHASE)} = {expr.value(GenerationStatus.IN_PROGRESS.value)}"
                                  f" AND {expr.name(LAST_CHANGE)} BETWEEN {expr.value(since)} AND {expr.value(before)}",
        "ProjectionExpression": projection(expr, CREATED_KEY),
    }
    params.update(expr.params())
    stalled: dict[str, int] = {}
    for item in _query_items(calls, params):
        created = created_of(item.get(CREATED_KEY, {}).get("S", ""))
        if created and low <= created < high:
            stalled[created[:13]] = stalled.get(created[:13], 0) + 1
    return stalled


def _query_items(calls: DynamoDBCalls, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page after page."""
    while True:
        response = calls.call("query", **params)
        yield from response["Items"]
        if "LastEvaluatedKey" not in response:
            return
        params = {**params, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def group_examples(calls: DynamoDBCalls, table: str, fingerprint: str, low: str, high: str) -> Examples | None:
    """The group's latest members in [low, high) and its first one's time; None if none is left
    (cleanup removed them: the group is not shown, its counts still are in the buckets)."""
    latest = _members(calls, table, fingerprint, low, high, newest_first=True, limit=EXAMPLES)
    if not latest:
        return None
    first = _members(calls, table, fingerprint, low, high, newest_first=False, limit=1)
    return Examples(ids=[generation_id for generation_id, _ in latest], first_seen=parse_timestamp(first[0][1]),
                    last_seen=parse_timestamp(latest[0][1]))


def _members(calls: DynamoDBCalls, table: str, fingerprint: str, low: str, high: str, *, newest_first: bool,
             limit: int) -> list[tuple[str, str]]:
    expr = Expression()
    response = calls.call(
        "query", TableName=table, IndexName=FAILURE_INDEX_NAME, ScanIndexForward=not newest_first, Limit=limit,
        KeyConditionExpression=f"{expr.name(FAILURE)} = {expr.value(fingerprint)} AND {expr.name(CREATED_KEY)}"
                               f" BETWEEN {expr.value(low)} AND {expr.value(high)}",
        ProjectionExpression=projection(expr, "generationId", CREATED_KEY), **expr.params())
    return [(item["generationId"]["S"], created_of(item[CREATED_KEY]["S"])) for item in response["Items"]]


def filtered_insights(calls: DynamoDBCalls, table: str, query: InsightsQuery, now: datetime, *,
                      deadline_seconds: float) -> Insights:
    """The insights of the window's items that pass the language and stage filters, from the created
    index and their durations (see the module's docstring)."""
    rows = matching_rows(calls, table, query, now)
    durations = stored_durations(calls, table, [row[ID_FIELD]["S"] for row in rows], deadline_seconds=deadline_seconds)
    return add_up(_counted(rows, durations, query, now), query)


def matching_rows(calls: DynamoDBCalls, table: str, query: InsightsQuery, now: datetime) -> list[dict[str, Any]]:
    """The created index's items of the (widened) window that pass the filters, as the list reads them."""
    low, high = (format_timestamp(moment) for moment in window_bounds(query))
    expr = Expression()
    # A sort value is "<created>#<id>": the bare times bound [low, high) exactly.
    params: dict[str, Any] = {
        "TableName": table, "IndexName": INDEX_NAME,
        "KeyConditionExpression": f"{expr.name(SHARD)} = {expr.value(SHARD_VALUE)}"
                                  f" AND {expr.name(CREATED_KEY)} BETWEEN {expr.value(low)} AND {expr.value(high)}",
        "ProjectionExpression": projection(expr, ID_FIELD, *_INDEXED_COUNTED),
    }
    filtered = filter_expression(expr, query.filters, now)
    if filtered:
        params["FilterExpression"] = filtered
    params.update(expr.params())
    return list(_query_items(calls, params))


def stored_durations(calls: DynamoDBCalls, table: str, generation_ids: list[str], *,
                     deadline_seconds: float) -> dict[str, dict[str, Any]]:
    """Each item's durations attribute (typed; none for an item without stage times), by id:
    eventually consistent, as the index the ids came from."""
    if not generation_ids:
        return {}
    expr = Expression()
    found = get_all(calls, table, [{ID_FIELD: {"S": generation_id}} for generation_id in generation_ids],
                    projection={"ProjectionExpression": projection(expr, ID_FIELD, DURATIONS), **expr.params()},
                    consistent=False, deadline_seconds=deadline_seconds)
    return {raw[ID_FIELD]["S"]: {DURATIONS: raw[DURATIONS]} for raw in found if DURATIONS in raw}


def _counted(rows: list[dict[str, Any]], durations: dict[str, dict[str, Any]], query: InsightsQuery,
             now: datetime) -> Iterator[Counted]:
    """Each index item, with its durations, as the one-pass sum counts it; one without a phase (indexed
    by an earlier version, until ``prepare_for_listing``) counts nowhere, as in the rollups."""
    for row in rows:
        generation_id = row[ID_FIELD]["S"]
        item = contribution_of({**row, **durations.get(generation_id, {})})
        if item is None:
            continue
        last_change = row.get(LAST_CHANGE, {}).get("S")
        yield counted_row(item, created=created_of(row[CREATED_KEY]["S"]), last_change=last_change,
                          generation_id=generation_id, now=now, stalled_after=query.stalled_after)
