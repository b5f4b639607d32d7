"""``insights`` and the ``ListQuery.failure`` filter on every backend: the contract's figures.

Every backend gives the same figures for the same documents, whether it adds them up in one pass
(memory, file) or keeps sums as documents are written (SQLite, DynamoDB). So besides known sets
with hard-coded answers, these tests move generations between hours, statuses and groups with
every kind of write (``save``, ``save_many`` replacing, ``update``, ``delete``) and check that
nothing is counted twice, left behind or lost; and after a random run of writes, that the figures
are those of the one-pass sum of the documents as they are stored.

Not covered on purpose: insights after ``cleanup`` (DynamoDB's rollups outlive the documents, so
last week's trend remains; the other backends count what is left).
"""

from __future__ import annotations

import contextlib
import math
import random
import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from storage_backends import (
    STAGES,
    GenerationStatus,
    Insights,
    InsightsQuery,
    ListQuery,
    Stage,
    StorageNotFoundError,
    StorageValidationError,
)
from storage_backends.backends.sqlite import insights as sqlite_insights
from storage_backends.fingerprints import describe_error, fingerprint_error
from storage_backends.insights import insights_of
from storage_backends.models import utcnow

from ..factories import completed_stages, iso, make_item

COMPLETED, FAILED = GenerationStatus.COMPLETED, GenerationStatus.FAILED
IN_PROGRESS, STALLED = GenerationStatus.IN_PROGRESS, GenerationStatus.STALLED

TTS = "TTS provider answered 429: quota exceeded (request {})"
OOM = "ffmpeg exited with code 137 (killed: out of memory, pid {})"
CLIP = "Clip download failed: 404 Not Found for https://cdn.example.com/stock/{}.mp4"
INVALID = "ffmpeg exited with code 1: Invalid data found when processing input"

TTS_GROUP = fingerprint_error(Stage.AUDIO, TTS.format("7f3a9c"))
OOM_GROUP = fingerprint_error(Stage.BASE_VIDEO, OOM.format(1))
CLIP_GROUP = fingerprint_error(Stage.CLIPS, CLIP.format("ocean"))
INVALID_GROUP = fingerprint_error(Stage.BASE_VIDEO, INVALID)
#: Keywords failed without saying why: a group with an empty message.
SILENT_GROUP = fingerprint_error(Stage.KEYWORDS, None)


def anchor() -> datetime:
    """Three whole hours ago: hour 0 of the known sets, so that all of them lies in the past."""
    return utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def window(start: datetime, hours: float = 3, **options) -> InsightsQuery:
    return InsightsQuery(created_after=start, created_before=start + timedelta(hours=hours), **options)


# -- documents ------------------------------------------------------------------------------

_PIPELINE = list(completed_stages())  # script, audio, keywords, clips, baseVideo, finalVideo


def failed_at(stage: Stage, error: object = None) -> dict:
    """The stage maps of a generation that got as far as ``stage`` and failed there."""
    stages = {name: data for name, data in completed_stages().items()
              if _PIPELINE.index(name) < _PIPELINE.index(stage.value)}
    stages[stage.value] = {"status": "failed", "error": error} if error is not None else {"status": "failed"}
    return stages


def document(generation_id: str, created: datetime, kind: str, error: object = None, *, stage: Stage | None = None,
             language: str = "en") -> dict:
    """A stored-form generation created at ``created``: ``completed``, ``in_progress`` (updated a
    minute ago), ``stalled`` (updated five minutes after it was created, hours ago) or ``failed``
    at ``stage`` with ``error``."""
    updated = created + timedelta(minutes=5)
    if kind == "completed":
        stages = completed_stages()
    elif kind == "failed":
        stages = failed_at(stage, error)
    else:
        stages = {"script": {"content": "Otters hold hands."}}
        if kind == "in_progress":
            updated = utcnow() - timedelta(minutes=1)
    return make_item(generation_id, language=language, created_at=iso(created), updated_at=iso(updated), **stages)


def at(start: datetime, minutes: float = 0, **delta: float) -> datetime:
    return start + timedelta(minutes=minutes, **delta)


def known_set(start: datetime) -> list[dict]:
    """Three hours of generations of every status and four failure groups, and a few just outside."""
    def failed(generation_id, minutes, stage, error=None, **delta):
        return document(generation_id, at(start, minutes, **delta), "failed", error, stage=stage)

    return [
        # hour 0: 3 completed, 2 failed, 1 in progress, 1 stalled
        document("h0-c1", start, "completed"),  # exactly at the window's start: counted
        document("h0-c2", at(start, 5), "completed"),
        document("h0-c3", at(start, 40), "completed"),
        failed("h0-f1", 15, Stage.AUDIO, TTS.format("7f3a9c")),
        failed("h0-f2", 50, Stage.BASE_VIDEO, OOM.format(4412)),
        document("h0-p1", at(start, 30), "in_progress"),
        document("h0-s1", at(start, 20), "stalled"),
        # hour 1: 1 completed, 5 failed, 2 stalled
        document("h1-c1", at(start, 70), "completed"),
        failed("h1-f1", 65, Stage.AUDIO, TTS.format("0b12ee")),
        failed("h1-f2", 80, Stage.AUDIO, {"message": TTS.format("9ac41d"), "code": 429}),
        failed("h1-f3", 105, Stage.AUDIO, TTS.format("31b07f")),
        failed("h1-f4", 90, Stage.CLIPS, CLIP.format("ocean-0417")),
        failed("h1-f5", 95, Stage.KEYWORDS),
        document("h1-s1", at(start, 75), "stalled"),
        document("h1-s2", at(start, 110), "stalled"),
        # hour 2: 2 completed, 5 failed, 2 in progress
        document("h2-c1", at(start, 120), "completed"),
        document("h2-c2", at(start, 150), "completed"),
        failed("h2-f1", 130, Stage.AUDIO, TTS.format("e4d2c8")),
        failed("h2-f2", 179, Stage.AUDIO, TTS.format("5b6a7c"), seconds=59, milliseconds=999),
        failed("h2-f3", 140, Stage.BASE_VIDEO, OOM.format(977)),
        failed("h2-f4", 145, Stage.KEYWORDS),
        failed("h2-f5", 160, Stage.KEYWORDS),
        document("h2-p1", at(start, 125), "in_progress"),
        document("h2-p2", at(start, 170), "in_progress"),
        # outside [start, start + 3 h)
        failed("out-before", 0, Stage.AUDIO, TTS.format("aa00bb"), milliseconds=-1),
        failed("out-after", 180, Stage.AUDIO, TTS.format("cc11dd")),  # exactly at the end: not counted
        document("out-old", at(start, -300), "completed"),
    ]


