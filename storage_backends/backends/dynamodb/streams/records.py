"""What the indexer does with stream records: one processor for the command's shard reader and for Lambda.

For each record (a write by any producer: this library, the TypeScript pipeline, a console
edit) ``derived.derive(old image, new image)`` says what follows, judged by the documents:

- the new image's derived attributes (listing index keys, phase, summary…): when they are
  missing or stale, ``DynamoDBStorage._refresh`` sets them with a conditional ``UpdateItem``
  that does nothing if the item changed again meanwhile (its own record will see to it). The
  record of that update changes no document, so it moves nothing: no loop;
- how the rollups (totals and hourly sums) move: applied with ``TransactWriteItems``, together
  with each item's last applied sequence number (``checkpoints.applied_update``) and, from the
  shard reader, the shard's checkpoint. A record already applied fails its condition and is
  skipped, so a replay never counts twice; a reader that lost its lease writes nothing.

A deletion by Time to Live (the service's own, ``userIdentity`` dynamodb.amazonaws.com) leaves
the hours' history, as ``cleanup`` does; the rollups' own items are not documents and are skipped.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ....documents import ID_FIELD
from ....errors import StorageOperationError
from ..batch import Backoff
from ..derived import DERIVED_NAMES, WRITE_TOKEN, derive
from ..rollups import ROLLUP_PREFIX, Changes, rollup_key, rollup_updates
from .checkpoints import applied_update, indexer_table_name

if TYPE_CHECKING:
    from ..backend import StreamParts

logger = logging.getLogger(__name__)

#: Actions one ``TransactWriteItems`` holds at most (DynamoDB's limit).
MAX_ACTIONS = 100
#: Records whose changes one transaction tries to carry at first (split when they do not fit).
GROUP_RECORDS = 90
#: Items whose derived attributes are completed at once.
REFRESH_WORKERS = 8
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


class LeaseLost(Exception):
    """Another indexer holds the shard now: stop reading it, without writing."""


@dataclass(frozen=True)
class Effect:
    """What one record changes in the rollups, and where it stands in its item's history."""

    generation_id: str
    sequence: str
    rollups: Changes


def effect_of(record: Mapping[str, Any]) -> tuple[Effect | None, Mapping[str, Any] | None]:
    """The record's effect on the rollups (None when there is none to apply) and the new image
    when its derived attributes are missing or stale (None when they are right, or deleted)."""
    data = record["dynamodb"]
    generation_id = data["Keys"][ID_FIELD]["S"]
    if generation_id.startswith(ROLLUP_PREFIX):
        return None, None
    old, new = data.get("OldImage"), data.get("NewImage")
    if old is not None and new is not None and _document(old) == _document(new):
        return None, None  # derived attributes alone changed (the indexer's own update): nothing follows
    by_ttl = record.get("userIdentity", {}).get("principalId") == _TTL_PRINCIPAL
    expired = record.get("eventName") == "REMOVE" and by_ttl
    derived = derive(old, new, hours=not expired)
    stale = new is not None and (any(new.get(name) != value for name, value in derived.attributes.items())
                                 or any(name in new and name not in derived.attributes for name in DERIVED_NAMES))
    effect = Effect(generation_id, data["SequenceNumber"], derived.rollups) if _moves(derived.rollups) else None
    return effect, new if stale else None


def record_time(record: Mapping[str, Any]) -> float | None:
    """When the write happened (epoch seconds): boto3 gives a datetime, a Lambda event a number."""
    moment = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(moment, datetime):
        return moment.timestamp()
    return None if moment is None else float(moment)


