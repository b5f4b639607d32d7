"""What the insights page shows, from one ``Insights``: the status chart, the failure groups and
the stage durations, each chart with the text it stands for (titles, labels, a table).

Framework-free; the template renders these values and builds the links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage_backends import DurationStats, FailureGroup, GenerationStatus, Insights

from .charts import STACK, Column, MiniChart, StatusChart, bar_chart, percent, status_chart
from .labels import STAGE_LABELS, STATUS_LABELS, duration_label

SPARKLINE_SIZE = (120, 24)
HISTOGRAM_SIZE = (120, 32)


@dataclass(frozen=True)
class GroupRow:
    group: FailureGroup
    stage_label: str
    trend: MiniChart


@dataclass(frozen=True)
class DurationRow:
    label: str
    stats: DurationStats
    histogram: MiniChart


@dataclass(frozen=True)
class InsightsPage:
    bucket: str
    columns: list[Column]
    chart: StatusChart
    #: (status, label, count) over the whole window, in the chart's order.
    totals: list[tuple[GenerationStatus, str, int]]
    groups: list[GroupRow]
    durations: list[DurationRow]

    @property
    def total(self) -> int:
        return sum(count for _, _, count in self.totals)

    @property
    def failure_rate(self) -> str:
        """Failed of the finished (completed or failed) in the whole window; "" before any finished."""
        counts = {status: count for status, _, count in self.totals}
        finished = counts[GenerationStatus.FAILED] + counts[GenerationStatus.COMPLETED]
        return percent(counts[GenerationStatus.FAILED] / finished) if finished else ""


def insights_page(insights: Insights, *, bucket: str) -> InsightsPage:
    """The page's content; ``bucket`` ("hour" or "day") is the one the insights were asked for."""
    columns = [Column(label=bucket_label(item.start, bucket), tick=bucket_tick(item.start, bucket), counts=item.counts,
                      failure_rate=item.failure_rate) for item in insights.buckets]
    totals = [(status, STATUS_LABELS[status], sum(item.counts.get(status, 0) for item in insights.buckets))
              for status in STACK]
    return InsightsPage(
        bucket=bucket,
        columns=columns,
        chart=status_chart(columns),
        totals=totals,
        groups=[GroupRow(group, STAGE_LABELS[group.stage], trend(group, columns, bucket))
                for group in insights.failures],
        durations=[DurationRow(STAGE_LABELS[stage], stats, histogram(stats))
                   for stage, stats in insights.stage_durations.items()],
    )


def trend(group: FailureGroup, columns: list[Column], bucket: str) -> MiniChart:
    """The group's failures per bucket, a sparkline."""
    titles = [f"{column.label}: {count}" for column, count in zip(columns, group.by_bucket, strict=True)]
    width, height = SPARKLINE_SIZE
    label = f"By {bucket}: " + ", ".join(str(count) for count in group.by_bucket)
    return bar_chart(group.by_bucket, titles, width=width, height=height, label=label)


def histogram(stats: DurationStats) -> MiniChart:
    """How many took how long, one bar per (log-scale) bin."""
    titles = [f"{duration_label(item.lower)} – {duration_label(item.upper)}: {item.count}" for item in stats.histogram]
    width, height = HISTOGRAM_SIZE
    return bar_chart([item.count for item in stats.histogram], titles, width=width, height=height,
                     label="; ".join(titles))


def bucket_label(start: datetime, bucket: str) -> str:
    """'Dec 1, 14:00 UTC' for an hour, 'Tue Dec 1' for a day (buckets are UTC)."""
    if bucket == "hour":
        return f"{start:%b} {start.day}, {start:%H}:00 UTC"
    return f"{start:%a %b} {start.day}"


def bucket_tick(start: datetime, bucket: str) -> str:
    """'14:00' for an hour, 'Dec 1' for a day: short enough to sit under a bar."""
    return f"{start:%H}:00" if bucket == "hour" else f"{start:%b} {start.day}"
