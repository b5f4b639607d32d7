"""Each stage of one generation against the same stage's median over recent generations.

"Was it slow?" needs a baseline: ``storage_backends.insights.stage_durations`` measures a stage the
way the insights' duration statistics do (from the previous recorded stage time to its own), so
the two are comparable. Framework-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storage_backends import DurationStats, GenerationState, Stage
from storage_backends.insights import stage_durations

from .labels import duration_label

#: From this many times the median on, a stage is marked slow.
SLOW_RATIO = 2.0


@dataclass(frozen=True)
class StageComparison:
    seconds: float
    #: The stage's median (p50) over the baseline window, and how many generations it is of.
    typical: float
    sample: int
    window_label: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.typical

    @property
    def slow(self) -> bool:
        return self.ratio >= SLOW_RATIO

    @property
    def text(self) -> str:
        """'3.1× typical'."""
        return f"{self.ratio:.1f}× typical"

    @property
    def title(self) -> str:
        return (f"Typical (median) over the {self.window_label}: {duration_label(self.typical)}, "
                f"of {self.sample} generation{'s' if self.sample != 1 else ''}")


def compare_stages(state: GenerationState, durations: Mapping[Stage, DurationStats], *,
                   window_label: str) -> dict[Stage, StageComparison]:
    """A comparison for every stage with a recorded duration and a baseline to compare it with."""
    comparisons = {}
    for name, seconds in stage_durations(state).items():
        stats = durations.get(Stage(name))
        if stats is not None and stats.p50 > 0:
            comparisons[Stage(name)] = StageComparison(seconds, stats.p50, stats.count, window_label)
    return comparisons
