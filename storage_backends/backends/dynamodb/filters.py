"""``ListQuery`` filters as a DynamoDB ``FilterExpression``, evaluated on the stored item.

Status and current stage are derived from the stage maps (see ``GenerationState.phase``); they
are written here in expression form rather than stored, so a single ``UpdateItem`` (which does
not know the rest of the document) never leaves a stale derived value behind.
"""

from __future__ import annotations

from datetime import datetime

from ...models import STAGES, GenerationStatus, ListQuery, Stage, format_timestamp
from .expressions import Expression
from .index import LANGUAGE, LAST_CHANGE, SEARCH_ID, SEARCH_PROMPT

_FINISHED = (Stage.FINAL_VIDEO, Stage.YOUTUBE)


def filter_expression(expr: Expression, query: ListQuery, at: datetime) -> str | None:
    """The filter for status, stage, language and search (the created range is in the key)."""
    clauses = []
    if query.status is not None:
        clauses.append(_status(expr, query.status, format_timestamp(at - query.stalled_after)))
    if query.stage is not None:
        later = STAGES[query.stage.index + 1:]
        clauses.append(_all([_present(expr, query.stage), *(f"NOT ({_present(expr, s)})" for s in later)]))
    if query.language is not None:
        clauses.append(f"{expr.name(LANGUAGE)} = {expr.value(query.language.lower())}")
    if query.search:
        needle = expr.value(query.search.casefold())
        in_id, in_prompt = expr.name(SEARCH_ID), expr.name(SEARCH_PROMPT)
        clauses.append(f"contains({in_id}, {needle}) OR contains({in_prompt}, {needle})")
    return _all(clauses) or None


def _status(expr: Expression, status: GenerationStatus, cutoff: str) -> str:
    failed = _any([_stage_failed(expr, stage) for stage in STAGES])
    if status is GenerationStatus.FAILED:
        return failed
    finished = _any([_present(expr, stage) for stage in _FINISHED])
    if status is GenerationStatus.COMPLETED:
        return f"NOT ({failed}) AND ({finished})"
    idle = f"{expr.name(LAST_CHANGE)} < {expr.value(cutoff)}"
    waiting = f"NOT ({failed}) AND NOT ({finished})"
    if status is GenerationStatus.STALLED:
        return f"{waiting} AND {idle}"
    return f"{waiting} AND NOT ({idle})"


def _stage_failed(expr: Expression, stage: Stage) -> str:
    """``status: "failed"``, or an ``error`` that is not None, "" or {} (``StageData.failed``)."""
    error = expr.name(stage.value, "error")
    null, text, mapping, zero = (expr.value(v) for v in ("NULL", "S", "M", 0))
    return (
        f"{expr.name(stage.value, 'status')} = {expr.value('failed')}"
        f" OR (attribute_exists({error}) AND NOT attribute_type({error}, {null})"
        f" AND NOT (attribute_type({error}, {text}) AND size({error}) = {zero})"
        f" AND NOT (attribute_type({error}, {mapping}) AND size({error}) = {zero}))"
    )


def _present(expr: Expression, stage: Stage) -> str:
    name = expr.name(stage.value)
    return f"attribute_exists({name}) AND NOT attribute_type({name}, {expr.value('NULL')})"


# DynamoDB refuses doubled parentheses, so each part is wrapped once, and only when joined.
def _all(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " AND ".join(f"({part})" for part in parts)


def _any(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " OR ".join(f"({part})" for part in parts)
