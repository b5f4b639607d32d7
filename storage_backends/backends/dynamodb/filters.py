"""``ListQuery`` filters as a DynamoDB ``FilterExpression`` over the listing indexes' items.

The indexes project a row's attributes only (``INCLUDE``), so every filter compares a derived
attribute written with the document (``derived``): the phase, the current stage, the
lower-cased language, the casefolded id and prompt, the last change. Status filters read the
status index, whose key is the phase already (a Query may not filter on its index's keys);
there only stalled and in progress, told apart by the last change, need a filter.
"""

from __future__ import annotations

from datetime import datetime

from ...models import GenerationStatus, ListQuery, format_timestamp
from .derived import STAGE
from .expressions import Expression
from .index import LANGUAGE, LAST_CHANGE, SEARCH_ID, SEARCH_PROMPT


def filter_expression(expr: Expression, query: ListQuery, at: datetime) -> str | None:
    """The filter for status, stage, language and search (the created range is in the key)."""
    clauses = []
    if query.status in (GenerationStatus.STALLED, GenerationStatus.IN_PROGRESS):
        idle = f"{expr.name(LAST_CHANGE)} < {expr.value(format_timestamp(at - query.stalled_after))}"
        clauses.append(idle if query.status is GenerationStatus.STALLED else f"NOT ({idle})")
    if query.stage is not None:
        clauses.append(f"{expr.name(STAGE)} = {expr.value(query.stage.value)}")
    if query.language is not None:
        clauses.append(f"{expr.name(LANGUAGE)} = {expr.value(query.language.lower())}")
    if query.search:
        needle = expr.value(query.search.casefold())
        in_id, in_prompt = expr.name(SEARCH_ID), expr.name(SEARCH_PROMPT)
        clauses.append(f"contains({in_id}, {needle}) OR contains({in_prompt}, {needle})")
    return _all(clauses) or None


# DynamoDB refuses doubled parentheses, so each part is wrapped once, and only when joined.
def _all(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else " AND ".join(f"({part})" for part in parts)
