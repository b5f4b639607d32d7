"""Pydantic models of a generation's state, the list query and its page, and metrics.

Stored documents use camelCase names (``generationId``, ``baseVideo``); the models expose
snake_case fields with those names as aliases and accept both. Every model allows extra
keys and validates strictly, so nothing another producer wrote is dropped or coerced
(``True`` never becomes ``1``): ``to_item()`` gives back exactly what was read.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt
from pydantic.alias_generators import to_camel

from .errors import StorageError

#: An in-progress generation not updated for longer than this is reported as stalled.
DEFAULT_STALLED_AFTER = timedelta(minutes=30)

Number = StrictInt | StrictFloat


class Stage(enum.StrEnum):
    """The pipeline stages in order; the value is the stored attribute name."""

    INITIAL_PARAMS = "initialParams"
    SCRIPT = "script"
    AUDIO = "audio"
    KEYWORDS = "keywords"
    CLIPS = "clips"
    BASE_VIDEO = "baseVideo"
    FINAL_VIDEO = "finalVideo"
    YOUTUBE = "youtube"

    @property
    def index(self) -> int:
        """The stage's position in the pipeline, from 0."""
        return STAGES.index(self)


STAGES: list[Stage] = list(Stage)
STAGE_NAMES: frozenset[str] = frozenset(stage.value for stage in Stage)


class GenerationStatus(enum.StrEnum):
    """Where a generation stands, derived from its stage maps and times (see ``status_at``)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    STALLED = "stalled"


class _Document(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, strict=True
    )

    def to_item(self) -> dict[str, Any]:
        """The stored camelCase form: exactly the keys that were given, extras included."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class StageData(_Document):
    """Common to every stage map: an optional ``status`` and ``error``."""

    status: str | None = None
    error: Any = None

    @property
    def has_error(self) -> bool:
        """Whether ``error`` holds something: None, "" and {} are no error."""
        return self.error not in (None, "", {})

    @property
    def failed(self) -> bool:
        """Whether the stage reports a failure: ``status: "failed"`` or a non-empty ``error``."""
        return self.status == "failed" or self.has_error


class InitialParams(StageData):
    prompt: str | None = None
    language: str | None = None
    options: dict[str, Any] | None = None


class ScriptStage(StageData):
    content: str | None = None
    mood: str | None = None
    source: str | None = None


class AudioStage(StageData):
    url: str | None = None
    duration: Number | None = None


class KeywordsStage(StageData):
    keywords: list[Any] | None = None


class ClipsStage(StageData):
    clips: list[Any] | None = None


class VideoStage(StageData):
    url: str | None = None
    duration: Number | None = None


class YoutubeStage(StageData):
    url: str | None = None
    video_id: str | None = None


class GenerationState(_Document):
    """One generation's document. ``status`` and ``current_stage`` are derived, never stored."""

    generation_id: str
    initial_params: InitialParams | None = None
    script: ScriptStage | None = None
    audio: AudioStage | None = None
    keywords: KeywordsStage | None = None
    clips: ClipsStage | None = None
    base_video: VideoStage | None = None
    final_video: VideoStage | None = None
    youtube: YoutubeStage | None = None
    created_at: str | None = None
    updated_at: str | None = None
    #: When each stage was last written, kept by the storage (stage name -> ISO time).
    stage_timestamps: dict[str, str] | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> GenerationState:
        """Validate a stored (camelCase) or snake_case mapping; raises pydantic's ``ValidationError``."""
        return cls.model_validate(dict(item))

    def stage(self, stage: Stage) -> StageData | None:
        """The map of ``stage``, None if it was not recorded."""
        return getattr(self, _FIELD_BY_STAGE[stage])

    def stages(self) -> list[tuple[Stage, StageData]]:
        """The stages present, in pipeline order."""
        return [(s, data) for s in STAGES if (data := self.stage(s)) is not None]

    @property
    def current_stage(self) -> Stage | None:
        """The furthest stage recorded."""
        present = self.stages()
        return present[-1][0] if present else None

    @property
    def failed_stage(self) -> Stage | None:
        """The first stage that reports a failure, if any."""
        return next((s for s, data in self.stages() if data.failed), None)

    @property
    def prompt(self) -> str | None:
        return self.initial_params.prompt if self.initial_params else None

    @property
    def language(self) -> str | None:
        return self.initial_params.language if self.initial_params else None

    @property
    def created(self) -> datetime | None:
        return parse_timestamp(self.created_at)

    @property
    def updated(self) -> datetime | None:
        return parse_timestamp(self.updated_at)

    @property
    def phase(self) -> GenerationStatus:
        """Status without the clock: failed, completed or in progress (never stalled)."""
        if self.failed_stage is not None:
            return GenerationStatus.FAILED
        # A final video is the end of the pipeline; the YouTube upload is optional.
        if self.final_video is not None or self.youtube is not None:
            return GenerationStatus.COMPLETED
        return GenerationStatus.IN_PROGRESS

    def status_at(
        self, now: datetime | None = None, stalled_after: timedelta = DEFAULT_STALLED_AFTER
    ) -> GenerationStatus:
        """The status at ``now``: ``phase``, or stalled: in progress, not updated for longer than ``stalled_after``."""
        return status_from(self.phase, self.updated or self.created, now or utcnow(), stalled_after)

    @property
    def status(self) -> GenerationStatus:
        """The status now, with the default stalled threshold."""
        return self.status_at()


