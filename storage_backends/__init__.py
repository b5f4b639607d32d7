"""Generation-state storage for Video Gennie: one interface, pluggable backends.

    from storage_backends import StorageFactory
    storage = StorageFactory.from_url("sqlite:///var/generations.sqlite3")

Framework-free: nothing here imports Django.
"""

from .base import GenerationStateStorage, OnSkip
from .errors import (
    StorageCorruptDocumentError,
    StorageError,
    StorageInitializationError,
    StorageNotFoundError,
    StorageOperationError,
    StorageValidationError,
)
from .factory import BACKEND_ALIASES, StorageFactory
from .fingerprints import describe_error, fingerprint_error
from .insights import DurationStats, FailureGroup, HistogramBin, Insights, InsightsBucket, InsightsQuery
from .models import (
    DEFAULT_STALLED_AFTER,
    STAGES,
    AudioStage,
    ClipsStage,
    GenerationState,
    GenerationStatus,
    InitialParams,
    KeywordsStage,
    ListQuery,
    OperationStats,
    Page,
    ScriptStage,
    SkippedDocument,
    Stage,
    StageData,
    StorageMetrics,
    VideoStage,
    YoutubeStage,
)
from .summaries import GenerationSummary, SummaryPage

__all__ = [
    "DurationStats",
    "FailureGroup",
    "HistogramBin",
    "Insights",
    "InsightsBucket",
    "InsightsQuery",
    "describe_error",
    "fingerprint_error",
    "BACKEND_ALIASES",
    "DEFAULT_STALLED_AFTER",
    "STAGES",
    "AudioStage",
    "ClipsStage",
    "GenerationState",
    "GenerationStateStorage",
    "GenerationStatus",
    "GenerationSummary",
    "InitialParams",
    "KeywordsStage",
    "ListQuery",
    "OperationStats",
    "Page",
    "OnSkip",
    "ScriptStage",
    "SkippedDocument",
    "Stage",
    "StageData",
    "StorageCorruptDocumentError",
    "StorageError",
    "StorageFactory",
    "StorageInitializationError",
    "StorageMetrics",
    "StorageNotFoundError",
    "StorageOperationError",
    "StorageValidationError",
    "SummaryPage",
    "VideoStage",
    "YoutubeStage",
]