class RecordApplier:
    """Applies records to one table's derived state (``parts``: the backend's, see ``_stream_parts``)."""

    def __init__(self, parts: StreamParts, *, deadline_seconds: float = 30.0) -> None:
        self._calls, self._table, self._indexer_table = parts.calls, parts.table, indexer_table_name(parts.table)
        self._refresh = parts.refresh
        self._deadline = deadline_seconds

    def apply(self, records: Sequence[Mapping[str, Any]], *,
              checkpoint: Callable[[], dict[str, Any]] | None = None) -> int:
        """Apply ``records`` (one shard's, in order); ``checkpoint`` makes the shard's progress
        ``Update``, written with the last of them. Returns how many records moved the rollups."""
        effects, stale_images = [], {}
        for record in records:
            effect, stale = effect_of(record)
            if stale is not None:  # an item's last image is the one to complete: earlier ones are gone
                stale_images[record["dynamodb"]["Keys"][ID_FIELD]["S"]] = stale
            if effect is not None:
                effects.append(effect)
        self._refresh_all(list(stale_images.values()))
        groups = [effects[start:start + GROUP_RECORDS] for start in range(0, len(effects), GROUP_RECORDS)]
        for number, group in enumerate(groups):
            self._commit(group, checkpoint() if checkpoint and number == len(groups) - 1 else None)
        if checkpoint and not groups:
            self._commit([], checkpoint())
        return len(effects)

    def _refresh_all(self, images: list[Mapping[str, Any]]) -> None:
        """Complete the items' derived attributes, ``REFRESH_WORKERS`` conditional updates at once
        (each waits on a round trip; different items do not depend on one another)."""
        if len(images) <= 1:
            for image in images:
                self._refresh(image)
            return
        with ThreadPoolExecutor(max_workers=min(REFRESH_WORKERS, len(images))) as pool:
            list(pool.map(self._refresh, images))

    def _commit(self, effects: list[Effect], progress: dict[str, Any] | None) -> None:
        """One transaction for ``effects`` and ``progress``; split when it does not fit or when one
        of the records was applied before (a replay), which is then skipped."""
        actions = self._actions(effects)
        if actions is None or len(actions) + (progress is not None) > MAX_ACTIONS:
            if len(effects) < 2:  # one record moves a few dozen attributes: this cannot happen
                raise StorageOperationError("a stream record moves more than one transaction holds",
                                            code="TransactionTooLarge")
            middle = len(effects) // 2
            self._commit(effects[:middle], None)
            self._commit(effects[middle:], progress)
            return
        if progress is not None:
            actions.append(progress)
        if not actions:
            return
        conflicts = Backoff(self._deadline)
        while True:
            try:
                self._calls.call("transact_write_items", TransactItems=[{"Update": action} for action in actions])
                return
            except StorageOperationError as exc:
                reasons = _cancellation_reasons(exc)
                if progress is not None and reasons and reasons[-1] == "ConditionalCheckFailed":
                    raise LeaseLost from exc
                if "ConditionalCheckFailed" in reasons:
                    self._one_by_one(effects, progress)
                    return
                conflict = "TransactionConflict" in reasons or exc.code == "TransactionConflictException"
                if conflict and conflicts.wait():
                    continue
                raise

    def _one_by_one(self, effects: list[Effect], progress: dict[str, Any] | None) -> None:
        """A transaction per record, so the ones applied before are told apart and skipped."""
        if len(effects) > 1:
            for effect in effects[:-1]:
                self._commit([effect], None)
            self._commit(effects[-1:], progress)
            return
        if effects:
            logger.info("stream record %s of %r was applied before: skipped", effects[0].sequence,
                        effects[0].generation_id)
        if progress is not None:
            self._commit([], progress)

    def _actions(self, effects: list[Effect]) -> list[dict[str, Any]] | None:
        """The rollup updates and applied-record updates for ``effects``; None if some rollup needs
        more updates than it has shards (one transaction may name an item once)."""
        merged = Changes()
        sequences: dict[str, list[str]] = {}
        for effect in effects:
            merged.merge(effect.rollups)
            sequences.setdefault(effect.generation_id, []).append(effect.sequence)
        actions = []
        for name, shards, updates in rollup_updates(merged):
            if len(updates) > shards:
                return None
            for update, shard in zip(updates, random.sample(range(shards), len(updates)), strict=True):
                actions.append({"TableName": self._table, "Key": rollup_key(name, shard), **update})
        for generation_id, seen in sequences.items():
            ordered = sorted(seen, key=lambda sequence: sequence.zfill(40))
            actions.append(applied_update(self._indexer_table, generation_id, ordered[0], ordered[-1]))
        return actions


def _document(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in image.items() if name not in DERIVED_NAMES and name != WRITE_TOKEN}


def _moves(change: Changes) -> bool:
    return any(delta for deltas in change.deltas.values() for delta in deltas.values())


def _cancellation_reasons(exc: StorageOperationError) -> list[str]:
    """The code of each action of a cancelled transaction ("None" for those that were fine)."""
    response = getattr(exc.__cause__, "response", None) or {}
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]
