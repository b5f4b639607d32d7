"""Insights: "is it only this one?" in one call. Statuses over time, failure groups, stage durations.

Every backend answers ``insights(InsightsQuery(...))`` with the same figures. What each
generation contributes is one function of its document, ``contribution``: the hour it was
created in, its phase, its failure group and the durations of its stages, each duration as a
bin of a log-scale histogram (bins 10 % wide). Memory and file add up the contributions of
the window's documents in one pass; SQLite and DynamoDB keep the sums per hour as documents
are written (a write adds its new contribution and takes away its old one), so a call reads
O(buckets + groups), not O(generations). Percentiles come from the histogram on every
backend: within 5 % of the exact value (a bin's geometric middle); ``max`` is the top bin's.

A language or stage filter (``InsightsQuery.filtered``) narrows every figure to the generations
the list's filters of the same name would show. No sums are kept per language or stage (a sum
per language × stage × hour would multiply the rollup updates of every write), so a filtered
call is one pass over the window's matching generations (``add_up``), never over the table.
SQLite reads them from an index range of its columns, O(those that match); DynamoDB finds them
among the window's slim index items and gets their durations, never their documents. Memory and
file pass over their documents, filtered or not. Such a call sees nothing cleanup removed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .filtering import matches
from .fingerprints import describe_error, error_message, fingerprint_error
from .models import (
    DEFAULT_STALLED_AFTER,
    STAGES,
    GenerationState,
    GenerationStatus,
    ListQuery,
    Stage,
    parse_timestamp,
    status_from,
)
from .summaries import cut

#: Each histogram bin is this much wider than the one before: 10 % steps.
BIN_RATIO = 1.1
#: Durations under a second share bin 0 (the pipeline's stages take seconds to minutes).
_MIN_SECONDS = 1.0
#: Most buckets one call returns (a week of hours, a year of days).
MAX_BUCKETS = 24 * 7 * 2
EXAMPLES = 5


class InsightsQuery(BaseModel):
    """The window of created times and its bucket, and which generations of it. The window is
    widened to whole buckets: from the start of the hour (day) holding ``created_after`` to the end
    of the one holding the last instant before ``created_before``, since sums are kept per hour."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    created_after: datetime
    created_before: datetime
    bucket: Literal["hour", "day"] = "hour"
    stalled_after: timedelta = DEFAULT_STALLED_AFTER
    #: Failure groups returned, most frequent first.
    max_groups: int = Field(default=20, ge=1, le=100)
    #: Whether groups come with example ids and exact first/last seen times (a few reads per group
    #: on SQLite and DynamoDB); without, ``example_ids`` is empty and the times are to the hour.
    examples: bool = True
    #: Only the generations in this language (case-insensitive), as ``ListQuery.language``.
    language: str | None = None
    #: Only the generations whose current stage (the furthest recorded) is this, as ``ListQuery.stage``.
    stage: Stage | None = None

    @property
    def filtered(self) -> bool:
        """Whether a language or stage narrows the answer (then no backend can read its sums)."""
        return self.language is not None or self.stage is not None

    @property
    def filters(self) -> ListQuery:
        """The language and stage filters as the list's: what each backend compares, so a figure
        and the list it links to agree."""
        return ListQuery(language=self.language, stage=self.stage)

    @model_validator(mode="after")
    def _window(self) -> InsightsQuery:
        for moment in (self.created_after, self.created_before):
            if moment.tzinfo is None:
                raise ValueError("created_after and created_before must be timezone-aware")
        if self.created_before <= self.created_after:
            raise ValueError("created_before must be later than created_after")
        if len(bucket_starts(self)) > MAX_BUCKETS:
            raise ValueError(f"the window holds more than {MAX_BUCKETS} buckets: use bucket='day' or a shorter one")
        return self


