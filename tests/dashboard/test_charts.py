"""The insights charts' geometry, without Django: stacked bars, the failure-rate line, small bar charts."""

from __future__ import annotations

import pytest

from gennie_admin.presentation.charts import Column, bar_chart, nice_ceiling, status_chart
from storage_backends import GenerationStatus

COMPLETED, FAILED, STALLED = GenerationStatus.COMPLETED, GenerationStatus.FAILED, GenerationStatus.STALLED


def column(label: str, rate: float | None = None, **counts: int) -> Column:
    return Column(label=label, tick=label, counts={GenerationStatus(k): v for k, v in counts.items()},
                  failure_rate=rate)


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (21, 25), (26, 50),
                                                 (101, 200)])
def test_the_count_axis_ends_on_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_bars_stack_completed_then_failed_from_the_baseline_scaled_to_the_axis():
    chart = status_chart([column("a", 0.25, completed=3, failed=1), column("b")])

    completed, failed = chart.segments
    assert (completed.css, failed.css) == ("completed", "failed")
    assert completed.y + completed.height == pytest.approx(chart.baseline)
    assert failed.y + failed.height == pytest.approx(completed.y)
    assert completed.height == pytest.approx(3 * failed.height, abs=0.02)
    assert completed.title == "a: 3 completed" and failed.title == "a: 1 failed"
    assert [tick.label for tick in chart.count_ticks] == ["0", "5"]  # 2.5 is no count


def test_the_failure_rate_line_breaks_where_a_bucket_has_no_rate():
    chart = status_chart([column("a", 0.5, completed=1, failed=1), column("b", 1.0, failed=1), column("c"),
                          column("d", 0.0, completed=2)])

    assert [point.title for point in chart.rate_points] == [
        "a: failure rate 50%", "b: failure rate 100%", "d: failure rate 0%"]
    assert chart.rate_path.count("M") == 2 and chart.rate_path.count("L") == 1
    assert chart.rate_points[1].y < chart.rate_points[0].y < chart.rate_points[2].y  # 100 % on top


def test_bucket_labels_are_thinned_to_eight():
    chart = status_chart([column(str(n)) for n in range(25)])

    assert [tick.label for tick in chart.bucket_ticks] == ["0", "4", "8", "12", "16", "20", "24"]


def test_a_small_bar_chart_draws_its_non_zero_values_scaled_to_the_largest():
    chart = bar_chart([0, 2, 4], ["x", "y", "z"], width=30, height=10, label="By hour: 0, 2, 4")

    assert [(bar.title, bar.height) for bar in chart.bars] == [("y", 5), ("z", 10)]
    assert chart.bars[1].y == 0 and chart.label == "By hour: 0, 2, 4"


def test_a_small_bar_chart_of_nothing_is_empty():
    assert bar_chart([], [], width=30, height=10, label="").bars == []