#: Every raw message of the TTS group in ``known_set``, whichever a backend picks as its example.
TTS_MESSAGES = {TTS.format(request) for request in ("7f3a9c", "0b12ee", "9ac41d", "31b07f", "e4d2c8", "5b6a7c",
                                                    "aa00bb", "cc11dd", "aa11bb", "0c0c0c")}


def counts(completed=0, failed=0, in_progress=0, stalled=0) -> dict[GenerationStatus, int]:
    return {COMPLETED: completed, FAILED: failed, IN_PROGRESS: in_progress, STALLED: stalled}


def bucket_counts(result: Insights) -> list[dict[GenerationStatus, int]]:
    return [bucket.counts for bucket in result.buckets]


def groups(result: Insights) -> dict[str, int]:
    return {group.fingerprint: group.count for group in result.failures}


def group(result: Insights, fingerprint: str):
    (found,) = [group for group in result.failures if group.fingerprint == fingerprint]
    return found


def stored(storage, make_set) -> tuple:
    """``storage`` holding ``make_set(anchor())``, and that anchor."""
    start = anchor()
    storage.save_many(make_set(start), preserve_timestamps=True)
    return storage, start


@pytest.fixture
def known(storage):
    return stored(storage, known_set)


# -- buckets --------------------------------------------------------------------------------


def test_counts_per_hour_by_status(known):
    storage, start = known
    result = storage.insights(window(start))
    assert [bucket.start for bucket in result.buckets] == [at(start, 60 * n) for n in range(3)]
    assert all(bucket.start.utcoffset() == timedelta(0) for bucket in result.buckets)
    assert bucket_counts(result) == [counts(3, 2, 1, 1), counts(1, 5, 0, 2), counts(2, 5, 2, 0)]
    assert [bucket.total for bucket in result.buckets] == [7, 8, 9]
    assert [bucket.failure_rate for bucket in result.buckets] == [2 / 5, 5 / 6, 5 / 7]


def test_the_window_includes_its_start_and_excludes_its_end(known):
    """Hour -1 holds only the generation a millisecond before the start, hour 3 only the one at the end."""
    storage, start = known
    wider = storage.insights(window(at(start, -60), hours=5))
    assert bucket_counts(wider) == [counts(failed=1), counts(3, 2, 1, 1), counts(1, 5, 0, 2), counts(2, 5, 2, 0),
                                    counts(failed=1)]
    assert groups(wider)[TTS_GROUP] == 8
    tts = group(wider, TTS_GROUP)
    assert tts.by_bucket == [1, 1, 3, 2, 1]
    assert (tts.first_seen, tts.last_seen) == (at(start, milliseconds=-1), at(start, 180))
    assert groups(storage.insights(window(start)))[TTS_GROUP] == 6


def test_a_window_is_widened_to_whole_buckets(known):
    """Sums are kept per hour: [0:30, 2:30) counts hours 0 to 2 whole, as [0:00, 3:00) does, and
    [0:00, 2:00:00.001) reaches to the end of hour 2 (InsightsQuery's contract)."""
    storage, start = known
    whole = storage.insights(window(start))
    assert storage.insights(InsightsQuery(created_after=at(start, 30), created_before=at(start, 150))) == whole
    assert storage.insights(InsightsQuery(created_after=at(start, 59, seconds=59),
                                          created_before=at(start, 120, milliseconds=1))) == whole
    by_day = storage.insights(InsightsQuery(created_after=at(start, 30), created_before=at(start, 31), bucket="day"))
    assert by_day.buckets[0].start == start.replace(hour=0)


def test_stalled_is_taken_with_the_query_threshold_at_the_time_of_the_call(known):
    storage, start = known
    patient = storage.insights(window(start, stalled_after=timedelta(days=1)))
    assert bucket_counts(patient) == [counts(3, 2, 2, 0), counts(1, 5, 2, 0), counts(2, 5, 2, 0)]
    impatient = storage.insights(window(start, stalled_after=timedelta(seconds=20)))
    assert bucket_counts(impatient) == [counts(3, 2, 0, 2), counts(1, 5, 0, 2), counts(2, 5, 0, 2)]


def test_day_buckets(storage):
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=2)
    storage.save_many([
        document("d0-c", first, "completed"),  # exactly at the start of the window and of the day
        document("d0-f1", at(first, 300), "failed", TTS.format("7f3a9c"), stage=Stage.AUDIO),
        document("d0-f2", at(first, 23 * 60 + 59, seconds=59, milliseconds=999), "failed", TTS.format("0b12ee"),
                 stage=Stage.AUDIO),
        document("d1-c", at(first, 25 * 60), "completed"),
        document("d1-f", at(first, 36 * 60), "failed", OOM.format(7), stage=Stage.BASE_VIDEO),
        document("d1-s", at(first, 26 * 60), "stalled"),
        document("d2-c", today, "completed"),
        document("out", at(first, milliseconds=-1), "failed", TTS.format("aa00bb"), stage=Stage.AUDIO),
    ], preserve_timestamps=True)
    query = InsightsQuery(created_after=first, created_before=today + timedelta(days=1), bucket="day")
    result = storage.insights(query)
    assert [bucket.start for bucket in result.buckets] == [first, first + timedelta(days=1), today]
    assert bucket_counts(result) == [counts(1, 2), counts(1, 1, 0, 1), counts(1)]
    assert groups(result) == {TTS_GROUP: 2, OOM_GROUP: 1}
    assert group(result, TTS_GROUP).by_bucket == [2, 0, 0]
    assert group(result, OOM_GROUP).by_bucket == [0, 1, 0]
    # The same window by the hour adds up to the same days.
    hourly = storage.insights(query.model_copy(update={"bucket": "hour"}))
    assert len(hourly.buckets) == 72
    for day, bucket in enumerate(result.buckets):
        hours = hourly.buckets[24 * day: 24 * day + 24]
        assert {status: sum(hour.counts[status] for hour in hours) for status in GenerationStatus} == bucket.counts


