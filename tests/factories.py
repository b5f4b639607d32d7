"""Builders of realistic generation documents for tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from storage_backends.models import format_timestamp

BASE_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def iso(moment: datetime) -> str:
    return format_timestamp(moment)


def at_minute(minutes: int) -> str:
    """``minutes`` after ``BASE_TIME``, as stored."""
    return iso(BASE_TIME + timedelta(minutes=minutes))


def ago(**delta: float) -> str:
    return iso(datetime.now(timezone.utc) - timedelta(**delta))


def make_item(generation_id: str, *, prompt: str = "A video about otters", language: str = "en",
              created_at: str | None = None, updated_at: str | None = None, **stages: Any) -> dict[str, Any]:
    """A stored-form document with initial params, the given stage maps and optional times."""
    item: dict[str, Any] = {
        "generationId": generation_id,
        "initialParams": {"prompt": prompt, "language": language, "options": {"aspectRatio": "16:9"}},
        **stages,
    }
    if created_at is not None:
        item["createdAt"] = created_at
    if updated_at is not None:
        item["updatedAt"] = updated_at
    return item


def completed_stages() -> dict[str, Any]:
    return {
        "script": {"content": "Otters hold hands.\nThey sleep.", "mood": "calm", "source": "generated"},
        "audio": {"url": "https://cdn.example.com/a.mp3", "duration": 31.5},
        "keywords": {"keywords": ["otter", "river"]},
        "clips": {"clips": [{"url": "https://cdn.example.com/c1.mp4", "duration": 4}]},
        "baseVideo": {"url": "https://cdn.example.com/base.mp4"},
        "finalVideo": {"url": "https://cdn.example.com/final.mp4", "duration": 31.5},
    }