class InsightsBucket(BaseModel):
    start: datetime
    counts: dict[GenerationStatus, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failure_rate(self) -> float | None:
        """Failed of the finished ones (completed or failed); None before any finished."""
        finished = self.counts[GenerationStatus.FAILED] + self.counts[GenerationStatus.COMPLETED]
        return self.counts[GenerationStatus.FAILED] / finished if finished else None


class FailureGroup(BaseModel):
    fingerprint: str
    stage: Stage
    #: The normalized message (``describe_error``): the group's name.
    message: str
    #: One raw message of the group, as a generation reported it (cut to 300 characters).
    example_message: str
    count: int
    first_seen: datetime
    last_seen: datetime
    #: Up to five ids, latest first.
    example_ids: list[str]
    #: How many of the group fall in each of the ``Insights.buckets``: a sparkline.
    by_bucket: list[int] = Field(default_factory=list)


class HistogramBin(BaseModel):
    lower: float
    upper: float
    count: int


class DurationStats(BaseModel):
    count: int
    p50: float
    p90: float
    p95: float
    max: float
    histogram: list[HistogramBin]


class Insights(BaseModel):
    buckets: list[InsightsBucket]
    failures: list[FailureGroup]
    stage_durations: dict[Stage, DurationStats]


# -- what one document contributes ------------------------------------------------------------


@dataclass(frozen=True)
class Contribution:
    """What one generation adds to the sums of the hour it was created in."""

    #: "YYYY-MM-DDTHH"; None without a readable ``createdAt`` (DynamoDB's totals still count it).
    hour: str | None
    phase: str
    #: The failure group, with the stage, the normalized message and a raw example; None unless failed.
    failure: str | None = None
    failure_stage: str | None = None
    failure_message: str | None = None
    failure_example: str | None = None
    #: stage -> histogram bin of its duration.
    duration_bins: dict[str, int] = field(default_factory=dict)
    #: In progress: the hour of its last change (stalled is told from it, with the clock); else None.
    waiting_hour: str | None = None


def contribution(state: GenerationState) -> Contribution | None:
    """The document's contribution; None without a readable ``createdAt`` (it belongs to no hour)."""
    created = state.created
    if created is None:
        return None
    failed = state.failed_stage
    failure = {}
    if failed is not None:
        error = state.stage(failed).error
        failure = {"failure": fingerprint_error(failed, error), "failure_stage": failed.value,
                   "failure_message": describe_error(error), "failure_example": cut(error_message(error) or "")}
    last_change = state.updated or created
    waiting = hour_of(last_change) if state.phase is GenerationStatus.IN_PROGRESS else None
    return Contribution(hour=hour_of(created), phase=state.phase.value, duration_bins=duration_bins(state),
                        waiting_hour=waiting, **failure)


def stage_durations(state: GenerationState) -> dict[str, float]:
    """Seconds from the previous recorded stage's time to each stage's own (``stageTimestamps``)."""
    times = state.stage_timestamps or {}
    durations, previous = {}, None
    for stage in STAGES:
        moment = parse_timestamp(times.get(stage.value)) if stage.value in times else None
        if moment is None:
            continue
        if previous is not None and moment >= previous:
            durations[stage.value] = (moment - previous).total_seconds()
        previous = moment
    return durations


def duration_bins(state: GenerationState) -> dict[str, int]:
    return {stage: bin_of(seconds) for stage, seconds in stage_durations(state).items()}


def bin_of(seconds: float) -> int:
    """The histogram bin of a duration: 0 under a second, else 1 + floor(log_1.1(seconds))."""
    if seconds < _MIN_SECONDS:
        return 0
    return 1 + int(math.floor(math.log(seconds, BIN_RATIO) + 1e-9))


def bin_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, _MIN_SECONDS
    return BIN_RATIO ** (index - 1), BIN_RATIO ** index


def bin_value(index: int) -> float:
    """A bin's representative duration: its geometric middle (its upper bound for ``max``)."""
    lower, upper = bin_bounds(index)
    return math.sqrt(lower * upper) if lower else upper / 2


def hour_of(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H")


def window_bounds(query: InsightsQuery) -> tuple[datetime, datetime]:
    """The window widened to whole buckets: the first bucket's start, the last one's end."""
    step = timedelta(hours=1) if query.bucket == "hour" else timedelta(days=1)
    start = query.created_after.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if query.bucket == "day":
        start = start.replace(hour=0)
    end = start
    while end < query.created_before:
        end += step
    return start, end


def bucket_starts(query: InsightsQuery) -> list[datetime]:
    """The start of each bucket, oldest first."""
    step = timedelta(hours=1) if query.bucket == "hour" else timedelta(days=1)
    start, end = window_bounds(query)
    return [start + n * step for n in range(round((end - start) / step))]


def hours_of(query: InsightsQuery) -> list[str]:
    """Every hour of the (widened) window, oldest first."""
    start, end = window_bounds(query)
    return [hour_of(start + timedelta(hours=n)) for n in range(round((end - start) / timedelta(hours=1)))]


# -- adding up ---------------------------------------------------------------------------------


@dataclass
class Sums:
    """Contributions added up per hour: what SQLite and DynamoDB keep, what memory and file make."""

    #: hour -> phase -> count
    phases: dict[str, dict[str, int]] = field(default_factory=dict)
    #: fingerprint -> hour -> count
    failures: dict[str, dict[str, int]] = field(default_factory=dict)
    #: fingerprint -> (stage, message, example)
    groups: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    #: stage -> bin -> count
    durations: dict[str, dict[int, int]] = field(default_factory=dict)
    #: hour -> hour of the last change -> in-progress count (what the stalled split is read from)
    waiting: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, item: Contribution) -> None:
        hour = self.phases.setdefault(item.hour, {})
        hour[item.phase] = hour.get(item.phase, 0) + 1
        if item.failure:
            by_hour = self.failures.setdefault(item.failure, {})
            by_hour[item.hour] = by_hour.get(item.hour, 0) + 1
            self.groups.setdefault(item.failure, (item.failure_stage, item.failure_message, item.failure_example))
        for stage, index in item.duration_bins.items():
            bins = self.durations.setdefault(stage, {})
            bins[index] = bins.get(index, 0) + 1
        if item.waiting_hour:
            waiting = self.waiting.setdefault(item.hour, {})
            waiting[item.waiting_hour] = waiting.get(item.waiting_hour, 0) + 1

    def stalled_by_hour(self, cutoff: datetime, boundary: Mapping[str, int]) -> dict[str, int]:
        """The stalled ones per hour: in progress and last changed before ``cutoff``. Those last
        changed in an earlier hour than the cutoff's come from the sums; ``boundary`` counts those
        of the cutoff's own hour changed before it (the backend reads them: a bounded range)."""
        cutoff_hour = hour_of(cutoff)
        stalled = dict(boundary)
        for hour, by_last in self.waiting.items():
            idle = sum(count for last, count in by_last.items() if last < cutoff_hour)
            if idle:
                stalled[hour] = stalled.get(hour, 0) + idle
        return stalled


@dataclass(frozen=True)
class Examples:
    """A group's latest ids and the created times of its first and last member in the window."""

    ids: list[str]
    first_seen: datetime
    last_seen: datetime


def build_insights(query: InsightsQuery, sums: Sums, *, stalled_by_hour: Mapping[str, int],
                   examples: Mapping[str, Examples]) -> Insights:
    """The answer from the window's sums, the stalled ones among the in-progress ones per hour (they
    need the clock) and the examples of the groups returned (``top_groups`` says which)."""
    starts = bucket_starts(query)
    key_of = (lambda hour: hour) if query.bucket == "hour" else (lambda hour: hour[:10])
    keys = [hour_of(start) if query.bucket == "hour" else start.strftime("%Y-%m-%d") for start in starts]
    counts = {key: dict.fromkeys(GenerationStatus, 0) for key in keys}
    for hour, phases in sums.phases.items():
        bucket = counts.get(key_of(hour))
        if bucket is None:
            continue
        for phase, count in phases.items():
            bucket[GenerationStatus(phase)] += count
        stalled = min(stalled_by_hour.get(hour, 0), bucket[GenerationStatus.IN_PROGRESS])
        bucket[GenerationStatus.IN_PROGRESS] -= stalled
        bucket[GenerationStatus.STALLED] += stalled
    failures = []
    for fingerprint in top_groups(sums, query.max_groups):
        if not query.examples:
            examples = {**examples, fingerprint: hourly_examples(sums.failures[fingerprint])}
        if fingerprint not in examples:
            continue  # its generations were deleted since the sums were read
        stage, message, example = sums.groups[fingerprint]
        by_key: dict[str, int] = {}
        for hour, count in sums.failures[fingerprint].items():
            by_key[key_of(hour)] = by_key.get(key_of(hour), 0) + count
        found = examples[fingerprint]
        failures.append(FailureGroup(
            fingerprint=fingerprint, stage=Stage(stage), message=message, example_message=example,
            count=sum(by_key.values()), first_seen=found.first_seen, last_seen=found.last_seen,
            example_ids=found.ids, by_bucket=[by_key.get(key, 0) for key in keys]))
    return Insights(
        buckets=[InsightsBucket(start=start, counts=counts[key]) for start, key in zip(starts, keys, strict=True)],
        failures=failures,
        stage_durations={Stage(stage): duration_stats(bins) for stage, bins in _in_order(sums.durations)},
    )


def hourly_examples(by_hour: Mapping[str, int]) -> Examples:
    """No ids, and the group seen from the start of its first hour to the start of its last."""
    hours = sorted(hour for hour, count in by_hour.items() if count > 0)
    return Examples(ids=[], first_seen=_hour_start(hours[0]), last_seen=_hour_start(hours[-1]))


def _hour_start(hour: str) -> datetime:
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)