def test_created_times_count_in_their_utc_hour_whatever_their_form(storage):
    """Other producers write times with an offset, without milliseconds or without a zone (UTC)."""
    start = anchor()
    local = (start + timedelta(minutes=90)).astimezone(timezone(timedelta(hours=2)))
    items = [document(f"g{n}", start, "completed") for n in range(3)]
    items[0]["createdAt"] = local.isoformat()  # hour 1, written as +02:00
    items[1]["createdAt"] = (start + timedelta(minutes=150)).strftime("%Y-%m-%dT%H:%M:%S")  # hour 2, naive
    items[2]["createdAt"] = (start + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")  # hour 0, whole seconds
    storage.save_many(items, preserve_timestamps=True)
    assert bucket_counts(storage.insights(window(start))) == [counts(1), counts(1), counts(1)]


def test_generations_without_a_readable_created_time_belong_to_no_window(storage):
    start = anchor()
    undated = document("undated", start, "completed")
    del undated["createdAt"]
    garbled = {**document("garbled", start, "failed", TTS.format("7f3a9c"), stage=Stage.AUDIO),
               "createdAt": "yesterday"}
    storage.save_many([undated, garbled, document("dated", start, "completed")], preserve_timestamps=True)
    result = storage.insights(window(start, hours=4))
    assert sum(bucket.total for bucket in result.buckets) == 1 and result.failures == []


def test_an_empty_window(known):
    storage, start = known
    result = storage.insights(window(at(start, -24 * 60), hours=2))
    assert bucket_counts(result) == [counts(), counts()]
    assert result.failures == [] and result.stage_durations == {}
    assert [bucket.failure_rate for bucket in result.buckets] == [None, None]


# -- failure groups -------------------------------------------------------------------------


def test_failure_groups_most_frequent_first(known):
    storage, start = known
    result = storage.insights(window(start))
    assert [(group.fingerprint, group.count) for group in result.failures] == [
        (TTS_GROUP, 6), (SILENT_GROUP, 3), (OOM_GROUP, 2), (CLIP_GROUP, 1)]
    for found in result.failures:
        assert sum(found.by_bucket) == found.count
        assert len(found.by_bucket) == len(result.buckets)
        assert found.first_seen <= found.last_seen


def test_a_failure_group_says_where_what_when_and_who(known):
    storage, start = known
    tts = group(storage.insights(window(start)), TTS_GROUP)
    assert tts.stage is Stage.AUDIO
    assert tts.message == describe_error(TTS.format("7f3a9c"))
    assert tts.message == "TTS provider answered <n>: quota exceeded (request <n>)"
    assert tts.example_message in TTS_MESSAGES
    # Up to five, latest first; the error map's message counts as the same cause.
    assert tts.example_ids == ["h2-f2", "h2-f1", "h1-f3", "h1-f2", "h1-f1"]
    # The created times of the earliest and the latest in the window (not of the ones outside).
    assert (tts.first_seen, tts.last_seen) == (at(start, 15), at(start, 179, seconds=59, milliseconds=999))
    assert tts.by_bucket == [1, 3, 2]


def test_the_other_groups_of_the_known_set(known):
    storage, start = known
    result = storage.insights(window(start))
    silent, oom, clip = group(result, SILENT_GROUP), group(result, OOM_GROUP), group(result, CLIP_GROUP)
    assert (silent.stage, silent.message, silent.example_message) == (Stage.KEYWORDS, "", "")
    assert silent.example_ids == ["h2-f5", "h2-f4", "h1-f5"] and silent.by_bucket == [0, 1, 2]
    assert oom.stage is Stage.BASE_VIDEO
    assert oom.message == "ffmpeg exited with code <n> (killed: out of memory, pid <n>)"
    assert oom.example_message in {OOM.format(4412), OOM.format(977)}
    assert oom.example_ids == ["h2-f3", "h0-f2"] and oom.by_bucket == [1, 0, 1]
    assert (oom.first_seen, oom.last_seen) == (at(start, 50), at(start, 140))
    assert (clip.stage, clip.example_message, clip.example_ids) == (Stage.CLIPS, CLIP.format("ocean-0417"), ["h1-f4"])
    assert clip.message == "Clip download failed: <n> Not Found for https://cdn.example.com/<path>"
    assert clip.first_seen == clip.last_seen == at(start, 90)


def test_max_groups_keeps_the_most_frequent(known):
    storage, start = known
    result = storage.insights(window(start, max_groups=2))
    assert [group.fingerprint for group in result.failures] == [TTS_GROUP, SILENT_GROUP]
    assert bucket_counts(result)[1] == counts(1, 5, 0, 2)  # the buckets count every failure still


def test_a_long_message_is_cut_in_the_example(storage):
    start = anchor()
    long = "TTS provider answered 429: " + "quota exceeded; " * 40
    storage.save_many([document("long", at(start, 5), "failed", long, stage=Stage.AUDIO)], preserve_timestamps=True)
    (found,) = storage.insights(window(start)).failures
    assert len(found.example_message) <= 300 and found.example_message.endswith("…")
    assert long.startswith(found.example_message[:-1])


# -- stage durations ------------------------------------------------------------------------

#: Typical seconds of each stage: the durations are log-normal around them.
MEDIANS = {Stage.SCRIPT: 12, Stage.AUDIO: 25, Stage.KEYWORDS: 4, Stage.CLIPS: 60, Stage.BASE_VIDEO: 90,
           Stage.FINAL_VIDEO: 45, Stage.YOUTUBE: 30}


def timed_set(start: datetime) -> list[dict]:
    """Forty generations with stage times (whole milliseconds) in [start, start + 3 h), some
    completed, some uploaded, some failed at clips, a few with a stage time missing; and others
    that must not count: without stage times, with one stage time only, or outside the window."""
    rng = random.Random(20261126)
    items = []
    for n in range(46):
        created = at(start, 4 * n if n < 40 else -30 - n, milliseconds=rng.randint(0, 59_999))
        last = Stage.YOUTUBE if n % 3 else Stage.FINAL_VIDEO
        stages = completed_stages()
        if n % 10 == 7:
            last, stages = Stage.CLIPS, failed_at(Stage.CLIPS, CLIP.format(f"clip-{n}"))
        if last is Stage.YOUTUBE:
            stages["youtube"] = {"url": "https://www.youtube.com/watch?v=x"}
        stamps, moment = {"initialParams": iso(created)}, created
        for stage in STAGES[1: last.index + 1]:
            milliseconds = max(1_500, round(rng.lognormvariate(math.log(MEDIANS[stage] * 1_000), 0.7)))
            moment += timedelta(milliseconds=milliseconds)
            stamps[stage.value] = iso(moment)
        if n % 13 == 5:
            del stamps["keywords"]  # clips then took from audio's time to its own
        item = make_item(f"t-{n:02d}", created_at=iso(created), updated_at=iso(moment), **stages)
        item["stageTimestamps"] = stamps
        items.append(item)
    for n in range(5):
        items.append(document(f"plain-{n}", at(start, 3 + 10 * n), "completed"))  # no stage times
    lone = document("lone", at(start, 7), "in_progress")
    lone["stageTimestamps"] = {"initialParams": lone["createdAt"]}
    items.append(lone)
    return items


def exact_durations(items: list[dict], start: datetime, end: datetime) -> dict[Stage, list[float]]:
    """Each stage's seconds by definition: from the previous recorded stage's time to its own."""
    durations: dict[Stage, list[float]] = {}
    for item in items:
        created = datetime.fromisoformat(item["createdAt"].replace("Z", "+00:00"))
        if not start <= created < end:
            continue
        previous = None
        for stage in STAGES:
            stamp = (item.get("stageTimestamps") or {}).get(stage.value)
            if stamp is None:
                continue
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if previous is not None:
                durations.setdefault(stage, []).append((moment - previous).total_seconds())
            previous = moment
    return durations


def nearest_rank(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[-(-percent * len(ordered) // 100) - 1]


def test_stage_durations_percentiles_within_ten_percent(storage):
    start = anchor()
    items = timed_set(start)
    storage.save_many(items, preserve_timestamps=True)
    exact = exact_durations(items, start, at(start, 180))
    assert len(exact[Stage.SCRIPT]) == 40 and len(exact[Stage.KEYWORDS]) < 40  # the set is what it says
    result = storage.insights(window(start))
    assert list(result.stage_durations) == [stage for stage in STAGES if stage in exact]
    for stage, values in exact.items():
        stats = result.stage_durations[stage]
        assert stats.count == len(values), stage
        for name, percent in (("p50", 50), ("p90", 90), ("p95", 95)):
            assert getattr(stats, name) == pytest.approx(nearest_rank(values, percent), rel=0.1), (stage, name)
        assert stats.max == pytest.approx(max(values), rel=0.1), stage
        assert stats.p50 <= stats.p90 <= stats.p95 <= stats.max


def test_stage_duration_histograms_cover_every_duration(storage):
    start = anchor()
    items = timed_set(start)
    storage.save_many(items, preserve_timestamps=True)
    exact = exact_durations(items, start, at(start, 180))
    for stage, stats in storage.insights(window(start)).stage_durations.items():
        bins = stats.histogram
        assert sum(b.count for b in bins) == stats.count
        assert all(b.lower < b.upper and b.count >= 0 for b in bins)
        assert all(a.upper == pytest.approx(b.lower, rel=1e-3) for a, b in zip(bins, bins[1:], strict=False))
        assert bins[0].lower <= min(exact[stage]) and max(exact[stage]) <= bins[-1].upper * 1.001
        assert bins[0].count > 0 and bins[-1].count > 0


def test_documents_without_stage_times_contribute_no_durations(known):
    storage, start = known
    assert storage.insights(window(start)).stage_durations == {}


# -- writes move generations ----------------------------------------------------------------


@pytest.fixture
def moving(storage):
    """hour 0: u-tts1 failed (TTS); hour 1: u-tts2 failed (TTS), u-oom failed (OOM, alone in its
    group), u-stalled; hour 2: u-progress in progress, u-done completed."""
    start = anchor()
    storage.save_many([
        document("u-tts1", at(start, 10), "failed", TTS.format("7f3a9c"), stage=Stage.AUDIO),
        document("u-tts2", at(start, 70), "failed", TTS.format("0b12ee"), stage=Stage.AUDIO),
        document("u-oom", at(start, 80), "failed", OOM.format(4412), stage=Stage.BASE_VIDEO),
        document("u-stalled", at(start, 90), "stalled"),
        document("u-progress", at(start, 130), "in_progress"),
        document("u-done", at(start, 140), "completed"),
    ], preserve_timestamps=True)
    result = storage.insights(window(start))
    assert bucket_counts(result) == [counts(failed=1), counts(failed=2, stalled=1), counts(1, 0, 1)]
    assert groups(result) == {TTS_GROUP: 2, OOM_GROUP: 1}
    return storage, start


def listed(storage, query: ListQuery) -> list[str]:
    return [state.generation_id for state in storage.list_generations(query).items]


def test_an_update_that_repairs_a_failed_stage_moves_it_to_completed(moving):
    storage, start = moving
    storage.update("u-tts2", {"audio": {"url": "https://cdn.example.com/a.mp3"},
                              "finalVideo": {"url": "https://cdn.example.com/final.mp4"}})
    result = storage.insights(window(start))
    assert bucket_counts(result)[1] == counts(completed=1, failed=1, stalled=1)
    assert groups(result) == {TTS_GROUP: 1, OOM_GROUP: 1}
    tts = group(result, TTS_GROUP)
    assert tts.example_ids == ["u-tts1"] and tts.by_bucket == [1, 0, 0]
    assert tts.first_seen == tts.last_seen == at(start, 10)
    assert listed(storage, ListQuery(failure=TTS_GROUP)) == ["u-tts1"]


def test_an_update_that_fails_differently_moves_it_to_another_group(moving):
    storage, start = moving
    storage.update("u-oom", {"baseVideo": {"status": "failed", "error": INVALID}})
    result = storage.insights(window(start))
    assert groups(result) == {TTS_GROUP: 2, INVALID_GROUP: 1}  # the emptied group is gone, not listed at 0
    assert group(result, INVALID_GROUP).example_message == INVALID
    assert bucket_counts(result)[1] == counts(failed=2, stalled=1)
    assert listed(storage, ListQuery(failure=OOM_GROUP)) == []
    assert listed(storage, ListQuery(failure=INVALID_GROUP)) == ["u-oom"]


def test_an_update_that_fails_an_in_progress_one_and_one_that_wakes_a_stalled_one(moving):
    storage, start = moving
    storage.update("u-progress", {"clips": {"status": "failed", "error": CLIP.format("ocean-0417")}})
    storage.update("u-stalled", {"audio": {"url": "https://cdn.example.com/a.mp3"}})
    result = storage.insights(window(start))
    assert bucket_counts(result) == [counts(failed=1), counts(failed=2, in_progress=1), counts(1, 1)]
    assert groups(result) == {TTS_GROUP: 2, OOM_GROUP: 1, CLIP_GROUP: 1}
    assert group(result, CLIP_GROUP).example_ids == ["u-progress"]


def test_saving_an_existing_id_with_a_new_failure_replaces_its_contribution(moving):
    storage, start = moving
    # A plain save keeps the stored createdAt when none is given.
    replacement = document("u-done", at(start, 140), "failed", TTS.format("aa11bb"), stage=Stage.AUDIO)
    del replacement["createdAt"], replacement["updatedAt"]
    storage.save(replacement)
    result = storage.insights(window(start))
    assert bucket_counts(result)[2] == counts(failed=1, in_progress=1)
    tts = group(result, TTS_GROUP)
    assert tts.count == 3 and tts.by_bucket == [1, 1, 1]
    assert tts.example_ids == ["u-done", "u-tts2", "u-tts1"] and tts.last_seen == at(start, 140)


def test_save_many_replacing_a_document_moves_it_to_its_new_hour_and_status(moving):
    storage, start = moving
    batch = [document("u-tts1", at(start, 160), "completed"),  # from hour 0, failed, to hour 2, completed
             document("u-oom", at(start, 20), "failed", OOM.format(5), stage=Stage.BASE_VIDEO)]  # hour 1 to 0
    storage.save_many(batch, preserve_timestamps=True)
    result = storage.insights(window(start))
    assert bucket_counts(result) == [counts(failed=1), counts(failed=1, stalled=1), counts(2, 0, 1)]
    assert groups(result) == {TTS_GROUP: 1, OOM_GROUP: 1}
    assert group(result, TTS_GROUP).first_seen == at(start, 70)
    assert group(result, OOM_GROUP).by_bucket == [1, 0, 0]
    # The same batch again (a re-run of a seed or a migration) counts nothing twice.
    storage.save_many(batch, preserve_timestamps=True)
    assert storage.insights(window(start)) == result


def test_delete_takes_its_contribution_away_once(moving):
    storage, start = moving
    assert storage.delete("u-oom") is True
    assert storage.delete("u-tts1") is True
    after = storage.insights(window(start))
    assert bucket_counts(after) == [counts(), counts(failed=1, stalled=1), counts(1, 0, 1)]
    assert groups(after) == {TTS_GROUP: 1}
    assert group(after, TTS_GROUP).example_ids == ["u-tts2"]
    assert group(after, TTS_GROUP).first_seen == at(start, 70)
    # Deleting again, or what never existed, changes nothing.
    assert storage.delete("u-oom") is False
    assert storage.delete("never-saved") is False
    assert storage.insights(window(start)) == after


def test_writes_that_fail_change_nothing(moving):
    storage, start = moving
    before = storage.insights(window(start))
    with pytest.raises(StorageNotFoundError):
        storage.update("never-saved", {"audio": {"status": "failed", "error": TTS.format("0c0c0c")}})
    with pytest.raises(StorageValidationError):
        storage.update("u-tts1", {"createdAt": iso(at(start, 150))})
    with pytest.raises(StorageValidationError):
        storage.save({"generationId": "", "audio": {"status": "failed", "error": "x"}})
    assert storage.insights(window(start)) == before


def test_concurrent_writes_of_one_hour_lose_no_count(storage):
    start = anchor()

    def writer(worker):
        for n in range(6):
            generation_id = f"w{worker}-{n}"
            request = f"a{worker}{n}f9c"
            storage.save(document(generation_id, at(start, 10 * worker + n), "failed", TTS.format(request),
                                  stage=Stage.AUDIO))
            if n % 2:
                storage.update(generation_id, {"audio": {"url": "https://cdn.example.com/a.mp3"},
                                               "finalVideo": {"url": "https://cdn.example.com/f.mp4"}})

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = storage.insights(window(start))
    assert bucket_counts(result)[0] == counts(completed=12, failed=12)
    assert groups(result) == {TTS_GROUP: 12}


def random_generation(rng: random.Random, generation_id: str, start: datetime) -> dict:
    """A generation of any status and group, created in hours 0 and 1, sometimes outside them."""
    created = at(start, rng.uniform(-40, 120), milliseconds=rng.randint(0, 999))
    kind = rng.choice(["completed", "in_progress", "stalled", "failed", "failed", "failed"])
    stage, error = rng.choice([(Stage.AUDIO, TTS.format(f"{rng.getrandbits(24):06x}")),
                               (Stage.BASE_VIDEO, OOM.format(rng.randint(1, 9999))),
                               (Stage.BASE_VIDEO, INVALID),
                               (Stage.CLIPS, CLIP.format(f"clip-{rng.randint(1, 99)}")),
                               (Stage.KEYWORDS, None)])
    item = document(generation_id, created, kind, error, stage=stage)
    if rng.random() < 0.5:
        moment, stamps = created, {}
        for name in ["initialParams", *(name for name in item if name in _PIPELINE)]:
            stamps[name] = iso(moment)
            moment += timedelta(seconds=rng.uniform(1, 200))
        item["stageTimestamps"] = stamps
    return item


def random_change(rng: random.Random) -> dict:
    return rng.choice([
        {"audio": {"status": "failed", "error": TTS.format(f"{rng.getrandbits(24):06x}")}},
        {"audio": {"url": "https://cdn.example.com/a.mp3"}, "finalVideo": {"url": "https://cdn.example.com/f.mp4"}},
        {"baseVideo": {"status": "failed", "error": OOM.format(rng.randint(1, 9999))}},
        {"script": {"status": "failed", "error": "Content policy violation: the model refused the prompt"}},
        {"script": {"content": "Otters again."}, "audio": None},
        {"clips": {"clips": []}},
    ])


def test_after_any_writes_the_figures_are_those_of_the_stored_documents(storage):
    """The oracle of maintained sums: a random run of every kind of write, then the figures equal the
    one-pass sum of the documents as stored (``iter_generations``)."""
    rng, start = random.Random(10), anchor()
    ids = [f"r-{n:02d}" for n in range(14)]
    for _ in range(70):
        choice, generation_id = rng.random(), rng.choice(ids)
        if choice < 0.3:
            batch = {name: random_generation(rng, name, start) for name in [generation_id, *rng.sample(ids, 2)]}
            storage.save_many(batch.values(), preserve_timestamps=True)
        elif choice < 0.45:
            item = random_generation(rng, generation_id, start)
            if rng.random() < 0.3:
                del item["createdAt"]  # created now (or kept, if it exists)
            storage.save(item)
        elif choice < 0.85:
            with contextlib.suppress(StorageNotFoundError):
                storage.update(generation_id, random_change(rng))
        else:
            storage.delete(generation_id)
    query = window(start, hours=4)  # up to the current hour, where saves without createdAt land
    stored = list(storage.iter_generations())
    # A filtered call reads the matching generations, not the sums: the same figures as the documents'.
    for filtered in (query.model_copy(update={"stage": Stage.AUDIO}), query.model_copy(update={"language": "EN"})):
        assert storage.insights(filtered).model_dump(exclude={"failures": {"__all__": {"example_message"}}}) == (
            insights_of(stored, filtered, utcnow()).model_dump(exclude={"failures": {"__all__": {"example_message"}}}))
    got = storage.insights(query)
    expected = insights_of(stored, query, utcnow())
    assert got.buckets == expected.buckets
    assert got.stage_durations == expected.stage_durations
    assert groups(got) == groups(expected)
    assert [group.count for group in got.failures] == sorted((group.count for group in got.failures), reverse=True)
    for found in got.failures:
        wanted = group(expected, found.fingerprint)
        assert found.model_dump(exclude={"example_message"}) == wanted.model_dump(exclude={"example_message"})
        assert describe_error(found.example_message) == found.message
    assert sum(bucket.counts[FAILED] for bucket in got.buckets) == sum(groups(got).values())
    # A recount (the repair of maintained sums) finds nothing to change.
    storage.recount()
    assert storage.insights(query).model_dump(exclude={"failures": {"__all__": {"example_message"}}}) == (
        got.model_dump(exclude={"failures": {"__all__": {"example_message"}}}))


# -- language and stage filters -------------------------------------------------------------


def timed(generation_id: str, created: datetime, script_seconds: float, *, language: str) -> dict:
    """Completed (current stage: final video), its script written ``script_seconds`` after it was created."""
    item = document(generation_id, created, "completed", language=language)
    item["stageTimestamps"] = {"initialParams": iso(created),
                               "script": iso(created + timedelta(seconds=script_seconds))}
    return item


def mixed_set(start: datetime) -> list[dict]:
    """Two languages ("EN" written in capitals once), every status, three current stages."""
    def failed(generation_id, minutes, stage, error=None, language="fr", **delta):
        return document(generation_id, at(start, minutes, **delta), "failed", error, stage=stage, language=language)

    return [
        timed("fr-c1", at(start, 10), 10, language="fr"),
        timed("fr-c2", at(start, 70), 40, language="fr"),
        failed("fr-f1", 20, Stage.AUDIO, TTS.format("7f3a9c")),
        failed("fr-f2", 150, Stage.AUDIO, TTS.format("0b12ee")),
        failed("fr-f3", 80, Stage.BASE_VIDEO, OOM.format(4412)),
        document("fr-s1", at(start, 75), "stalled", language="fr"),
        document("fr-p1", at(start, 130), "in_progress", language="fr"),
        timed("en-c1", at(start, 5), 200, language="en"),
        failed("en-f1", 90, Stage.AUDIO, TTS.format("9ac41d"), language="en"),
        failed("en-f2", 140, Stage.CLIPS, CLIP.format("ocean-0417"), language="en"),
        failed("en-f3", 170, Stage.AUDIO, TTS.format("31b07f"), language="EN"),
        document("en-p1", at(start, 30), "in_progress", language="en"),
        failed("fr-out", 0, Stage.AUDIO, TTS.format("aa00bb"), milliseconds=-1),  # just before the window
    ]


@pytest.fixture
def mixed(storage):
    return stored(storage, mixed_set)


def test_a_language_filter_narrows_every_figure_to_that_language(mixed):
    storage, start = mixed
    result = storage.insights(window(start, language="fr"))
    assert bucket_counts(result) == [counts(1, 1), counts(1, 1, 0, 1), counts(0, 1, 1)]
    assert groups(result) == {TTS_GROUP: 2, OOM_GROUP: 1}
    tts = group(result, TTS_GROUP)
    assert tts.example_ids == ["fr-f2", "fr-f1"] and tts.by_bucket == [1, 0, 1]
    assert (tts.first_seen, tts.last_seen) == (at(start, 20), at(start, 150))
    assert tts.message == describe_error(TTS.format("7f3a9c")) and tts.example_message in TTS_MESSAGES
    assert group(result, OOM_GROUP).example_ids == ["fr-f3"]
    (stage, script), = result.stage_durations.items()
    assert stage is Stage.SCRIPT and script.count == 2
    assert script.p50 == pytest.approx(10, rel=0.05) and script.max == pytest.approx(40, rel=0.1)


def test_the_language_filter_ignores_case_as_the_list_does(mixed):
    storage, start = mixed
    result = storage.insights(window(start, language="En"))
    assert bucket_counts(result) == [counts(1, 0, 1), counts(failed=1), counts(failed=2)]
    assert group(result, TTS_GROUP).example_ids == ["en-f3", "en-f1"]
    assert groups(result) == {TTS_GROUP: 2, CLIP_GROUP: 1}
    assert result.stage_durations[Stage.SCRIPT].count == 1
    assert result.stage_durations[Stage.SCRIPT].p50 == pytest.approx(200, rel=0.05)
    listed_ids = {state.generation_id for state in storage.list_generations(ListQuery(language="En", limit=50)).items}
    assert sum(bucket.total for bucket in result.buckets) == len(listed_ids) == 5


def test_a_stage_filter_counts_the_generations_at_that_current_stage(mixed):
    storage, start = mixed
    audio = storage.insights(window(start, stage=Stage.AUDIO))
    assert bucket_counts(audio) == [counts(failed=1), counts(failed=1), counts(failed=2)]
    assert groups(audio) == {TTS_GROUP: 4}
    assert group(audio, TTS_GROUP).example_ids == ["en-f3", "fr-f2", "en-f1", "fr-f1"]
    assert audio.stage_durations == {}
    # In progress and stalled ones are at the script stage, completed ones at the final video.
    assert bucket_counts(storage.insights(window(start, stage=Stage.SCRIPT, language="fr"))) == [
        counts(), counts(stalled=1), counts(in_progress=1)]
    final = storage.insights(window(start, stage=Stage.FINAL_VIDEO))
    assert bucket_counts(final) == [counts(completed=2), counts(completed=1), counts()]
    assert final.failures == [] and final.stage_durations[Stage.SCRIPT].count == 3


def test_the_filters_partition_the_unfiltered_answer_which_is_unchanged(mixed):
    storage, start = mixed
    whole = storage.insights(window(start))
    assert bucket_counts(whole) == [counts(2, 1, 1), counts(1, 2, 0, 1), counts(0, 3, 1)]
    assert groups(whole) == {TTS_GROUP: 4, OOM_GROUP: 1, CLIP_GROUP: 1}
    assert whole.stage_durations[Stage.SCRIPT].count == 3
    by_language = [storage.insights(window(start, language=language)) for language in ("fr", "en")]
    by_stage = [storage.insights(window(start, stage=stage)) for stage in STAGES]
    for parts in (by_language, by_stage):
        for n, bucket in enumerate(whole.buckets):
            assert {status: sum(part.buckets[n].counts[status] for part in parts) for status in GenerationStatus} == (
                bucket.counts)
        assert {fingerprint: sum(groups(part).get(fingerprint, 0) for part in parts) for fingerprint in groups(whole)} \
            == groups(whole)


def test_a_filter_matching_nothing_gives_an_empty_answer_of_every_bucket(mixed):
    storage, start = mixed
    for query in (window(start, language="ja"), window(start, stage=Stage.YOUTUBE),
                  window(start, language="en", stage=Stage.BASE_VIDEO)):
        result = storage.insights(query)
        assert bucket_counts(result) == [counts(), counts(), counts()]
        assert [bucket.start for bucket in result.buckets] == [at(start, 60 * n) for n in range(3)]
        assert result.failures == [] and result.stage_durations == {}


def test_filtered_groups_without_examples_are_seen_to_the_hour(mixed):
    storage, start = mixed
    tts = group(storage.insights(window(start, language="fr", examples=False)), TTS_GROUP)
    assert tts.example_ids == [] and tts.count == 2
    assert (tts.first_seen, tts.last_seen) == (start, at(start, 120))


def test_a_filter_follows_writes_that_change_the_stage_or_language(mixed):
    storage, start = mixed
    storage.update("fr-p1", {"audio": {"status": "failed", "error": TTS.format("0c0c0c")}})
    storage.update("en-p1", {"initialParams": {"prompt": "Otters", "language": "fr"}})
    storage.delete("fr-f1")
    result = storage.insights(window(start, language="fr"))
    assert bucket_counts(result) == [counts(1, 0, 1), counts(1, 1, 0, 1), counts(0, 2)]
    assert group(result, TTS_GROUP).example_ids == ["fr-f2", "fr-p1"]
    assert bucket_counts(storage.insights(window(start, stage=Stage.SCRIPT))) == [
        counts(in_progress=1), counts(stalled=1), counts()]


def crowd(start: datetime) -> list[dict]:
    """150 generations in the window, a third of them French, and 40 French ones the day before."""
    inside = [document(f"w-{n:03d}", at(start, n), "completed", language="fr" if n % 3 == 0 else "en")
              for n in range(150)]
    return inside + [document(f"old-{n}", at(start, -24 * 60 + n), "completed", language="fr") for n in range(40)]


@pytest.mark.backends("sqlite")
def test_sqlite_filtered_insights_read_one_index_range_of_columns_never_documents(storage, sqlite_path):
    start = anchor()
    storage.save_many(crowd(start), preserve_timestamps=True)
    conn, statements = sqlite3.connect(sqlite_path), []
    conn.set_trace_callback(statements.append)
    result = sqlite_insights.read_filtered(conn, "generations", window(start, language="fr"), utcnow())
    assert sum(bucket.total for bucket in result.buckets) == 50
    [select] = statements
    assert "document" not in select
    steps = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {select}")]
    assert any(step.startswith("SEARCH generations USING INDEX generations_by_") for step in steps), steps


@pytest.mark.backends("dynamodb-mock")
def test_dynamodb_filtered_insights_query_the_created_index_and_get_durations_only(storage):
    start = anchor()
    storage.save_many(crowd(start), preserve_timestamps=True)
    sent: list[tuple[str, dict]] = []
    events = storage._calls.client.meta.events
    for operation in ("Query", "BatchGetItem", "GetItem", "Scan"):
        events.register(f"before-parameter-build.dynamodb.{operation}",
                        lambda params, model, **_: sent.append((model.name, params)))
    result = storage.insights(window(start, language="FR"))
    assert sum(bucket.total for bucket in result.buckets) == 50
    [(_, query)] = [(name, params) for name, params in sent if name == "Query"]
    assert query["IndexName"] == "gennie-created-index" and "FilterExpression" in query
    gets = [request for name, params in sent if name == "BatchGetItem" for request in params["RequestItems"].values()]
    assert {name for name, _ in sent} == {"Query", "BatchGetItem"} and len(gets) == 1  # 50 ids: one request
    assert len(gets[0]["Keys"]) == 50
    assert sorted(gets[0]["ExpressionAttributeNames"].values()) == ["_gennieDurations", "generationId"]


# -- the failure filter ---------------------------------------------------------------------


@pytest.fixture
def grouped(storage):
    """Seven TTS failures (French and English, two of them created at the same time), others."""
    start = anchor()
    languages = ["fr", "en", "fr", "fr", "en", "fr", "en"]
    minutes = [5, 20, 20, 50, 75, 100, 130]
    items = [document(f"tts-{n}", at(start, minute), "failed", TTS.format(f"{0x7f3a9c + 977 * n:06x}"),
                      stage=Stage.AUDIO, language=language)
             for n, (minute, language) in enumerate(zip(minutes, languages, strict=True))]
    items += [document("oom", at(start, 30), "failed", OOM.format(1), stage=Stage.BASE_VIDEO, language="fr"),
              document("ok", at(start, 40), "completed", language="fr"),
              document("tts-at-script", at(start, 60), "failed", TTS.format("7f3a9c"), stage=Stage.SCRIPT)]
    storage.save_many(items, preserve_timestamps=True)
    return storage, start


def walk(storage, query: ListQuery, method: str = "list_generations") -> list[str]:
    """Every id over every page, following next cursors; checks that prev goes back a page."""
    pages = [getattr(storage, method)(query)]
    while pages[-1].next_cursor:
        pages.append(getattr(storage, method)(query.model_copy(update={"cursor": pages[-1].next_cursor})))
    assert pages[0].prev_cursor is None
    if len(pages) > 1:
        back = getattr(storage, method)(query.model_copy(update={"cursor": pages[-1].prev_cursor}))
        assert [item.generation_id for item in back.items] == [item.generation_id for item in pages[-2].items]
    return [item.generation_id for page in pages for item in page.items]


NEWEST_FIRST = ["tts-6", "tts-5", "tts-4", "tts-3", "tts-2", "tts-1", "tts-0"]  # tts-1 and tts-2: same time


@pytest.mark.parametrize("method", ["list_generations", "list_summaries"])
def test_the_failure_filter_lists_exactly_the_group_in_order_page_by_page(grouped, method):
    grouped, start = grouped
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2), method) == NEWEST_FIRST
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2, newest_first=False), method) == NEWEST_FIRST[::-1]
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2, language="FR"), method) == [
        "tts-5", "tts-3", "tts-2", "tts-0"]
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2, status=FAILED, search="tts-"), method) == NEWEST_FIRST
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=3, created_after=at(start, 20),
                                   created_before=at(start, 100)), method) == ["tts-4", "tts-3", "tts-2", "tts-1"]
    assert walk(grouped, ListQuery(failure=OOM_GROUP, limit=2), method) == ["oom"]


