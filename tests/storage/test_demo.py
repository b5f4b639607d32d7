"""The demo data: realistic, varied, consistent in its times, and the same for the same seed."""

from __future__ import annotations

import functools
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from storage_backends import STAGES, GenerationState, GenerationStatus, InsightsQuery, Stage
from storage_backends.demo import (
    BURST_CAUSE,
    BURST_STAGE,
    ERRORS,
    STAGE_SECONDS,
    burst_start,
    demo_generations,
    error_of,
)
from storage_backends.fingerprints import error_message, failure_of, fingerprint_error
from storage_backends.insights import insights_of
from storage_backends.models import format_timestamp, parse_timestamp

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@functools.lru_cache(maxsize=4)
def states(count=2000, seed=0):
    return tuple(GenerationState.from_item(item) for item in demo_generations(count, seed=seed, now=NOW))


@functools.lru_cache(maxsize=1)
def last_week():
    return insights_of(states(), InsightsQuery(created_after=NOW - timedelta(days=8), created_before=NOW), NOW)


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
    groups = cause_groups()
    for state in generated:
        if state.failed_stage:
            assert state.stage(state.failed_stage).status == "failed"
            assert failure_of(state) in groups[state.failed_stage], state.stage(state.failed_stage).error


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
        assert NOW - timedelta(days=8) < parse_timestamp(state.created_at) <= parse_timestamp(state.updated_at) <= NOW
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


# -- what makes the insights page worth looking at --------------------------------------------


def cause_groups() -> dict[Stage, set[str]]:
    """The failure group of each cause, by stage (drawn twice: its volatile parts never split it)."""
    groups: dict[Stage, set[str]] = {}
    for stage, causes in ERRORS.items():
        for cause in causes:
            first, second = (fingerprint_error(stage, error_of(cause, random.Random(n))) for n in (1, 2))
            assert first == second, cause.template
            groups.setdefault(stage, set()).add(first)
    return groups


def test_every_cause_is_its_own_group():
    groups = cause_groups()
    assert [len(groups[stage]) for stage in ERRORS] == [len(causes) for causes in ERRORS.values()]
    assert sum(map(len, groups.values())) >= 15


def test_the_failed_share_stays_about_a_fifth():
    statuses = Counter(state.status_at(NOW) for state in states())
    assert 0.19 <= statuses[GenerationStatus.FAILED] / 2000 <= 0.25


def test_recurring_causes_read_differently_and_group_together():
    failed = [state for state in states() if state.failed_stage]
    messages: dict[str, set[str]] = {}
    for state in failed:
        messages.setdefault(failure_of(state), set()).add(error_message(state.stage(state.failed_stage).error))
    assert len(messages) >= 15
    # Most groups hold many distinct messages: request ids, sizes, URLs and file names differ.
    assert sum(len(found) >= 5 for found in messages.values()) >= 12
    assert sum(map(len, messages.values())) >= 8 * len(messages)
    # Some errors are maps, as API clients report them; they group by their message.
    assert any(isinstance(state.stage(state.failed_stage).error, dict) for state in failed)


def test_one_cause_bursts_in_one_hour_of_the_last_day():
    start = burst_start(seed=0, now=NOW)
    assert NOW - timedelta(hours=24) <= start <= NOW - timedelta(hours=2) and start.minute == 0
    last_day = insights_of(states(), InsightsQuery(created_after=NOW - timedelta(hours=24), created_before=NOW), NOW)
    burst = fingerprint_error(BURST_STAGE, error_of(ERRORS[BURST_STAGE][BURST_CAUSE], random.Random(0)))
    top = last_day.failures[0]
    assert top.fingerprint == burst and top.stage is BURST_STAGE
    peak = max(range(len(top.by_bucket)), key=top.by_bucket.__getitem__)
    assert last_day.buckets[peak].start == start
    others = top.by_bucket[:peak] + top.by_bucket[peak + 1:]
    assert top.by_bucket[peak] >= 15 and top.by_bucket[peak] >= 5 * max(others)
    # The burst hour fails far more than the others.
    rates = [bucket.failure_rate or 0 for bucket in last_day.buckets]
    assert rates[peak] == max(rates) and rates[peak] > 0.5
    # Another seed bursts in another hour.
    assert burst_start(seed=1, now=NOW) != start


@pytest.mark.parametrize("stage", STAGES[1:], ids=str)
def test_stage_durations_spread_like_real_ones(stage):
    stats = last_week().stage_durations[stage]
    median, _ = STAGE_SECONDS[stage]
    assert stats.count >= 100
    assert median * 0.8 <= stats.p50 <= median * 1.3
    assert stats.p90 >= 1.4 * stats.p50 and stats.max >= 3 * stats.p50  # a spread and a long tail
    assert sum(bucket.count > 0 for bucket in stats.histogram) >= 3


def test_the_contents_do_not_depend_on_the_clock():
    """Only the times move with ``now`` (a re-run of seed_demo replaces the same documents)."""
    def without_times(documents):
        return [{k: v for k, v in document.items() if k not in ("createdAt", "updatedAt", "stageTimestamps")}
                for document in documents]

    later = NOW + timedelta(hours=5, minutes=17)
    assert without_times(demo_generations(300, seed=4, now=NOW)) == without_times(
        demo_generations(300, seed=4, now=later))
