"""The stage timeline's rows, rendered in Python as the list's rows are (see ``list_tags``).

Every open detail page of a running generation polls the timeline every three seconds, so
its eight rows are built with ``str.format`` and ``html.escape`` (what Django's ``escape``
does) instead of some two hundred template nodes; only the finished rows are marked safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from storage_backends import GenerationStatus, Stage

from ..presentation.timeline import StepState, Timeline, TimelineRow
from ..presentation.typical import StageComparison
from .gennie_tags import duration, time_html

register = template.Library()

ROW = (
    '<li class="timeline-row step-{state}{stalled}"{aria}>'
    '<span class="step-name"><span class="step-dot" aria-hidden="true"></span>{label}</span>'
    '<span class="step-state">{state_text}</span>'
    '<span class="step-time">{time}</span>'
    '<span class="step-duration">{duration}</span>'
    '<svg class="step-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true" focusable="false">'
    '<rect class="bar-track" width="100" height="8" rx="1"></rect>{bar}</svg>'
    "{error}"
    "</li>"
)
BAR = '<rect class="bar-fill" x="{:.2f}" width="{:.2f}" height="8" rx="1"></rect>'
APPROXIMATE = '<span class="approx" title="{}">≈</span>'
UNKNOWN_TIME = '<span class="muted" title="No time was recorded for this stage.">unknown</span>'
RE_RUN = (
    '<span class="muted" title="Recorded before the stage ahead of it: an earlier stage was probably re-run.">'
    "re-run</span>"
)
ERROR = '<p class="step-error">{}</p>'
TYPICAL = ' <span class="typical{slow}" title="{title}">· {text}</span>'
NO_ERROR_MESSAGE = "Marked failed, with no error message."


@register.simple_tag
def timeline_rows(timeline: Timeline, status: GenerationStatus,
                  comparisons: Mapping[Stage, StageComparison]) -> SafeString:
    """The ``<li>`` of every stage, each duration with how it compares to the typical one.
    Every value in them has gone through ``escape``."""
    stalled = status is GenerationStatus.STALLED
    rows = (_row(row, comparisons.get(row.stage), stalled=stalled, final=timeline.final) for row in timeline.rows)
    return mark_safe("\n".join(rows))  # noqa: S308 (escaped above)


def _row(row: TimelineRow, comparison: StageComparison | None, *, stalled: bool, final: bool) -> str:
    running, failed = row.state is StepState.RUNNING, row.state is StepState.FAILED
    return ROW.format(
        state=row.state.value,
        stalled=" is-stalled" if running and stalled else "",
        aria=f' aria-label="{escape(row.label)}: failed"' if failed else "",
        label=escape(row.label),
        state_text=_state_text(row.state, stalled=stalled, final=final),
        time=_time(row),
        duration=_duration(row) + (_typical(comparison) if comparison and row.seconds is not None else ""),
        bar=BAR.format(row.bar_start, row.bar_width) if row.bar_width else "",
        error=ERROR.format(escape(row.error) if row.error else NO_ERROR_MESSAGE) if failed else "",
    )


def _state_text(state: StepState, *, stalled: bool, final: bool) -> str:
    if state is StepState.RUNNING and stalled:
        return "stalled"
    # Once the generation is over, nothing is pending any more.
    if state is StepState.PENDING and final:
        return "not reached"
    return state.value


def _time(row: TimelineRow) -> str:
    if row.at is not None:
        return (APPROXIMATE.format(escape(row.time_note)) if row.time_note else "") + time_html(row.at)
    return UNKNOWN_TIME if row.state in (StepState.DONE, StepState.FAILED) else ""


def _duration(row: TimelineRow) -> str:
    if row.out_of_order:
        return RE_RUN
    if row.seconds is None:
        return ""
    return ("for " if row.state is StepState.RUNNING else "+") + escape(duration(row.seconds))


def _typical(comparison: StageComparison) -> str:
    return TYPICAL.format(slow=" is-slow" if comparison.slow else "", title=escape(comparison.title),
                          text=escape(comparison.text))