@pytest.mark.parametrize("method", ["list_generations", "list_summaries"])
def test_the_failure_filter_with_nothing_to_list(grouped, method):
    grouped, _ = grouped
    for query in (ListQuery(failure="audio-000000000000"), ListQuery(failure="not a fingerprint"),
                  ListQuery(failure=TTS_GROUP, status=COMPLETED), ListQuery(failure=TTS_GROUP, stage=Stage.CLIPS),
                  ListQuery(failure=TTS_GROUP, language="ja")):
        page = getattr(grouped, method)(query)
        assert page.items == [] and page.next_cursor is None and page.prev_cursor is None


def test_summaries_name_their_group_and_the_insights_count_agrees(grouped):
    grouped, start = grouped
    rows = grouped.list_summaries(ListQuery(failure=TTS_GROUP, limit=50)).items
    assert {row.failure for row in rows} == {TTS_GROUP} and len(rows) == 7
    assert groups(grouped.insights(window(start)))[TTS_GROUP] == len(rows)
    assert grouped.list_summaries(ListQuery(search="tts-at-script")).items[0].failure == fingerprint_error(
        Stage.SCRIPT, TTS.format("7f3a9c"))


def test_the_failure_filter_follows_writes(grouped):
    grouped, _ = grouped
    grouped.update("tts-3", {"audio": {"url": "https://cdn.example.com/a.mp3"}})
    grouped.update("ok", {"audio": {"status": "failed", "error": {"message": TTS.format("0c0c0c")}}})
    grouped.delete("tts-6")
    expected = ["tts-5", "tts-4", "ok", "tts-2", "tts-1", "tts-0"]
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2)) == expected
    assert walk(grouped, ListQuery(failure=TTS_GROUP, limit=2), "list_summaries") == expected


