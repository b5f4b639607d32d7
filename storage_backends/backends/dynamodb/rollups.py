"""Sums kept in the table itself, so that counting and insights never scan it.

Two kinds of rollup item, each split in shards (a write adds to a random shard with one
``UpdateItem ADD``, so no single item takes every write; reading sums the shards):

- ``_gennie#total#<n>`` (8 shards): generations per phase (``p#<phase>``), and the in-progress
  ones by the hour of their last change (``w#<hour>``), for ``count_by_status`` and
  ``active_generations``.
- ``_gennie#hour#<YYYY-MM-DDTHH>#<n>`` (4 shards): of the generations created in that hour,
  how many are in each phase (``p#<phase>``), in each failure group (``f#<fingerprint>``), in
  each stage's duration bin (``d#<stage>#<bin>``) and, in progress, by the hour of their last
  change (``w#<hour>``), and what each group is called (``g#<fingerprint>``, set by its first member).

What a write changes is ``changes(counted(old), counted(new))``: the old image's contribution
taken away, the new one's added (``derived``). Cleanup takes its generations off the totals
only, so the hours keep the history of what it removed. None of these items is a document:
they carry no index attribute, so no listing, iteration or cleanup sees them, and ids starting
with ``_gennie#`` are refused. Between recounts the sums are exact for this library's writes; a
crash between a write and its ``ADD`` leaves one off until ``recount``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...documents import ID_FIELD
from ...errors import StorageValidationError
from ...insights import Contribution, Sums
from .batch import get_all, write_all
from .client import DynamoDBCalls
from .expressions import Expression
from .items import from_item_values, to_attribute_value

#: The phases a generation is counted in (stalled is in progress, told apart by its last change).
PHASES = ("in_progress", "completed", "failed")
ROLLUP_PREFIX = "_gennie#"
TOTAL = "total"
TOTAL_SHARDS = 8
HOUR_SHARDS = 4


def refuse_rollup_id(generation_id: str) -> None:
    if generation_id.startswith(ROLLUP_PREFIX):
        raise StorageValidationError(f"generation id {generation_id!r} is reserved by the DynamoDB backend")


def rollup_key(name: str, shard: int) -> dict[str, Any]:
    return {ID_FIELD: {"S": f"{ROLLUP_PREFIX}{name}#{shard}"}}


def hour_name(hour: str) -> str:
    return f"hour#{hour}"


@dataclass
class Changes:
    """Deltas per rollup (``TOTAL`` or an hour's name) and attribute, and the groups' names."""

    deltas: dict[str, dict[str, int]] = field(default_factory=dict)
    #: hour name -> fingerprint -> (stage, message, example), for groups a write adds members to.
    groups: dict[str, dict[str, tuple[str, str, str]]] = field(default_factory=dict)

    def add(self, item: Contribution, sign: int, *, hours: bool = True) -> None:
        self._move(TOTAL, f"p#{item.phase}", sign)
        if item.waiting_hour:  # the in-progress ones by the hour of their last change: stalled is told from it
            self._move(TOTAL, f"w#{item.waiting_hour}", sign)
        if not hours or item.hour is None:
            return
        name = hour_name(item.hour)
        self._move(name, f"p#{item.phase}", sign)
        if item.failure:
            self._move(name, f"f#{item.failure}", sign)
            if sign > 0:
                self.groups.setdefault(name, {})[item.failure] = (
                    item.failure_stage, item.failure_message, item.failure_example)
        for stage, index in item.duration_bins.items():
            self._move(name, f"d#{stage}#{index}", sign)
        if item.waiting_hour:
            self._move(name, f"w#{item.waiting_hour}", sign)

    def merge(self, other: Changes) -> None:
        for name, deltas in other.deltas.items():
            for attribute, delta in deltas.items():
                self._move(name, attribute, delta)
        for name, groups in other.groups.items():
            self.groups.setdefault(name, {}).update(groups)

    def _move(self, name: str, attribute: str, delta: int) -> None:
        deltas = self.deltas.setdefault(name, {})
        deltas[attribute] = deltas.get(attribute, 0) + delta


def changes(old: Contribution | None, new: Contribution | None, *, hours: bool = True) -> Changes:
    """What a write from ``old`` to ``new`` (either None) changes in the rollups."""
    result = Changes()
    if old is not None:
        result.add(old, -1, hours=hours)
    if new is not None:
        result.add(new, +1, hours=hours)
    return result


def apply(calls: DynamoDBCalls, table: str, change: Changes) -> None:
    """One ``UpdateItem`` per rollup that moves, on a random shard of it."""
    for name, deltas in change.deltas.items():
        moving = {attribute: delta for attribute, delta in deltas.items() if delta}
        groups = change.groups.get(name, {})
        if not moving and not groups:
            continue
        expr = Expression()
        parts = []
        if groups:
            parts.append("SET " + ", ".join(
                f"{expr.name(f'g#{fingerprint}')} = if_not_exists({expr.name(f'g#{fingerprint}')},"
                f" {expr.value({'stage': stage, 'message': message, 'example': example})})"
                for fingerprint, (stage, message, example) in groups.items()))
        if moving:
            parts.append("ADD " + ", ".join(f"{expr.name(a)} {expr.value(d)}" for a, d in moving.items()))
        shards = TOTAL_SHARDS if name == TOTAL else HOUR_SHARDS
        calls.call("update_item", TableName=table, Key=rollup_key(name, random.randrange(shards)),
                   UpdateExpression=" ".join(parts), **expr.params())


@dataclass
class Totals:
    """Generations per phase, and the in-progress ones by the hour of their last change."""

    phases: dict[str, int]
    waiting: dict[str, int]


def read_totals(calls: DynamoDBCalls, table: str, *, deadline_seconds: float) -> Totals:
    """One ``BatchGetItem`` of the total's shards (one never written is 0)."""
    keys = [rollup_key(TOTAL, shard) for shard in range(TOTAL_SHARDS)]
    phases, waiting = dict.fromkeys(PHASES, 0), {}
    for item in get_all(calls, table, keys, projection={}, deadline_seconds=deadline_seconds):
        for attribute, value in from_item_values(item).items():
            kind, _, rest = attribute.partition("#")
            if kind == "p" and rest in phases:
                phases[rest] += int(value)
            elif kind == "w":
                waiting[rest] = waiting.get(rest, 0) + int(value)
    # A write and its ADD are two requests: a crash between them can leave a count one low.
    return Totals(phases={phase: max(0, count) for phase, count in phases.items()},
                  waiting={hour: count for hour, count in waiting.items() if count > 0})


def read_hours(calls: DynamoDBCalls, table: str, hours: list[str], *, deadline_seconds: float) -> Sums:
    """The sums of these hours (``BatchGetItem``s of every shard, sent at once)."""
    keys = [rollup_key(hour_name(hour), shard) for hour in hours for shard in range(HOUR_SHARDS)]
    sums = Sums()
    found = get_all(calls, table, keys, projection={}, consistent=False, deadline_seconds=deadline_seconds)
    for raw in found:
        hour = raw[ID_FIELD]["S"].removeprefix(f"{ROLLUP_PREFIX}hour#").rpartition("#")[0]
        for attribute, value in from_item_values(raw).items():
            kind, _, rest = attribute.partition("#")
            if kind == "p":
                phases = sums.phases.setdefault(hour, {})
                phases[rest] = phases.get(rest, 0) + int(value)
            elif kind == "f":
                by_hour = sums.failures.setdefault(rest, {})
                by_hour[hour] = by_hour.get(hour, 0) + int(value)
            elif kind == "d":
                stage, _, index = rest.partition("#")
                bins = sums.durations.setdefault(stage, {})
                bins[int(index)] = bins.get(int(index), 0) + int(value)
            elif kind == "w":
                by_last = sums.waiting.setdefault(hour, {})
                by_last[rest] = by_last.get(rest, 0) + int(value)
            elif kind == "g":
                sums.groups.setdefault(rest, (value["stage"], value["message"], value["example"]))
    return sums


def replace(calls: DynamoDBCalls, table: str, counted: Iterable[Contribution], *, deadline_seconds: float) -> int:
    """Set the totals, and every hour that ``counted`` touches, to their sums (a recount): the whole
    sum in shard 0, the other shards emptied. Hours no contribution touches keep their history."""
    whole = Changes()
    total = 0
    for item in counted:
        whole.add(item, +1)
        total += 1
    puts = []
    for name in {TOTAL, *whole.deltas}:
        shards = TOTAL_SHARDS if name == TOTAL else HOUR_SHARDS
        sums = {attribute: to_attribute_value(count) for attribute, count in whole.deltas.get(name, {}).items()}
        names = {f"g#{fingerprint}": to_attribute_value(dict(zip(("stage", "message", "example"), meta, strict=True)))
                 for fingerprint, meta in whole.groups.get(name, {}).items()}
        puts.append({"PutRequest": {"Item": {**rollup_key(name, 0), **sums, **names}}})
        puts += [{"PutRequest": {"Item": rollup_key(name, shard)}} for shard in range(1, shards)]
    write_all(calls, table, puts, deadline_seconds=deadline_seconds)
    return total

