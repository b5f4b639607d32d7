"""What a write changes in the backend's derived state, as one function of the item's images.

Every write (this library's, or later another producer's seen through a change stream) turns an
old image into a new one. ``derive(old, new)`` says what follows: the attributes the new image
must carry (the listing index's; its phase, current stage, failure group, stage durations and
row summary, which the status and failure indexes and the slim index items hold) and how the
rollups move (``rollups``: the totals per phase and the sums per hour). What an image is
counted as is read from the derived attributes it carries (``contribution_of``), so a
contribution is added once when an item takes it and taken away once when the item leaves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ...fingerprints import describe_error
from ...insights import Contribution, duration_bins
from ...models import GenerationState
from ...summaries import summary_fields
from .index import CREATED_KEY, INDEX_NAMES, LAST_CHANGE, PREFIX, created_of, index_attributes, strip_index
from .items import from_item_values, to_item_values
from .rollups import Changes, changes

PHASE = f"{PREFIX}Phase"
STAGE = f"{PREFIX}Stage"
#: The failure group of a failed item (``fingerprints.fingerprint_error``): what ``ListQuery.failure`` compares.
FAILURE = f"{PREFIX}Failure"
#: stage -> the histogram bin of its duration (``insights.duration_bins``), for the hourly sums.
DURATIONS = f"{PREFIX}Durations"
#: A map of the row's ``summary_fields`` but the stage (``STAGE``): what a list row shows.
SUMMARY = f"{PREFIX}Summary"
#: Every attribute ``derived_attributes`` may write: the ones it leaves out are stale if present.
DERIVED_NAMES = (*INDEX_NAMES, PHASE, STAGE, FAILURE, DURATIONS, SUMMARY)
#: Changed by every write of the backend (``backend.new_token``): not part of the document either.
WRITE_TOKEN = f"{PREFIX}Write"
#: Summary fields as stored in ``SUMMARY`` (camelCase, as the documents' own attributes).
_SUMMARY_KEYS = {"prompt": "prompt", "language": "language", "aspect_ratio": "aspectRatio",
                 "failed_stage": "failedStage", "error": "error"}
#: What ``contribution_of`` reads of an image (a projection when only that is needed).
COUNTED_NAMES = (PHASE, CREATED_KEY, LAST_CHANGE, FAILURE, DURATIONS, SUMMARY)


@dataclass(frozen=True)
class Derived:
    #: The derived attributes the new image must carry, typed (none for a deletion).
    attributes: dict[str, Any] = field(default_factory=dict)
    rollups: Changes = field(default_factory=Changes)


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
    """The index attributes of a whole document, and (if it validates) its phase, current stage,
    failure group, stage durations and summary."""
    state = state_of(item)
    if state is None:
        return index_attributes(item)
    fields = summary_fields(state)
    summary = {stored: fields[name] for name, stored in _SUMMARY_KEYS.items() if fields[name] is not None}
    optional = {STAGE: fields["current_stage"], FAILURE: fields["failure"], DURATIONS: duration_bins(state)}
    return {**index_attributes(item), PHASE: state.phase.value, **{k: v for k, v in optional.items() if v},
            SUMMARY: summary}


def summary_fields_of(row: Mapping[str, Any]) -> dict[str, str | None]:
    """The ``summary_fields`` a (decoded) index item carries."""
    summary = row.get(SUMMARY) or {}
    return {"current_stage": row.get(STAGE), "failure": row.get(FAILURE),
            **{name: summary.get(stored) for name, stored in _SUMMARY_KEYS.items()}}


def contribution_of(image: Mapping[str, Any] | None) -> Contribution | None:
    """What a stored (or about to be stored) item, in DynamoDB's typed form, is counted as: from
    its derived attributes. None for no item, or one without a phase; one without a readable
    creation time counts in the totals, in no hour."""
    if not image or PHASE not in image:
        return None
    counted = from_item_values({name: image[name] for name in COUNTED_NAMES if name in image})
    created = created_of(counted.get(CREATED_KEY, ""))
    failure = {}
    if counted.get(FAILURE):
        summary = counted.get(SUMMARY) or {}
        example = summary.get("error") or ""
        failure = {"failure": counted[FAILURE], "failure_stage": summary.get("failedStage"),
                   "failure_message": describe_error(example), "failure_example": example}
    bins = {stage: int(index) for stage, index in (counted.get(DURATIONS) or {}).items()}
    last_change = counted.get(LAST_CHANGE) if counted[PHASE] == "in_progress" else None
    return Contribution(hour=created[:13] or None, phase=counted[PHASE], duration_bins=bins,
                        waiting_hour=last_change[:13] if last_change else None, **failure)


def rollup_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *,
                   hours: bool = True, totals: bool = True) -> Changes:
    """How the rollups move when a typed image ``old`` becomes ``new`` (either None: created,
    deleted); ``hours=False`` moves the totals alone (cleanup keeps the hours' history),
    ``totals=False`` the hours alone."""
    return changes(contribution_of(old), contribution_of(new), hours=hours, totals=totals)


def completed(image: Mapping[str, Any]) -> dict[str, Any]:
    """A typed image with the derived attributes its document implies, whatever it carried (none,
    when another producer wrote it; stale ones, when it updated only part of it)."""
    attributes = derived_attributes(strip_index(from_item_values(image)))
    return {**{k: v for k, v in image.items() if k not in DERIVED_NAMES}, **to_item_values(attributes)}


def derive(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, hours: bool = True) -> Derived:
    """The derived state a write from ``old`` to ``new`` (typed images, either None) changes, judged
    by the documents themselves, so that any producer's images count as what they hold: the
    attributes ``new`` must carry, and how the rollups move. An image whose document is the same
    on both sides (an update of derived attributes alone, such as the indexer's own) moves
    nothing. ``hours=False``: the totals alone (a deletion that keeps the hours' history)."""
    before = completed(old) if old is not None else None
    if new is None:
        return Derived(rollups=rollup_changes(before, None, hours=hours))
    after = completed(new)
    attributes = {name: value for name, value in after.items() if name in DERIVED_NAMES}
    return Derived(attributes=attributes, rollups=rollup_changes(before, after, hours=hours))
