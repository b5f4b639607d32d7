"""The stage timeline selector: states, times, durations and bars, without Django."""

from __future__ import annotations

from datetime import timedelta

from gennie_admin.presentation.timeline import MIN_BAR_PERCENT, StepState, TimeSource, build_timeline
from storage_backends import GenerationState, Stage
from tests.factories import BASE_TIME, completed_stages, iso, make_item


def at(seconds: float) -> str:
    return iso(BASE_TIME + timedelta(seconds=seconds))


def state_of(item: dict) -> GenerationState:
    return GenerationState.from_item(item)


def timed(stages: dict, times: dict[str, float], **item) -> GenerationState:
    """A document with the given stages and a stageTimestamps map in seconds after BASE_TIME."""
    return state_of(make_item(
        "gen-1", created_at=at(0), updated_at=at(max(times.values())),
        stageTimestamps={name: at(seconds) for name, seconds in times.items()}, **stages, **item,
    ))


def states(timeline) -> list[StepState]:
    return [row.state for row in timeline.rows]


def test_completed_generation_has_every_stage_done_but_the_optional_upload():
    times = {"initialParams": 0, "script": 10, "audio": 30, "keywords": 35, "clips": 60,
             "baseVideo": 90, "finalVideo": 100}
    timeline = build_timeline(timed(completed_stages(), times), now=BASE_TIME + timedelta(days=1))

    assert [row.stage for row in timeline.rows] == list(Stage)
    assert states(timeline) == [StepState.DONE] * 7 + [StepState.PENDING]
    assert timeline.final
    assert not timeline.approximate
    assert timeline.total_seconds == 100
    assert [row.seconds for row in timeline.rows] == [None, 10, 20, 5, 25, 30, 10, None]


def test_bars_are_proportional_and_follow_each_other():
    times = {"initialParams": 0, "script": 25, "audio": 100}
    stages = {key: completed_stages()[key] for key in ("script", "audio")}
    timeline = build_timeline(timed(stages, times), now=BASE_TIME + timedelta(seconds=100))
    script, audio = timeline.rows[1], timeline.rows[2]

    assert (script.bar_start, script.bar_width) == (0.0, 25.0)
    assert (audio.bar_start, audio.bar_width) == (25.0, 75.0)
    # An instant stage still gets a visible sliver; a pending one none.
    assert timeline.rows[0].bar_width == MIN_BAR_PERCENT
    assert timeline.rows[4].bar_width == 0.0


def test_in_progress_generation_runs_the_next_stage_and_counts_until_now():
    stages = {"script": completed_stages()["script"]}
    now = BASE_TIME + timedelta(seconds=40)
    timeline = build_timeline(timed(stages, {"initialParams": 0, "script": 10}), now=now)

    assert states(timeline) == [StepState.DONE, StepState.DONE, StepState.RUNNING] + [StepState.PENDING] * 5
    running = timeline.rows[2]
    assert running.at is None
    assert running.seconds == 30
    assert (running.bar_start, running.bar_width) == (25.0, 75.0)
    assert not timeline.final
    assert timeline.ended == now


def test_failed_stage_is_marked_with_its_error_and_later_stages_stay_pending():
    stages = {"script": completed_stages()["script"], "audio": {"error": "TTS quota exceeded"}}
    timeline = build_timeline(timed(stages, {"initialParams": 0, "script": 5, "audio": 9}),
                              now=BASE_TIME + timedelta(hours=1))

    assert states(timeline)[:4] == [StepState.DONE, StepState.DONE, StepState.FAILED, StepState.PENDING]
    assert timeline.failed_stage is Stage.AUDIO
    assert timeline.rows[2].error == "TTS quota exceeded"
    assert timeline.final
    assert timeline.ended == BASE_TIME + timedelta(seconds=9)


def test_failed_status_without_message_and_structured_errors():
    marked = build_timeline(state_of(make_item("g", script={"status": "failed"})), now=BASE_TIME)
    structured = build_timeline(state_of(make_item("g", script={"error": {"code": 429}})), now=BASE_TIME)

    assert marked.rows[1].state is StepState.FAILED and marked.rows[1].error is None
    assert structured.rows[1].error == '{\n  "code": 429\n}'


def test_document_without_stage_times_falls_back_to_created_and_updated_and_says_so():
    stages = {key: completed_stages()[key] for key in ("script", "audio", "keywords")}
    item = make_item("old", created_at=at(0), updated_at=at(120), **stages)
    timeline = build_timeline(state_of(item), now=BASE_TIME + timedelta(days=1))
    initial, script, audio, keywords = timeline.rows[:4]

    assert timeline.approximate
    assert (initial.at, initial.time_source) == (BASE_TIME, TimeSource.CREATED)
    assert (keywords.at, keywords.time_source) == (BASE_TIME + timedelta(seconds=120), TimeSource.UPDATED)
    assert "createdAt" in initial.time_note and "updatedAt" in keywords.time_note
    # The stages between have no known time, and the last one's duration spans them.
    assert script.at is None and audio.at is None and script.state is StepState.DONE
    assert keywords.seconds == 120


def test_re_run_stage_recorded_before_its_predecessor_has_no_negative_duration():
    stages = {key: completed_stages()[key] for key in ("script", "audio")}
    timeline = build_timeline(timed(stages, {"initialParams": 0, "script": 50, "audio": 20}),
                              now=BASE_TIME + timedelta(days=1))
    audio = timeline.rows[2]

    assert audio.out_of_order
    assert audio.seconds is None
    assert 0 <= audio.bar_start <= 100 and audio.bar_width > 0


def test_document_without_any_stage_or_time():
    timeline = build_timeline(state_of({"generationId": "bare"}), now=BASE_TIME)

    assert states(timeline) == [StepState.RUNNING] + [StepState.PENDING] * 7
    assert timeline.started is None and timeline.total_seconds is None
    assert all(row.bar_width == 0 for row in timeline.rows)
