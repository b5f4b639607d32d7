"""The demo data: realistic, varied, consistent in its times, and the same for the same seed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from storage_backends import STAGES, GenerationState, GenerationStatus, Stage
from storage_backends.demo import ERRORS, demo_generations
from storage_backends.models import format_timestamp, parse_timestamp

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def states(count=2000, seed=0):
    return [GenerationState.from_item(item) for item in demo_generations(count, seed=seed, now=NOW)]


def test_same_seed_same_documents_and_a_longer_run_starts_with_them():
    first = list(demo_generations(50, seed=7, now=NOW))
    assert first == list(demo_generations(50, seed=7, now=NOW))
    assert list(demo_generations(80, seed=7, now=NOW))[:50] == first
    assert first != list(demo_generations(50, seed=8, now=NOW))


def test_ids_are_derived_from_seed_and_index():
    ids = [item["generationId"] for item in demo_generations(3, seed=42, now=NOW)]
    assert ids == ["demo-42-000000", "demo-42-000001", "demo-42-000002"]


def test_every_status_and_a_failure_at_every_stage():
    generated = states()
    statuses = Counter(state.status_at(NOW) for state in generated)
    assert set(statuses) == set(GenerationStatus)
    assert statuses[GenerationStatus.COMPLETED] > statuses[GenerationStatus.FAILED] > 0
    failed_at = {state.failed_stage for state in generated if state.failed_stage}
    assert failed_at == set(STAGES[1:])
    for state in generated:
        if state.failed_stage:
            data = state.stage(state.failed_stage)
            assert data.status == "failed" and data.error in ERRORS[state.failed_stage]


def test_languages_aspect_ratios_and_non_ascii_prompts():
    generated = states()
    assert {"en", "es", "fr", "de", "ja", "pt"} <= {state.language for state in generated}
    assert {state.initial_params.options["aspectRatio"] for state in generated} == {"16:9", "9:16", "1:1"}
    assert any(not state.prompt.isascii() for state in generated)
    assert max(len(state.script.content or "") for state in generated if state.script) > 2000


def test_times_are_consistent_and_in_the_last_days():
    for state in states():
        times = [state.stage_timestamps[stage.value] for stage, _ in state.stages()]
        assert list(state.stage_timestamps) == [stage.value for stage, _ in state.stages()]
        assert times == sorted(times)
        assert state.created_at == times[0] and state.updated_at == times[-1]
        assert NOW - timedelta(days=8) < parse_timestamp(state.created_at) <= NOW
        assert format_timestamp(parse_timestamp(state.updated_at)) == state.updated_at


def test_stalled_ones_were_last_updated_long_ago_and_in_progress_ones_recently():
    for state in states():
        age = NOW - parse_timestamp(state.updated_at)
        if state.status_at(NOW) is GenerationStatus.STALLED:
            assert age > timedelta(minutes=30)
        elif state.status_at(NOW) is GenerationStatus.IN_PROGRESS:
            assert age < timedelta(minutes=30)


def test_media_urls_are_https_and_completed_ones_have_their_video():
    for state in states(500):
        for stage in (Stage.AUDIO, Stage.BASE_VIDEO, Stage.FINAL_VIDEO, Stage.YOUTUBE):
            data = state.stage(stage)
            if data is not None and not data.failed:
                assert data.url.startswith("https://")
        if state.clips and not state.clips.failed:
            assert all(clip["url"].startswith("https://cdn.example.com/") and clip["duration"] > 0
                       for clip in state.clips.clips)
        if state.status_at(NOW) is GenerationStatus.COMPLETED:
            assert state.final_video.url.endswith("/final.mp4")
