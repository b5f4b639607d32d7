"""What insights need beyond the hourly rollups: the clock-dependent stalled split and examples.

Stalled depends on the clock: the sums keep the in-progress ones by the hour of their last change,
which tells the stalled ones apart but for the cutoff's own hour; those are read from a range of
the phase index (an hour's worth of in-progress items at most). A failure group's latest members and its first
are two small Queries of the failure index, newest first and oldest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...insights import EXAMPLES, Examples, hour_of
from ...models import GenerationStatus, format_timestamp, parse_timestamp
from .client import DynamoDBCalls
from .derived import FAILURE, PHASE
from .expressions import Expression, projection
from .index import CREATED_KEY, LAST_CHANGE, created_of
from .table import FAILURE_INDEX_NAME, PHASE_INDEX_NAME


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
    while True:
        response = calls.call("query", **params)
        for item in response["Items"]:
            created = created_of(item.get(CREATED_KEY, {}).get("S", ""))
            if created and low <= created < high:
                stalled[created[:13]] = stalled.get(created[:13], 0) + 1
        if "LastEvaluatedKey" not in response:
            return stalled
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


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
