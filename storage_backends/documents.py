"""Rules shared by every backend for what goes into a stored document.

Id checks, the stamping of ``createdAt`` / ``updatedAt`` / ``stageTimestamps``, the
validation of ``update`` changes and the refusal of values JSON cannot hold live here once,
so each backend only moves items.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from .errors import StorageCorruptDocumentError, StorageValidationError
from .models import STAGE_NAMES, GenerationState

MAX_ID_BYTES = 1024
#: Maps and lists a document may nest below its top level: DynamoDB's own limit (32), far more
#: than any stage map needs, kept by every backend so that any document can move to any other.
#: Checked without recursion, so a hostile document cannot exhaust the stack.
MAX_DEPTH = 32
ID_FIELD = "generationId"
CREATED = "createdAt"
UPDATED = "updatedAt"
STAGE_TIMES = "stageTimestamps"
#: Attributes ``update`` may not change: the key, and the creation time.
IMMUTABLE = frozenset({ID_FIELD, CREATED})

_ALIAS_BY_FIELD = {name: field.alias for name, field in GenerationState.model_fields.items()}


def validate_id(generation_id: object) -> str:
    """Return the id if it is a non-empty string of at most 1,024 UTF-8 bytes without control characters."""
    if not isinstance(generation_id, str) or not generation_id:
        raise StorageValidationError(f"generation id must be a non-empty string, got {generation_id!r}")
    if len(generation_id.encode("utf-8", "surrogatepass")) > MAX_ID_BYTES:
        raise StorageValidationError(f"generation id is longer than {MAX_ID_BYTES} bytes")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in generation_id):
        raise StorageValidationError(f"generation id {generation_id!r} holds control characters")
    return generation_id


def to_item(state: GenerationState | Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a state given as a model or a mapping (either naming), validated."""
    if isinstance(state, Mapping):
        state = parse_state(state)
    if not isinstance(state, GenerationState):
        raise StorageValidationError(f"expected a GenerationState or a mapping, got {type(state).__name__}")
    item = state.to_item()
    validate_id(item.get(ID_FIELD))
    _refuse_too_deep(item, f"generation {item[ID_FIELD]!r}")
    return item


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests more than ``limit`` maps or lists below itself."""
    stack = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, Mapping) else current if isinstance(current, list) else ()
        for child in children:
            kind = type(child)
            if kind is str or kind is int or kind is float or child is None:  # most values: no ABC check
                continue
            if isinstance(child, Mapping | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _refuse_too_deep(item: Mapping[str, Any], what: str) -> None:
    if too_deep(item):
        raise StorageValidationError(f"{what} nests maps and lists more than {MAX_DEPTH} levels deep (the limit)")


def parse_state(data: Mapping[str, Any]) -> GenerationState:
    try:
        return GenerationState.from_item(data)
    except ValidationError as exc:
        raise StorageValidationError(f"invalid generation state: {_first_error(exc)}") from exc


def read_item(generation_id: str, item: Any) -> GenerationState:
    """Turn a stored item back into a model; a bad one is a corrupt document, named by id."""
    if not isinstance(item, Mapping):
        raise StorageCorruptDocumentError(generation_id, "not a JSON object", raw=item)
    if too_deep(item):
        # No raw copy: showing it would need as deep a recursion as reading it.
        raise StorageCorruptDocumentError(generation_id, f"nested more than {MAX_DEPTH} levels deep")
    try:
        return GenerationState.from_item(item)
    except ValidationError as exc:
        raise StorageCorruptDocumentError(generation_id, _first_error(exc), raw=dict(item)) from exc


@contextmanager
def refusing_non_json(item: Mapping[str, Any]) -> Iterator[None]:
    """Around the JSON encoding of a document: a value JSON cannot hold (NaN, a set, bytes, a lone
    surrogate once encoded to UTF-8) is a ``StorageValidationError`` naming the id, not a raw error."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise StorageValidationError(f"generation {item.get(ID_FIELD)!r} cannot be stored as JSON: {exc}") from exc


def stamp_for_save(item: dict[str, Any], now: str, *, existing_created_at: str | None) -> dict[str, Any]:
    """Set ``createdAt`` (given, else the stored one, else now), ``updatedAt`` and missing stage times."""
    stamped = dict(item)
    stamped[CREATED] = item.get(CREATED) or existing_created_at or now
    stamped[UPDATED] = now
    given_times = item.get(STAGE_TIMES) or {}
    stage_times = {name: given_times.get(name, now) for name in present_stages(item)}
    # Times of stages the caller keeps without a stage map (other producers' keys) are kept too.
    stage_times.update({k: v for k, v in given_times.items() if k not in STAGE_NAMES})
    stamped[STAGE_TIMES] = stage_times
    return stamped


def present_stages(item: Mapping[str, Any]) -> list[str]:
    return [name for name in STAGE_NAMES if item.get(name) is not None]


def normalize_changes(changes: object) -> dict[str, Any]:
    """Validate ``update`` changes and return them under their stored (camelCase) names."""
    if not isinstance(changes, Mapping):
        raise StorageValidationError(f"changes must be a mapping, got {type(changes).__name__}")
    normalized: dict[str, Any] = {}
    for key, value in changes.items():
        if not isinstance(key, str) or not key:
            raise StorageValidationError(f"attribute names must be non-empty strings, got {key!r}")
        name = _ALIAS_BY_FIELD.get(key, key)
        if name in IMMUTABLE:
            raise StorageValidationError(f"{name} cannot be changed by update")
        normalized[name] = value
    normalized.pop(UPDATED, None)  # always set by the storage
    if not normalized:
        raise StorageValidationError("changes are empty")
    _refuse_too_deep(normalized, "the change")
    # Validate the changed attributes as they would stand in a document.
    parse_state({ID_FIELD: "changes", **normalized})
    return normalized


def stage_times_for(changes: Mapping[str, Any], now: str) -> dict[str, str]:
    """Stage times an update records: now, for every stage map it writes."""
    return {name: now for name in changes if name in STAGE_NAMES and changes[name] is not None}


def apply_update(existing: Mapping[str, Any], changes: Mapping[str, Any], now: str) -> dict[str, Any]:
    """Shallow-merge normalized changes into a stored item, bumping the times."""
    merged = {**existing, **changes, UPDATED: now}
    merged[STAGE_TIMES] = {**(existing.get(STAGE_TIMES) or {}), **stage_times_for(changes, now)}
    return merged


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "document"
    return f"{where}: {error['msg']}"
