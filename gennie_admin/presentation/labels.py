"""Human labels for stages and statuses, shared by forms, selectors and templates."""

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
