"""What a write changes in the backend's derived state, as one function of the item's images.

Every write (this library's, or later another producer's seen through a change stream) turns an
old image into a new one. ``derive(old, new)`` says what follows: the attributes the new image
must carry (the listing index's; its phase, current stage and row summary, which the status
index and the slim index items hold) and how the per-phase counters move. The phase counted
for an image is the ``_genniePhase`` it carries, so a phase is added once when an item takes
it and taken away once when the item leaves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ...models import GenerationState, GenerationStatus
from ...summaries import summary_fields
from .index import INDEX_NAMES, PREFIX, index_attributes, strip_index

PHASE = f"{PREFIX}Phase"
STAGE = f"{PREFIX}Stage"
#: The failure group of a failed item (``fingerprints.fingerprint_error``): what ``ListQuery.failure`` compares.
FAILURE = f"{PREFIX}Failure"
#: A map of the row's ``summary_fields`` but the stage (``STAGE``): what a list row shows.
SUMMARY = f"{PREFIX}Summary"
#: Every attribute ``derived_attributes`` may write: the ones it leaves out are stale if present.
DERIVED_NAMES = (*INDEX_NAMES, PHASE, STAGE, FAILURE, SUMMARY)
#: Summary fields as stored in ``SUMMARY`` (camelCase, as the documents' own attributes).
_SUMMARY_KEYS = {"prompt": "prompt", "language": "language", "aspect_ratio": "aspectRatio",
                 "failed_stage": "failedStage", "error": "error"}
#: The phases an item is counted in (stalled is in progress, told apart by the time of its last change).
PHASES = (GenerationStatus.IN_PROGRESS.value, GenerationStatus.COMPLETED.value, GenerationStatus.FAILED.value)


@dataclass(frozen=True)
class Derived:
    #: Attributes the new image must carry (none for a deletion).
    attributes: dict[str, Any] = field(default_factory=dict)
    #: phase -> +1 / -1.
    counts: dict[str, int] = field(default_factory=dict)


def state_of(item: Mapping[str, Any]) -> GenerationState | None:
    """A document as a model; None if it does not validate (another producer's, unchecked)."""
    try:
        return GenerationState.from_item(strip_index(dict(item)))
    except (ValidationError, TypeError, ValueError, RecursionError):
        return None


def phase_of(item: Mapping[str, Any]) -> str | None:
    """The phase of a document (in progress, completed, failed); None if it does not validate."""
    state = state_of(item)
    return state.phase.value if state else None


def derived_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    """The index attributes of a whole document, and (if it validates) its phase, current stage
    and summary."""
    state = state_of(item)
    if state is None:
        return index_attributes(item)
    fields = summary_fields(state)
    summary = {stored: fields[name] for name, stored in _SUMMARY_KEYS.items() if fields[name] is not None}
    stage = {STAGE: fields["current_stage"]} if fields["current_stage"] else {}
    failure = {FAILURE: fields["failure"]} if fields["failure"] else {}
    return {**index_attributes(item), PHASE: state.phase.value, **stage, **failure, SUMMARY: summary}


def summary_fields_of(row: Mapping[str, Any]) -> dict[str, str | None]:
    """The ``summary_fields`` a (decoded) index item carries."""
    summary = row.get(SUMMARY) or {}
    return {"current_stage": row.get(STAGE), "failure": row.get(FAILURE),
            **{name: summary.get(stored) for name, stored in _SUMMARY_KEYS.items()}}


def derive(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Derived:
    """The derived state a write from ``old`` to ``new`` (either None: created, deleted) changes."""
    attributes = derived_attributes(new) if new is not None else {}
    return Derived(attributes=attributes, counts=phase_change(old.get(PHASE) if old else None,
                                                              attributes.get(PHASE)))


def phase_change(before: str | None, after: str | None) -> dict[str, int]:
    """How the counters move when an item's counted phase goes from ``before`` to ``after``."""
    if before == after:
        return {}
    return {phase: delta for phase, delta in ((before, -1), (after, 1)) if phase in PHASES}


def add_up(changes: list[dict[str, int]]) -> dict[str, int]:
    """Several counter changes as one (a batch's), without the phases that net to zero."""
    total: dict[str, int] = {}
    for change in changes:
        for phase, delta in change.items():
            total[phase] = total.get(phase, 0) + delta
    return {phase: delta for phase, delta in total.items() if delta}
