"""The stage timeline of one generation: what each pipeline stage did, and when.

Framework-free, so it is unit-tested without Django: the detail page and its htmx partial
only render the rows computed here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from storage_backends import STAGES, GenerationState, GenerationStatus, Stage
from storage_backends.models import StageData, parse_timestamp

from .labels import STAGE_LABELS
from .stage_cards import error_text

#: Narrowest bar drawn, in percent of the span, so an instant stage is still visible.
MIN_BAR_PERCENT = 0.6


class StepState(enum.StrEnum):
    DONE = "done"
    FAILED = "failed"
    RUNNING = "running"
    PENDING = "pending"


class TimeSource(enum.StrEnum):
    """Where a row's time comes from: the storage's stage times, or a stand-in for them."""

    RECORDED = "recorded"
    CREATED = "createdAt"
    UPDATED = "updatedAt"


@dataclass(frozen=True)
class TimelineRow:
    stage: Stage
    label: str
    state: StepState
    at: datetime | None
    time_source: TimeSource | None
    #: Seconds since the previous timed stage (for the running stage: so far); None if unknown.
    seconds: float | None
    #: Recorded before the stage ahead of it, e.g. an earlier stage was re-run.
    out_of_order: bool
    #: The bar, as percentages of the whole span (start offset and width).
    bar_start: float
    bar_width: float
    error: str | None

    @property
    def time_note(self) -> str:
        """Why the time may be approximate, for its tooltip."""
        if self.time_source is TimeSource.CREATED:
            return "No stage time recorded: this is the document's createdAt."
        if self.time_source is TimeSource.UPDATED:
            return "No stage time recorded: this is the document's updatedAt."
        return ""


@dataclass(frozen=True)
class Timeline:
    rows: list[TimelineRow]
    started: datetime | None
    #: The last recorded time, or now while the generation is still in progress.
    ended: datetime | None
    final: bool
    #: Some times stand in for missing stage times (documents written without ``stageTimestamps``).
    approximate: bool
    failed_stage: Stage | None

    @property
    def total_seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, (self.ended - self.started).total_seconds())


def build_timeline(state: GenerationState, *, now: datetime) -> Timeline:
    """One row per pipeline stage, in order, with its state, time, duration and bar."""
    in_progress = state.phase is GenerationStatus.IN_PROGRESS
    running = _running_stage(state) if in_progress else None
    times = [_time_of(state, stage) for stage in STAGES]
    known = [at for at, _ in times if at is not None]
    started = state.created or (min(known) if known else None)
    if started is not None and known:
        started = min(started, *known)
    ended = now if in_progress else (max(known) if known else state.updated)

    rows: list[TimelineRow] = []
    previous: datetime | None = None
    for stage, (at, source) in zip(STAGES, times, strict=True):
        data = state.stage(stage)
        step = _step_state(data, stage is running)
        until = now if step is StepState.RUNNING else at
        seconds = (until - previous).total_seconds() if until and previous else None
        out_of_order = seconds is not None and seconds < 0
        bar_start, bar_width = _bar(previous or until, until, started, ended)
        rows.append(
            TimelineRow(
                stage=stage,
                label=STAGE_LABELS[stage],
                state=step,
                at=at,
                time_source=source,
                seconds=None if out_of_order else seconds,
                out_of_order=out_of_order,
                bar_start=bar_start,
                bar_width=bar_width,
                error=error_text(data) if step is StepState.FAILED else None,
            )
        )
        previous = at or previous
    return Timeline(
        rows=rows,
        started=started,
        ended=ended,
        final=not in_progress,
        approximate=any(source not in (None, TimeSource.RECORDED) for _, source in times),
        failed_stage=state.failed_stage,
    )


def _running_stage(state: GenerationState) -> Stage | None:
    """The stage after the furthest one recorded: what an in-progress generation is doing now."""
    current = state.current_stage
    position = 0 if current is None else current.index + 1
    return STAGES[position] if position < len(STAGES) else None


def _step_state(data: StageData | None, running: bool) -> StepState:
    if data is not None:
        return StepState.FAILED if data.failed else StepState.DONE
    return StepState.RUNNING if running else StepState.PENDING


def _time_of(state: GenerationState, stage: Stage) -> tuple[datetime | None, TimeSource | None]:
    """When a stage was recorded; without a stage time, createdAt or updatedAt stand in where they can."""
    if state.stage(stage) is None:
        return None, None
    recorded = parse_timestamp((state.stage_timestamps or {}).get(stage.value))
    if recorded is not None:
        return recorded, TimeSource.RECORDED
    # The initial params arrive with the document, and the furthest stage was the last write.
    if stage is Stage.INITIAL_PARAMS and state.created is not None:
        return state.created, TimeSource.CREATED
    if stage is state.current_stage and state.updated is not None:
        return state.updated, TimeSource.UPDATED
    return None, None


def _bar(begin: datetime | None, end: datetime | None, started: datetime | None,
         ended: datetime | None) -> tuple[float, float]:
    """Start and width of a bar from ``begin`` to ``end``, in percent of the span, rounded for markup."""
    if None in (begin, end, started, ended):
        return 0.0, 0.0
    span = (ended - started).total_seconds()
    if span <= 0:
        return 0.0, MIN_BAR_PERCENT
    low, high = sorted((begin, end))
    start = 100 * (low - started).total_seconds() / span
    width = max(MIN_BAR_PERCENT, 100 * (high - low).total_seconds() / span)
    start = min(max(start, 0.0), 100 - MIN_BAR_PERCENT)
    return round(start, 2), round(min(width, 100 - start), 2)
