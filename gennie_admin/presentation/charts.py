"""The geometry of the insights page's charts, for server-rendered inline SVG.

Framework-free: templates only write these numbers into ``<rect>``/``<path>`` attributes (which
the CSP allows, unlike ``style``) and colour them with CSS classes, so the charts need no
JavaScript and follow the colour scheme. Coordinates are in each chart's ``viewBox`` units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from storage_backends import GenerationStatus

from .labels import STATUS_LABELS

#: Stacked bottom to top.
STACK = (GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.IN_PROGRESS, GenerationStatus.STALLED)
#: The status chart's size and margins (axis labels left and right, bucket labels below).
WIDTH, HEIGHT = 800, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 48, 12, 28
#: Share of a bucket's slot its bar fills.
BAR_SHARE = 0.72
#: Most bucket labels under the status chart; the others are skipped.
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    title: str
    css: str = ""


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Tick:
    """An axis label at one coordinate (``y`` for the axes, ``x`` for the buckets)."""

    at: float
    label: str


@dataclass(frozen=True)
class Column:
    """One bucket of the status chart: its stacked segments and its failure rate."""

    #: Names the bucket in titles and tables; ``tick`` under the chart.
    label: str
    tick: str
    counts: dict[GenerationStatus, int]
    failure_rate: float | None

    @property
    def entries(self) -> list[tuple[GenerationStatus, int]]:
        """(status, count) in the chart's order, zeros included: a row of the chart's table."""
        return [(status, self.counts.get(status, 0)) for status in STACK]

    @property
    def rate_text(self) -> str:
        return percent(self.failure_rate) if self.failure_rate is not None else "—"


@dataclass(frozen=True)
class StatusChart:
    width: int
    height: int
    #: The plot's edges: axis labels sit left of ``left`` and right of ``right``, bucket labels at ``label_y``.
    left: float
    right: float
    baseline: float
    label_y: float
    segments: list[Rect]
    #: The failure rate line: a path through the buckets that have one, broken where one has none.
    rate_path: str
    rate_points: list[Point]
    count_ticks: list[Tick]
    rate_ticks: list[Tick]
    bucket_ticks: list[Tick]


@dataclass(frozen=True)
class MiniChart:
    """A sparkline or a histogram: bars in a small box, with a text equivalent."""

    width: int
    height: int
    bars: list[Rect]
    label: str


def status_chart(columns: Sequence[Column]) -> StatusChart:
    """Stacked bars of the counts by status per bucket, and the failure rate as a line over them."""
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(columns))
    top = nice_ceiling(max((sum(column.counts.values()) for column in columns), default=0))
    scale = plot_height / top
    baseline = TOP + plot_height
    segments, points, path = [], [], []
    for index, column in enumerate(columns):
        left = LEFT + index * slot
        y = baseline
        for status in STACK:
            count = column.counts.get(status, 0)
            if count:
                height = count * scale
                y -= height
                segments.append(Rect(_r(left + slot * (1 - BAR_SHARE) / 2), _r(y), _r(slot * BAR_SHARE), _r(height),
                                     title=f"{column.label}: {count} {status_word(status)}", css=status.value))
        if column.failure_rate is None:
            path.append(None)
            continue
        point = Point(_r(left + slot / 2), _r(TOP + (1 - column.failure_rate) * plot_height),
                      title=f"{column.label}: failure rate {percent(column.failure_rate)}")
        points.append(point)
        path.append(point)
    return StatusChart(
        width=WIDTH, height=HEIGHT, left=LEFT, right=WIDTH - RIGHT, baseline=baseline, label_y=HEIGHT - BOTTOM / 3,
        segments=segments, rate_path=_path(path), rate_points=points,
        count_ticks=[Tick(_r(baseline - value * scale), f"{value:g}") for value in (0, top / 2, top) if value % 1 == 0],
        rate_ticks=[Tick(_r(TOP + (1 - share) * plot_height), percent(share)) for share in (0, 0.5, 1)],
        bucket_ticks=[Tick(_r(LEFT + (index + 0.5) * slot), column.tick)
                      for index, column in enumerate(columns) if index % _label_step(len(columns)) == 0],
    )


def bar_chart(values: Sequence[int], titles: Sequence[str], *, width: int, height: int, label: str) -> MiniChart:
    """One bar per value, scaled to the largest; ``titles`` name each bar (the hover text)."""
    slot = width / max(1, len(values))
    scale = height / max([1, *values])
    bars = [Rect(_r(index * slot + slot * 0.1), _r(height - value * scale), _r(slot * 0.8), _r(value * scale), title)
            for index, (value, title) in enumerate(zip(values, titles, strict=True)) if value]
    return MiniChart(width=width, height=height, bars=bars, label=label)


def nice_ceiling(value: float) -> float:
    """The axis top: the smallest of 1, 2, 2.5 or 5 × 10ⁿ at least ``value`` (1 for nothing)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def percent(share: float) -> str:
    return f"{share * 100:.0f}%" if share in (0, 1) or share * 100 >= 10 else f"{share * 100:.1f}%"


def status_word(status: GenerationStatus) -> str:
    return STATUS_LABELS[status].lower()


def _label_step(count: int) -> int:
    return max(1, math.ceil(count / MAX_X_LABELS))


def _path(points: Sequence[Point | None]) -> str:
    """``M x y L x y …``, a new ``M`` after each gap."""
    parts, drawing = [], False
    for point in points:
        if point is None:
            drawing = False
            continue
        parts.append(f"{'L' if drawing else 'M'}{point.x:g} {point.y:g}")
        drawing = True
    return " ".join(parts)


def _r(value: float) -> float:
    """Rounded for markup: a hundredth of a unit is far below a pixel."""
    return round(value, 2)
