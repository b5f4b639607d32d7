"""Human labels for stages, statuses and durations, shared by forms, selectors, charts and templates."""

from __future__ import annotations

from storage_backends import GenerationStatus, Stage

STAGE_LABELS: dict[Stage, str] = {
    Stage.INITIAL_PARAMS: "Initial params",
    Stage.SCRIPT: "Script",
    Stage.AUDIO: "Audio",
    Stage.KEYWORDS: "Keywords",
    Stage.CLIPS: "Clips",
    Stage.BASE_VIDEO: "Base video",
    Stage.FINAL_VIDEO: "Final video",
    Stage.YOUTUBE: "YouTube",
}

STATUS_LABELS: dict[GenerationStatus, str] = {
    GenerationStatus.IN_PROGRESS: "In progress",
    GenerationStatus.STALLED: "Stalled",
    GenerationStatus.COMPLETED: "Completed",
    GenerationStatus.FAILED: "Failed",
}


def duration_label(seconds: float) -> str:
    """A short duration: '0.4 ms', '850 ms', '4.2 s', '3 min 05 s', '2 h 07 min', '3 d 4 h'."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    if seconds < 0.01:
        text = f"{seconds * 1000:.1f} ms"
    elif seconds < 1:
        text = f"{seconds * 1000:.0f} ms"
    elif seconds < 60:
        text = f"{seconds:.1f} s"
    elif seconds < 3600:
        text = f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    elif seconds < 86400:
        text = f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    else:
        text = f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"
    return sign + text