_FIELD_BY_STAGE = {
    stage: name
    for stage in Stage
    for name, field in GenerationState.model_fields.items()
    if field.alias == stage.value
}


class ListQuery(BaseModel):
    """Filters, order and paging of ``list_generations``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: GenerationStatus | None = None
    stage: Stage | None = None
    language: str | None = None
    search: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    newest_first: bool = True
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None
    stalled_after: timedelta = DEFAULT_STALLED_AFTER
    #: A failure group (``fingerprints.fingerprint_error``): only the generations that failed so.
    failure: str | None = None


class SkippedDocument(BaseModel):
    """A stored document that ``iter_generations`` could not read, handed to its ``on_skip``."""

    model_config = ConfigDict(frozen=True)

    reason: str
    #: The document's id, when it could be read (a file that is not JSON has none).
    generation_id: str | None = None
    #: Where the backend keeps it, when that names it better than the id (a file name).
    location: str | None = None

    @property
    def label(self) -> str:
        """The id, else the location: what a report names the document by."""
        return self.generation_id or self.location or "(unnamed)"

    @classmethod
    def of(cls, error: StorageError, *, location: str | None = None) -> SkippedDocument:
        """The skip of a document whose read raised ``error`` (its id, if it names one)."""
        reason = getattr(error, "reason", None) or str(error)
        return cls(reason=reason, generation_id=getattr(error, "generation_id", None), location=location)


class Page(BaseModel):
    """One page of results. ``next_cursor`` is None on the last page, ``prev_cursor`` on the first."""

    items: list[GenerationState]
    next_cursor: str | None = None
    prev_cursor: str | None = None


class OperationStats(BaseModel):
    """Calls, failures and times of one operation, counted by this process since it started."""

    calls: int = 0
    errors: int = 0
    total_seconds: float = 0.0
    max_seconds: float = 0.0

    @property
    def average_ms(self) -> float:
        """Mean time per call in milliseconds (0 before the first call)."""
        return 1000 * self.total_seconds / self.calls if self.calls else 0.0

    def record(self, seconds: float, failed: bool) -> None:
        """Count one call (the caller holds whatever lock guards this object)."""
        self.calls += 1
        self.errors += failed
        self.total_seconds += seconds
        self.max_seconds = max(self.max_seconds, seconds)


class StorageMetrics(BaseModel):
    """What ``get_metrics`` reports: the backend, how many generations, per-operation stats."""

    backend: str
    active_generations: int
    operations: dict[str, OperationStats] = Field(default_factory=dict)
    #: Backend-specific extras (file size, retries, throttles, cache age…).
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def total_errors(self) -> int:
        """Failed calls across every operation."""
        return sum(op.errors for op in self.operations.values())


def status_from(phase: GenerationStatus, last_change: datetime | None, now: datetime,
                stalled_after: timedelta) -> GenerationStatus:
    """The status rule: ``phase``, except that one in progress whose last change (updated, else
    created) is older than ``stalled_after`` is stalled. One rule for documents and summaries."""
    waiting = phase is GenerationStatus.IN_PROGRESS and last_change is not None
    return GenerationStatus.STALLED if waiting and now - last_change > stalled_after else phase


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as JavaScript's ``toISOString()`` writes."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(value: str | None) -> datetime | None:
    """Parse a stored ISO time (naive times are taken as UTC); None if absent or unreadable."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

