"""What a list row shows of a generation, without its whole document.

``list_summaries`` returns ``GenerationSummary`` pages. Backends that can keep a summary beside
the document (SQLite's columns, DynamoDB's index items) store ``summary_fields`` of each
document as it is written, so a page never reads scripts, clips or stage maps; the others
summarize the documents of a ``list_generations`` page. Either way the values are the same:
prompt and error are cut to ``SUMMARY_CHARS`` on every backend, and the status is worked out
when the page is read (stalled depends on the clock), from the stored phase and last change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from .fingerprints import error_message, fingerprint_error
from .models import GenerationState, GenerationStatus, Stage, parse_timestamp, status_from

#: Longest prompt and error a summary carries (cut with an ellipsis): a row, not a document.
SUMMARY_CHARS = 300


class GenerationSummary(BaseModel):
    """One list row: who, what, how far, and why it failed."""

    model_config = ConfigDict(frozen=True)

    generation_id: str
    prompt: str | None = None
    language: str | None = None
    aspect_ratio: str | None = None
    current_stage: Stage | None = None
    status: GenerationStatus
    failed_stage: Stage | None = None
    #: The failed stage's error message (see ``error_message``), cut to ``SUMMARY_CHARS``.
    error: str | None = None
    #: The failure group (``fingerprints.fingerprint_error`` of the failed stage's error).
    failure: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SummaryPage(BaseModel):
    """A page of summaries, with the same cursors as ``list_generations``' pages."""

    items: list[GenerationSummary]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def aspect_ratio_of(state: GenerationState) -> str | None:
    """``initialParams.options.aspectRatio`` (or ``aspect_ratio``), as text."""
    options = (state.initial_params.options if state.initial_params else None) or {}
    aspect = options.get("aspectRatio") or options.get("aspect_ratio")
    return str(aspect) if aspect not in (None, "") else None


def summary_fields(state: GenerationState) -> dict[str, str | None]:
    """The summary's parts that depend on the document alone (what backends store), by field name."""
    failed = state.failed_stage
    stage = state.current_stage
    failed_data = state.stage(failed) if failed else None
    return {
        "prompt": cut(state.prompt),
        "language": state.language,
        "aspect_ratio": aspect_ratio_of(state),
        "current_stage": stage.value if stage else None,
        "failed_stage": failed.value if failed else None,
        "error": cut(error_message(failed_data.error)) if failed_data else None,
        "failure": fingerprint_error(failed, failed_data.error) if failed_data else None,
    }


def summarize(state: GenerationState, *, at: datetime, stalled_after: timedelta) -> GenerationSummary:
    """The summary of a whole document, its status taken at ``at``."""
    return GenerationSummary(
        generation_id=state.generation_id, **summary_fields(state), status=state.status_at(at, stalled_after),
        created_at=state.created_at, updated_at=state.updated_at,
    )


def stored_summary(generation_id: str, fields: Mapping[str, str | None], *, phase: str, created_at: str | None,
                   updated_at: str | None, at: datetime, stalled_after: timedelta) -> GenerationSummary:
    """A summary from what a backend stored: ``summary_fields``, the phase and the two times."""
    last_change = parse_timestamp(updated_at) or parse_timestamp(created_at)
    return GenerationSummary(
        generation_id=generation_id, **fields, created_at=created_at, updated_at=updated_at,
        status=status_from(GenerationStatus(phase), last_change, at, stalled_after),
    )


def cut(text: str | None, limit: int = SUMMARY_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters, the last of them an ellipsis when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"

