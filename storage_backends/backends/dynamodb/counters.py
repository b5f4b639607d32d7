"""Counters of generations per phase, kept in the table itself so counting never scans it.

Each phase has ``SHARDS`` counter items (keyed ``_gennie#count#<phase>#<n>``): a write adds to
a random one with ``UpdateItem ADD`` (no single item takes every write), and counting reads
them all in one ``BatchGetItem``. They are not documents: they carry no index attribute, so no
listing, iteration or cleanup sees them, and ids of that form are refused.

Between recounts they are exact for this library's writes; items other producers write are
counted once ``prepare_for_listing`` completes them, and a crash between a write and its
``ADD`` leaves a counter off by one until ``recount`` sets them from the documents again.
"""

from __future__ import annotations

import random
from typing import Any

from ...documents import ID_FIELD
from ...errors import StorageValidationError
from .batch import get_all, write_all
from .client import DynamoDBCalls
from .derived import PHASES
from .expressions import Expression, projection
from .index import PREFIX

COUNTER_PREFIX = "_gennie#count#"
COUNT = f"{PREFIX}Count"
SHARDS = 8


def counter_key(phase: str, shard: int) -> dict[str, Any]:
    return {ID_FIELD: {"S": f"{COUNTER_PREFIX}{phase}#{shard}"}}


def refuse_counter_id(generation_id: str) -> None:
    if generation_id.startswith(COUNTER_PREFIX):
        raise StorageValidationError(f"generation id {generation_id!r} is reserved by the DynamoDB backend")


def add(calls: DynamoDBCalls, table: str, counts: dict[str, int]) -> None:
    """Add each phase's change to one of its shards, chosen at random."""
    for phase, delta in counts.items():
        expr = Expression()
        calls.call("update_item", TableName=table, Key=counter_key(phase, random.randrange(SHARDS)),
                   UpdateExpression=f"ADD {expr.name(COUNT)} {expr.value(delta)}", **expr.params())


def read(calls: DynamoDBCalls, table: str, *, deadline_seconds: float) -> dict[str, int]:
    """Every phase's count: one ``BatchGetItem`` of all the shards (a shard never written is 0)."""
    keys = [counter_key(phase, shard) for phase in PHASES for shard in range(SHARDS)]
    expr = Expression()
    found = get_all(calls, table, keys, projection={"ProjectionExpression": projection(expr, ID_FIELD, COUNT),
                                                    **expr.params()}, deadline_seconds=deadline_seconds)
    counts = dict.fromkeys(PHASES, 0)
    for item in found:
        phase = item[ID_FIELD]["S"].removeprefix(COUNTER_PREFIX).rpartition("#")[0]
        counts[phase] += int(item.get(COUNT, {}).get("N", "0"))
    # A write and its ADD are two requests: a crash between them can leave a count one low.
    return {phase: max(0, count) for phase, count in counts.items()}


def replace(calls: DynamoDBCalls, table: str, counts: dict[str, int], *, deadline_seconds: float) -> None:
    """Set the counters to ``counts`` (a recount): the whole count in shard 0, the others 0."""
    puts = [{"PutRequest": {"Item": {**counter_key(phase, shard),
                                     COUNT: {"N": str(counts.get(phase, 0) if shard == 0 else 0)}}}}
            for phase in PHASES for shard in range(SHARDS)]
    write_all(calls, table, puts, deadline_seconds=deadline_seconds)
