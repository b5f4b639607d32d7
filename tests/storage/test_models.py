from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from storage_backends import GenerationState, GenerationStatus, Stage
from storage_backends.models import format_timestamp, parse_timestamp

from ..factories import completed_stages, make_item

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def state(**stages):
    return GenerationState.from_item(make_item("g", updated_at=format_timestamp(NOW), **stages))


def test_stage_enum_is_the_pipeline_in_order():
    assert [s.value for s in Stage] == ["initialParams", "script", "audio", "keywords", "clips",
                                       "baseVideo", "finalVideo", "youtube"]
    assert Stage.AUDIO.index == 2


def test_both_names_are_accepted_and_camel_case_is_stored():
    by_alias = GenerationState.model_validate({"generationId": "g", "baseVideo": {"url": "u"}})
    by_name = GenerationState(generation_id="g", base_video={"url": "u"})
    assert by_alias == by_name
    assert by_name.to_item() == {"generationId": "g", "baseVideo": {"url": "u"}}
    assert by_name.model_dump(by_alias=True, exclude_unset=True) == by_name.to_item()


def test_types_are_never_coerced():
    with pytest.raises(ValidationError):
        GenerationState.model_validate({"generationId": "g", "audio": {"duration": "3"}})
    kept = GenerationState.model_validate({"generationId": "g", "audio": {"weird": True}})
    assert kept.to_item()["audio"]["weird"] is True


@pytest.mark.parametrize("stages, status, current", [
    ({}, GenerationStatus.IN_PROGRESS, Stage.INITIAL_PARAMS),
    ({"script": {"content": "x"}}, GenerationStatus.IN_PROGRESS, Stage.SCRIPT),
    ({"script": {"content": "x"}, "audio": {"status": "failed"}}, GenerationStatus.FAILED, Stage.AUDIO),
    ({"script": {"error": "LLM timeout"}}, GenerationStatus.FAILED, Stage.SCRIPT),
    ({"script": {"error": None}}, GenerationStatus.IN_PROGRESS, Stage.SCRIPT),
    (completed_stages(), GenerationStatus.COMPLETED, Stage.FINAL_VIDEO),
    ({**completed_stages(), "youtube": {"url": "https://youtu.be/x"}}, GenerationStatus.COMPLETED, Stage.YOUTUBE),
])
def test_status_and_current_stage_are_derived(stages, status, current):
    derived = state(**stages)
    assert derived.status_at(NOW) is status
    assert derived.current_stage is current


def test_in_progress_becomes_stalled_after_the_threshold():
    derived = state(script={"content": "x"})
    assert derived.status_at(NOW + timedelta(minutes=29)) is GenerationStatus.IN_PROGRESS
    assert derived.status_at(NOW + timedelta(minutes=31)) is GenerationStatus.STALLED
    assert derived.status_at(NOW + timedelta(minutes=6), stalled_after=timedelta(minutes=5)) is GenerationStatus.STALLED
    finished = state(**completed_stages())
    assert finished.status_at(NOW + timedelta(days=9)) is GenerationStatus.COMPLETED


def test_failed_stage_is_the_first_failure():
    derived = state(script={"content": "x"}, audio={"status": "failed", "error": "quota"})
    assert derived.failed_stage is Stage.AUDIO
    assert derived.stage(Stage.AUDIO).error == "quota"


def test_timestamps_format_and_parse():
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=timezone.utc)) == "2026-01-02T03:04:05.678Z"
    assert parse_timestamp("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_timestamp("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_timestamp("yesterday") is None