def top_groups(sums: Sums, limit: int) -> list[str]:
    """The most frequent groups first (ties: the fingerprint, for a stable order)."""
    totals = {fingerprint: sum(by_hour.values()) for fingerprint, by_hour in sums.failures.items()}
    ranked = sorted((fingerprint for fingerprint, total in totals.items() if total > 0),
                    key=lambda fingerprint: (-totals[fingerprint], fingerprint))
    return ranked[:limit]


def duration_stats(bins: Mapping[int, int]) -> DurationStats:
    present = sorted((index, count) for index, count in bins.items() if count > 0)
    total = sum(count for _, count in present)

    def percentile(share: float) -> float:
        rank, seen = share * total, 0
        for index, count in present:
            seen += count
            if seen >= rank:
                return round(bin_value(index), 3)
        return round(bin_value(present[-1][0]), 3)

    return DurationStats(count=total, p50=percentile(0.5), p90=percentile(0.9), p95=percentile(0.95),
                         max=round(bin_bounds(present[-1][0])[1], 3), histogram=display_bins(present))


def display_bins(present: list[tuple[int, int]], *, width: int = 8) -> list[HistogramBin]:
    """The fine bins merged ``width`` at a time (about ×2.1 each), from the first to the last used."""
    first, last = present[0][0] // width, present[-1][0] // width
    merged = {group: 0 for group in range(first, last + 1)}
    for index, count in present:
        merged[index // width] += count
    return [HistogramBin(lower=round(bin_bounds(group * width)[0], 3),
                         upper=round(bin_bounds(group * width + width - 1)[1], 3), count=count)
            for group, count in merged.items()]


def _in_order(durations: Mapping[str, Mapping[int, int]]) -> list[tuple[str, Mapping[int, int]]]:
    return [(stage.value, durations[stage.value]) for stage in STAGES
            if any(count > 0 for count in durations.get(stage.value, {}).values())]


class Counted(NamedTuple):
    """One generation of the window as a one-pass sum sees it, from a document or from columns."""

    item: Contribution
    created: datetime
    generation_id: str
    #: In progress, and last changed before the call's cutoff (it needs the clock).
    stalled: bool


def counted_row(item: Contribution, *, created: str, last_change: str | None, generation_id: str, now: datetime,
                stalled_after: timedelta) -> Counted:
    """A generation read from stored columns: its normalized created time and last change (SQLite's
    and DynamoDB's indexed copies), told stalled by the rule documents follow (``status_from``)."""
    status = status_from(GenerationStatus(item.phase), parse_timestamp(last_change), now, stalled_after)
    return Counted(item, parse_timestamp(created), generation_id, status is GenerationStatus.STALLED)


def add_up(generations: Iterable[Counted], query: InsightsQuery) -> Insights:
    """The answer from one pass over the window's generations (all of them, or those that match)."""
    sums, stalled, members = Sums(), {}, {}
    for counted in generations:
        item = counted.item
        sums.add(item)
        if counted.stalled:
            stalled[item.hour] = stalled.get(item.hour, 0) + 1
        if item.failure:
            members.setdefault(item.failure, []).append((counted.created, counted.generation_id))
    examples = {}
    for fingerprint, found in members.items():
        found.sort(reverse=True)
        examples[fingerprint] = Examples(ids=[i for _, i in found[:EXAMPLES]], first_seen=found[-1][0],
                                         last_seen=found[0][0])
    return build_insights(query, sums, stalled_by_hour=stalled, examples=examples)


def insights_of(states: Iterable[GenerationState], query: InsightsQuery, now: datetime) -> Insights:
    """One pass over documents (memory and file; any backend without sums of its own)."""
    low, high = window_bounds(query)
    filters = query.filters

    def counted() -> Iterable[Counted]:
        for state in states:
            created = state.created
            if created is None or not low <= created < high or not matches(state, filters, now):
                continue
            stalled = state.status_at(now, query.stalled_after) is GenerationStatus.STALLED
            yield Counted(contribution(state), created, state.generation_id, stalled)

    return add_up(counted(), query)
