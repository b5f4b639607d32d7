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
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ...documents import ID_FIELD
from ...errors import StorageValidationError
from ...insights import Contribution, Sums
from .batch import at_once, get_all, write_all
from .client import DynamoDBCalls
from .expressions import Expression
from .items import from_attribute_value, from_item_values, to_attribute_value

#: The phases a generation is counted in (stalled is in progress, told apart by its last change).
PHASES = ("in_progress", "completed", "failed")
ROLLUP_PREFIX = "_gennie#"
TOTAL = "total"
TOTAL_SHARDS = 8
HOUR_SHARDS = 4
#: Attributes one ``UpdateItem`` moves at most: its expression stays well under DynamoDB's 4 KB.
MAX_TERMS = 100
#: Rollup updates ``apply`` sends at once.
APPLY_WORKERS = 8


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

    def add(self, item: Contribution, sign: int, *, hours: bool = True, totals: bool = True) -> None:
        if totals:
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


def changes(old: Contribution | None, new: Contribution | None, *, hours: bool = True,
            totals: bool = True) -> Changes:
    """What a write from ``old`` to ``new`` (either None) changes in the rollups (in the hours'
    sums and the totals, unless told to leave one out)."""
    result = Changes()
    if old is not None:
        result.add(old, -1, hours=hours, totals=totals)
    if new is not None:
        result.add(new, +1, hours=hours, totals=totals)
    return result


def apply(calls: DynamoDBCalls, table: str, change: Changes) -> None:
    """One ``UpdateItem`` per rollup that moves, on a random shard of it (more for a rollup with
    over ``MAX_TERMS`` attributes moving, as after a deferred bulk load: DynamoDB refuses
    expressions over 4 KB). Several are sent ``APPLY_WORKERS`` at once: each waits on a round
    trip, ``ADD`` does not depend on order, and a bulk load's flush moves hundreds of hours."""
    requests = [{"TableName": table, "Key": rollup_key(name, random.randrange(shards)), **update}
                for name, shards, updates in rollup_updates(change) for update in updates]
    at_once(lambda request: calls.call("update_item", **request), requests, workers=APPLY_WORKERS)


def rollup_updates(change: Changes) -> Iterator[tuple[str, int, list[dict[str, Any]]]]:
    """For each rollup that moves: its name, its number of shards, and its update expressions
    (``MAX_TERMS`` attributes each), for ``UpdateItem`` or a transaction's ``Update``."""
    for name, deltas in change.deltas.items():
        groups = change.groups.get(name, {})
        terms = [("group", f"g#{fingerprint}", described) for fingerprint, described in groups.items()]
        terms += [("add", attribute, delta) for attribute, delta in deltas.items() if delta]
        if terms:
            yield (name, TOTAL_SHARDS if name == TOTAL else HOUR_SHARDS,
                   [_update_expression(terms[start:start + MAX_TERMS]) for start in range(0, len(terms), MAX_TERMS)])


def _update_expression(terms: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """``SET`` each group's name if it has none yet, ``ADD`` each delta."""
    expr = Expression()
    named = [f"{expr.name(attribute)} = if_not_exists({expr.name(attribute)}, "
             f"{expr.value(dict(zip(('stage', 'message', 'example'), described, strict=True)))})"
             for kind, attribute, described in terms if kind == "group"]
    added = [f"{expr.name(attribute)} {expr.value(delta)}" for kind, attribute, delta in terms if kind == "add"]
    parts = (["SET " + ", ".join(named)] if named else []) + (["ADD " + ", ".join(added)] if added else [])
    return {"UpdateExpression": " ".join(parts), **expr.params()}


class Roller:
    """Applies what writes change in the rollups: at once, or, inside ``deferred()`` (a bulk load),
    merged and applied every ``FLUSH_SECONDS`` and on leaving, so that a migration sends one
    update per rollup item touched per flush instead of one per batch. ``applied`` is told after
    each application (the counts' cache is cleared by it)."""

    #: Seconds of deferred changes kept at most: what a killed bulk load can leave off (``recount``).
    FLUSH_SECONDS = 5.0

    def __init__(self, calls: DynamoDBCalls, table: str, applied: Callable[[], None]) -> None:
        self._calls, self._table, self._applied = calls, table, applied
        self._lock = threading.Lock()
        self._depth = 0
        self._pending = Changes()
        self._since = time.monotonic()

    def roll(self, change: Changes) -> None:
        with self._lock:
            if self._depth:
                self._pending.merge(change)
                if time.monotonic() - self._since < self.FLUSH_SECONDS:
                    return
                change = self._take()
        self._apply(change)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        with self._lock:
            if not self._depth:
                self._since = time.monotonic()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                change = self._take()
            self._apply(change)

    def _take(self) -> Changes:
        change, self._pending, self._since = self._pending, Changes(), time.monotonic()
        return change

    def _apply(self, change: Changes) -> None:
        apply(self._calls, self._table, change)
        self._applied()


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
    """The sums of these hours (``BatchGetItem``s of every shard, sent at once). A week's hour items
    hold over 100,000 counts: each is read from its typed value (``{"N": "3"}``) at once, not
    through the general conversion, whose cost then outweighed the requests'."""
    keys = [rollup_key(hour_name(hour), shard) for hour in hours for shard in range(HOUR_SHARDS)]
    sums = Sums()
    found = get_all(calls, table, keys, projection={}, consistent=False, deadline_seconds=deadline_seconds)
    for raw in found:
        hour = raw[ID_FIELD]["S"].removeprefix(f"{ROLLUP_PREFIX}hour#").rpartition("#")[0]
        for attribute, value in raw.items():
            kind, _, rest = attribute.partition("#")
            if kind == "p":
                phases = sums.phases.setdefault(hour, {})
                phases[rest] = phases.get(rest, 0) + int(value["N"])
            elif kind == "f":
                by_hour = sums.failures.setdefault(rest, {})
                by_hour[hour] = by_hour.get(hour, 0) + int(value["N"])
            elif kind == "d":
                stage, _, index = rest.partition("#")
                bins = sums.durations.setdefault(stage, {})
                bins[int(index)] = bins.get(int(index), 0) + int(value["N"])
            elif kind == "w":
                by_last = sums.waiting.setdefault(hour, {})
                by_last[rest] = by_last.get(rest, 0) + int(value["N"])
            elif kind == "g" and rest not in sums.groups:
                described = from_attribute_value(value)
                sums.groups[rest] = (described["stage"], described["message"], described["example"])
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