# -- the query ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [None, ListQuery(), {"created_after": "2026-01-01T00:00:00Z"}, "last 24h"],
                         ids=["none", "list-query", "dict", "text"])
def test_a_query_of_another_type_is_refused(storage, query):
    with pytest.raises(StorageValidationError):
        storage.insights(query)


def test_insights_are_counted_in_the_metrics(storage):
    storage.insights(window(anchor()))
    assert storage.get_metrics().operations["insights"].calls == 1


NOON = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("options", [
    {"created_after": NOON.replace(tzinfo=None), "created_before": NOON + timedelta(hours=1)},
    {"created_after": NOON, "created_before": (NOON + timedelta(hours=1)).replace(tzinfo=None)},
    {"created_after": NOON, "created_before": NOON},
    {"created_after": NOON, "created_before": NOON - timedelta(hours=1)},
    {"created_after": NOON, "created_before": NOON + timedelta(days=15)},  # 360 hours
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "bucket": "week"},
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "max_groups": 0},
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "max_groups": 101},
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "status": "failed"},
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "stage": "rendering"},
    {"created_after": NOON, "created_before": NOON + timedelta(hours=1), "language": 7},
], ids=["naive-after", "naive-before", "empty", "reversed", "too-many-hours", "bad-bucket", "no-groups",
        "too-many-groups", "unknown-option", "unknown-stage", "language-not-text"])
def test_bad_insights_queries_are_refused(options):
    with pytest.raises(ValidationError):
        InsightsQuery(**options)


def test_a_query_is_filtered_by_a_language_or_a_stage():
    plain = InsightsQuery(created_after=NOON, created_before=NOON + timedelta(hours=1))
    assert not plain.filtered and plain.filters == ListQuery()
    assert plain.model_copy(update={"language": ""}).filtered  # as ListQuery: those without a language
    staged = InsightsQuery(created_after=NOON, created_before=NOON + timedelta(hours=1), stage="audio", language="fr")
    assert staged.filtered and staged.filters == ListQuery(stage=Stage.AUDIO, language="fr")


def test_long_windows_by_the_day_and_any_zone():
    week = InsightsQuery(created_after=NOON, created_before=NOON + timedelta(days=7))
    assert week.bucket == "hour"
    assert InsightsQuery(created_after=NOON, created_before=NOON + timedelta(days=300), bucket="day")
    paris = timezone(timedelta(hours=1))
    assert InsightsQuery(created_after=NOON.astimezone(paris), created_before=NOON + timedelta(hours=2))
