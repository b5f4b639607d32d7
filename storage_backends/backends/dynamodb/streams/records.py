"""What the indexer does with stream records: one processor for the command's shard reader and for Lambda.

For each record (a write by any producer: this library, the TypeScript pipeline, a console
edit) ``derived.derive(old image, new image)`` says what follows, judged by the documents:

- the new image's derived attributes (listing index keys, phase, summary…): when they are
  missing or stale, ``DynamoDBStorage._refresh`` sets them with a conditional ``UpdateItem``
  that does nothing if the item changed again meanwhile (its own record will see to it). The
  record of that update changes no document, so it moves nothing: no loop;
- how the rollups (totals and hourly sums) move: merged over a batch and applied with
  ``TransactWriteItems``, together with, from the shard reader, the shard's checkpoint moved
  past those records (on the condition that it has not moved: a batch read twice, or by a
  reader that lost its lease, writes nothing), or, from Lambda, each item's last applied
  sequence number (``checkpoints.applied_update``: a record applied before fails its condition
  and is skipped). Either way a record delivered twice never counts twice.

A deletion by Time to Live (the service's own, ``userIdentity`` dynamodb.amazonaws.com) leaves
the hours' history, as ``cleanup`` does; the rollups' own items are not documents and are skipped.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ....documents import ID_FIELD
from ....errors import StorageOperationError
from ..batch import Backoff, at_once
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
              checkpoint: Callable[[str | None], dict[str, Any]] | None = None) -> int:
        """Apply ``records`` (one shard's, in order); returns how many moved the rollups.

        From the shard reader, ``checkpoint(sequence)`` makes the ``Update`` that moves the shard's
        checkpoint to ``sequence`` (None: past the last of ``records``); each transaction carries
        one, so what it applies and how far the shard is read commit together. Without it (Lambda,
        which keeps the shard's position itself) each transaction records every item's last
        applied sequence number instead, and a record applied before is skipped."""
        effects, stale_images = [], {}
        for record in records:
            effect, stale = effect_of(record)
            if stale is not None:  # an item's last image is the one to complete: earlier ones are gone
                stale_images[record["dynamodb"]["Keys"][ID_FIELD]["S"]] = stale
            if effect is not None:
                effects.append(effect)
        self._refresh_all(list(stale_images.values()))
        groups = [effects[start:start + GROUP_RECORDS] for start in range(0, len(effects), GROUP_RECORDS)]
        if checkpoint is None:
            for group in groups:
                self._commit_with_markers(group)
            return len(effects)
        for number, group in enumerate(groups):
            self._commit_with_checkpoint(group, checkpoint, last=number == len(groups) - 1)
        if not groups:
            self._commit_with_checkpoint([], checkpoint, last=True)
        return len(effects)

    def _refresh_all(self, images: list[Mapping[str, Any]]) -> None:
        """Complete the items' derived attributes, ``REFRESH_WORKERS`` conditional updates at once
        (each waits on a round trip; different items do not depend on one another)."""
        at_once(self._refresh, images, workers=REFRESH_WORKERS)

    def _commit_with_checkpoint(self, effects: list[Effect], checkpoint: Callable[[str | None], dict[str, Any]],
                                *, last: bool) -> None:
        """One transaction: the rollup moves of ``effects`` and the checkpoint past them (past the
        whole batch when ``last``); split in two when it does not fit. A failed condition means
        another process holds the shard, or moved its checkpoint: ``LeaseLost``, nothing written."""
        actions = self._rollup_actions(effects)
        if actions is None or len(actions) + 1 > MAX_ACTIONS:
            middle = self._middle(effects)
            self._commit_with_checkpoint(effects[:middle], checkpoint, last=False)
            self._commit_with_checkpoint(effects[middle:], checkpoint, last=last)
            return
        actions.append(checkpoint(None if last else effects[-1].sequence))
        try:
            self._transact(actions)
        except StorageOperationError as exc:
            if "ConditionalCheckFailed" in _cancellation_reasons(exc):
                raise LeaseLost from exc
            raise

    def _commit_with_markers(self, effects: list[Effect]) -> None:
        """One transaction: the rollup moves of ``effects`` and each item's last applied sequence
        number; when one of the records was applied before (a replay), a transaction per record,
        so that one is told apart and skipped."""
        actions = self._rollup_actions(effects)
        markers = self._markers(effects)
        if actions is None or len(actions) + len(markers) > MAX_ACTIONS:
            middle = self._middle(effects)
            self._commit_with_markers(effects[:middle])
            self._commit_with_markers(effects[middle:])
            return
        try:
            self._transact(actions + markers)
        except StorageOperationError as exc:
            if "ConditionalCheckFailed" not in _cancellation_reasons(exc):
                raise
            if len(effects) > 1:
                for effect in effects:
                    self._commit_with_markers([effect])
                return
            logger.info("stream record %s of %r was applied before: skipped", effects[0].sequence,
                        effects[0].generation_id)

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """``TransactWriteItems`` of ``actions``, tried again (with backoff) while it conflicts with
        another transaction on the same items."""
        conflicts = Backoff(self._deadline)
        while True:
            try:
                self._calls.call("transact_write_items", TransactItems=[{"Update": action} for action in actions])
                return
            except StorageOperationError as exc:
                reasons = _cancellation_reasons(exc)
                conflict = "TransactionConflict" in reasons or exc.code == "TransactionConflictException"
                if not (conflict and conflicts.wait()):
                    raise

    @staticmethod
    def _middle(effects: list[Effect]) -> int:
        if len(effects) < 2:  # one record moves a few dozen attributes: this cannot happen
            raise StorageOperationError("a stream record moves more than one transaction holds",
                                        code="TransactionTooLarge")
        return len(effects) // 2

    def _rollup_actions(self, effects: list[Effect]) -> list[dict[str, Any]] | None:
        """The rollup updates for ``effects``, merged; None if some rollup needs more updates than
        it has shards (one transaction may name an item once)."""
        merged = Changes()
        for effect in effects:
            merged.merge(effect.rollups)
        actions = []
        for name, shards, updates in rollup_updates(merged):
            if len(updates) > shards:
                return None
            for update, shard in zip(updates, random.sample(range(shards), len(updates)), strict=True):
                actions.append({"TableName": self._table, "Key": rollup_key(name, shard), **update})
        return actions

    def _markers(self, effects: list[Effect]) -> list[dict[str, Any]]:
        """Per item, the update that records its last applied record (on the condition that none
        of these records was applied before)."""
        sequences: dict[str, list[str]] = {}
        for effect in effects:
            sequences.setdefault(effect.generation_id, []).append(effect.sequence)
        return [applied_update(self._indexer_table, generation_id, min(seen, key=_padded), max(seen, key=_padded))
                for generation_id, seen in sequences.items()]


def _padded(sequence: str) -> str:
    return sequence.zfill(40)


def _document(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in image.items() if name not in DERIVED_NAMES and name != WRITE_TOKEN}


def _moves(change: Changes) -> bool:
    return any(delta for deltas in change.deltas.values() for delta in deltas.values())


def _cancellation_reasons(exc: StorageOperationError) -> list[str]:
    """The code of each action of a cancelled transaction ("None" for those that were fine)."""
    response = getattr(exc.__cause__, "response", None) or {}
    return [reason.get("Code", "None") for reason in response.get("CancellationReasons", [])]
