"""The contract every backend keeps (docs/design.md). Runs once per backend in ``BACKENDS``."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from storage_backends import (
    GenerationState,
    GenerationStatus,
    ListQuery,
    Stage,
    StorageNotFoundError,
    StorageValidationError,
)
from storage_backends.models import parse_timestamp

from ..factories import ago, completed_stages, make_item


def save_all(storage, items):
    storage.save_many(items, preserve_timestamps=True)


# -- save / get -----------------------------------------------------------------------------

def test_save_then_get_returns_the_document(storage):
    saved = storage.save(make_item("g1", **completed_stages()))
    got = storage.get("g1")
    assert got == saved
    assert got.script.content == "Otters hold hands.\nThey sleep."
    assert got.final_video.url == "https://cdn.example.com/final.mp4"


def test_save_accepts_a_model_and_snake_case_names(storage):
    state = GenerationState(generation_id="g1", initial_params={"prompt": "p", "language": "fr"})
    storage.save(state)
    assert storage.get("g1").language == "fr"
    storage.save({"generation_id": "g2", "base_video": {"url": "https://x/y.mp4"}})
    assert storage.get("g2").to_item()["baseVideo"] == {"url": "https://x/y.mp4"}


def test_get_missing_raises_not_found(storage):
    with pytest.raises(StorageNotFoundError) as info:
        storage.get("nope")
    assert info.value.generation_id == "nope"
    assert isinstance(info.value, KeyError)


def test_save_sets_created_once_and_updated_always(storage):
    first = storage.save(make_item("g1"))
    assert first.created_at and first.updated_at
    time.sleep(0.005)
    second = storage.save(make_item("g1", prompt="changed"))
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert storage.get("g1").prompt == "changed"


def test_save_keeps_a_given_created_at(storage):
    saved = storage.save(make_item("g1", created_at="2025-05-05T05:05:05.000Z"))
    assert saved.created_at == "2025-05-05T05:05:05.000Z"
    assert storage.get("g1").updated_at > "2026"


def test_unknown_attributes_and_stage_keys_round_trip(storage):
    item = make_item("g1", script={"content": "hi", "voiceHint": {"pitch": 3}},
                     someOtherProducerField={"k": 1}, tags=["a", "b"])
    storage.save(item)
    stored = storage.get("g1").to_item()
    assert stored["someOtherProducerField"] == {"k": 1}
    assert stored["tags"] == ["a", "b"]
    assert stored["script"] == {"content": "hi", "voiceHint": {"pitch": 3}}


def test_values_round_trip_with_their_types(storage):
    values = {
        "float": 1.25, "int": 7, "big": 12345678901234, "negative": -3, "zero": 0,
        "true": True, "false": False, "null": None, "empty": "",
        "nested": [[1, 2.5], {"a": [None, "x"]}, []], "emptyMap": {},
        "text": "Größe 日本語 🎬 — ça va",
    }
    storage.save(make_item("g1", extra=values, clips={"clips": [{"duration": 2.0}, {"duration": 3}]}))
    got = storage.get("g1").to_item()
    assert got["extra"] == values
    for key, value in values.items():
        assert type(got["extra"][key]) is type(value), key
    durations = [clip["duration"] for clip in got["clips"]["clips"]]
    assert durations == [2.0, 3] and [type(d) for d in durations] == [float, int]


def test_save_records_stage_times_and_keeps_them_on_resave(storage):
    first = storage.save(make_item("g1", script={"content": "x"}))
    assert set(first.stage_timestamps) == {"initialParams", "script"}
    time.sleep(0.005)
    second = storage.save({**first.to_item(), "audio": {"url": "https://a/b.mp3"}})
    assert second.stage_timestamps["script"] == first.stage_timestamps["script"]
    assert second.stage_timestamps["audio"] > first.stage_timestamps["script"]


def test_documents_without_stage_times_stay_readable(storage):
    item = make_item("g1", created_at=ago(minutes=5), updated_at=ago(minutes=5), script={"content": "x"})
    save_all(storage, [item])
    got = storage.get("g1")
    assert got.stage_timestamps is None
    assert got.to_item() == item


# -- update ---------------------------------------------------------------------------------

def test_update_merges_top_level_and_keeps_other_stages(storage):
    storage.save(make_item("g1", script={"content": "one", "mood": "calm"}))
    updated = storage.update("g1", {"audio": {"url": "https://a/x.mp3", "duration": 3}})
    assert updated.script.content == "one"
    assert updated.audio.duration == 3
    assert storage.get("g1") == updated


def test_update_replaces_a_stage_map_whole(storage):
    storage.save(make_item("g1", script={"content": "one", "mood": "calm"}))
    storage.update("g1", {"script": {"content": "two"}})
    assert storage.get("g1").to_item()["script"] == {"content": "two"}


def test_update_bumps_updated_and_records_the_stage_time(storage):
    saved = storage.save(make_item("g1"))
    time.sleep(0.005)
    updated = storage.update("g1", {"baseVideo": {"url": "https://v/b.mp4"}})
    assert updated.created_at == saved.created_at
    assert updated.updated_at > saved.updated_at
    assert updated.stage_timestamps["baseVideo"] == updated.updated_at
    assert updated.stage_timestamps["initialParams"] == saved.stage_timestamps["initialParams"]


def test_update_accepts_snake_case_names(storage):
    storage.save(make_item("g1"))
    assert storage.update("g1", {"final_video": {"url": "https://v/f.mp4"}}).final_video.url == "https://v/f.mp4"


def test_update_on_a_document_without_stage_times(storage):
    save_all(storage, [make_item("g1", created_at=ago(hours=1), updated_at=ago(hours=1))])
    updated = storage.update("g1", {"script": {"content": "x"}})
    assert updated.stage_timestamps == {"script": updated.updated_at}


def test_update_missing_raises_not_found(storage):
    with pytest.raises(StorageNotFoundError):
        storage.update("nope", {"script": {"content": "x"}})
    assert not storage.exists("nope")


@pytest.mark.parametrize("changes", [
    {"generationId": "other"}, {"generation_id": "other"}, {"createdAt": "2020-01-01T00:00:00Z"},
    {}, ["script"], "script", {"script": "not a map"}, {"initialParams": {"prompt": 5}},
])
def test_update_refuses_bad_changes_and_loses_nothing(storage, changes):
    storage.save(make_item("g1", script={"content": "keep"}))
    before = storage.get("g1")
    with pytest.raises(StorageValidationError):
        storage.update("g1", changes)
    assert storage.get("g1") == before


# -- ids ------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad_id", ["", "a" * 1025, "é" * 513, "tab\there", "nl\n", "nul\x00", None, 5])
def test_bad_ids_are_refused(storage, bad_id):
    with pytest.raises(StorageValidationError):
        storage.save({"generationId": bad_id})
    with pytest.raises(StorageValidationError):
        storage.get(bad_id)
    with pytest.raises(StorageValidationError):
        storage.delete(bad_id)
    assert storage.get_metrics().active_generations == 0


@pytest.mark.parametrize("odd_id", ["../x", "a/b", "..", "/etc/passwd", "con", "b" * 1024, "with space", "日本"])
def test_unusual_but_valid_ids_round_trip(storage, odd_id):
    storage.save(make_item(odd_id))
    assert storage.get(odd_id).generation_id == odd_id
    assert storage.exists(odd_id)
    assert storage.delete(odd_id)


def test_ids_differing_only_in_case_are_distinct(storage):
    storage.save(make_item("Gen", prompt="upper"))
    storage.save(make_item("gen", prompt="lower"))
    assert storage.get("Gen").prompt == "upper"
    assert storage.get("gen").prompt == "lower"


# -- delete / exists ------------------------------------------------------------------------

def test_delete_is_idempotent(storage):
    storage.save(make_item("g1"))
    assert storage.exists("g1")
    assert storage.delete("g1") is True
    assert storage.delete("g1") is False
    assert not storage.exists("g1")
    with pytest.raises(StorageNotFoundError):
        storage.get("g1")


def test_delete_many_returns_the_ids_that_existed_in_the_order_given(storage):
    save_all(storage, [make_item(f"g{n}") for n in range(1, 4)])
    assert storage.delete_many(["g3", "never-saved", "g1", "g3"]) == ["g3", "g1"]
    assert [storage.exists(f"g{n}") for n in range(1, 4)] == [False, True, False]
    assert storage.delete_many(["g3", "g1"]) == []
    assert storage.delete_many([]) == []


def test_delete_many_of_more_than_a_batch(storage):
    save_all(storage, [make_item(f"g{n:04d}") for n in range(1200)])
    doomed = [f"g{n:04d}" for n in range(0, 1200, 2)]
    assert storage.delete_many(doomed) == doomed
    assert storage.get_metrics().active_generations == 600 and storage.exists("g0001") and not storage.exists("g1198")


@pytest.mark.parametrize("bad", [["g1", ""], ["g1", None], "g1"])
def test_delete_many_checks_every_id_before_deleting_any(storage, bad):
    storage.save(make_item("g1"))
    with pytest.raises(StorageValidationError):
        storage.delete_many(bad)
    assert storage.exists("g1")


def test_delete_many_keeps_the_counts_right(assorted):
    assert assorted.delete_many(["failed-audio", "stalled", "done-en", "never-saved"]) == [
        "failed-audio", "stalled", "done-en"]
    assert assorted.count_by_status() == {GenerationStatus.COMPLETED: 2, GenerationStatus.FAILED: 0,
                                          GenerationStatus.IN_PROGRESS: 1, GenerationStatus.STALLED: 0}
    assert assorted.get_metrics().active_generations == 3


# -- list -----------------------------------------------------------------------------------

@pytest.fixture
def assorted(storage):
    """Six generations: two completed, one failed, one in progress, one stalled, one old."""
    items = [
        make_item("done-en", created_at=ago(hours=3), updated_at=ago(hours=2), **completed_stages()),
        make_item("done-fr", language="fr", prompt="Les loutres", created_at=ago(hours=2),
                  updated_at=ago(hours=2), **completed_stages(), youtube={"url": "https://youtu.be/x"}),
        make_item("failed-audio", prompt="Volcanoes erupting", created_at=ago(minutes=50),
                  updated_at=ago(minutes=45), script={"content": "x"},
                  audio={"status": "failed", "error": "TTS quota exceeded"}),
        make_item("running", prompt="Deep sea OTTERS", created_at=ago(minutes=2),
                  updated_at=ago(minutes=1), script={"content": "x"}),
        make_item("stalled", language="de", created_at=ago(hours=5), updated_at=ago(hours=4),
                  script={"content": "x"}, audio={"url": "https://a/b.mp3"}),
        make_item("ancient", created_at=ago(days=3), updated_at=ago(days=3), **completed_stages()),
    ]
    save_all(storage, items)
    return storage


def ids(page):
    return [state.generation_id for state in page.items]


def test_list_newest_first_by_default(assorted):
    assert ids(assorted.list_generations()) == [
        "running", "failed-audio", "done-fr", "done-en", "stalled", "ancient"]


def test_list_oldest_first(assorted):
    assert ids(assorted.list_generations(ListQuery(newest_first=False)))[:2] == ["ancient", "stalled"]


@pytest.mark.parametrize("status, expected", [
    (GenerationStatus.COMPLETED, {"done-en", "done-fr", "ancient"}),
    (GenerationStatus.FAILED, {"failed-audio"}),
    (GenerationStatus.IN_PROGRESS, {"running"}),
    (GenerationStatus.STALLED, {"stalled"}),
])
def test_list_filters_by_status(assorted, status, expected):
    assert set(ids(assorted.list_generations(ListQuery(status=status)))) == expected


def test_stalled_threshold_is_configurable(assorted):
    query = ListQuery(status=GenerationStatus.STALLED, stalled_after=timedelta(seconds=30))
    assert set(ids(assorted.list_generations(query))) == {"stalled", "running"}


@pytest.mark.parametrize("stage, expected", [
    (Stage.FINAL_VIDEO, {"done-en", "ancient"}),
    (Stage.YOUTUBE, {"done-fr"}),
    (Stage.AUDIO, {"failed-audio", "stalled"}),
    (Stage.SCRIPT, {"running"}),
    (Stage.CLIPS, set()),
])
def test_list_filters_by_current_stage(assorted, stage, expected):
    assert set(ids(assorted.list_generations(ListQuery(stage=stage)))) == expected


def test_list_filters_by_language(assorted):
    assert ids(assorted.list_generations(ListQuery(language="fr"))) == ["done-fr"]
    assert ids(assorted.list_generations(ListQuery(language="de"))) == ["stalled"]


@pytest.mark.parametrize("search, expected", [
    ("otters", {"running", "done-en", "stalled", "ancient"}),
    ("OTTER", {"running", "done-en", "stalled", "ancient"}),
    ("loutres", {"done-fr"}),
    ("failed-au", {"failed-audio"}),
    ("DONE", {"done-en", "done-fr"}),
    ("zz", set()),
])
def test_list_searches_id_and_prompt_case_insensitively(assorted, search, expected):
    assert set(ids(assorted.list_generations(ListQuery(search=search)))) == expected


@pytest.mark.parametrize("newest_first", [True, False])
def test_a_search_equal_to_an_id_lists_it_first_then_the_other_matches_once(storage, newest_first):
    # "gen-7" is the oldest; "gen-70".."gen-79" contain it and are newer, "x" mentions it in a prompt.
    storage.save_many([make_item("gen-7", created_at=ago(days=9))]
                      + [make_item(f"gen-7{n}", created_at=ago(hours=n + 1)) for n in range(10)]
                      + [make_item("x", prompt="about gen-7", created_at=ago(minutes=5)), make_item("gen-8")],
                      preserve_timestamps=True)
    query = ListQuery(search="gen-7", limit=4, newest_first=newest_first)
    pages = [storage.list_generations(query)]
    while pages[-1].next_cursor:
        pages.append(storage.list_generations(query.model_copy(update={"cursor": pages[-1].next_cursor})))
    listed = [state.generation_id for page in pages for state in page.items]

    assert listed[0] == "gen-7"
    assert sorted(listed) == sorted(["gen-7", "x", *(f"gen-7{n}" for n in range(10))])  # each once
    assert len(pages[0].items) == 4 and pages[0].prev_cursor is None


def test_an_exact_id_is_first_only_if_it_passes_the_other_filters(storage):
    storage.save_many([make_item("gen-7", created_at=ago(days=9), **completed_stages()),
                       make_item("gen-70", created_at=ago(minutes=1))], preserve_timestamps=True)
    in_progress = storage.list_generations(ListQuery(search="gen-7", status=GenerationStatus.IN_PROGRESS))
    assert [state.generation_id for state in in_progress.items] == ["gen-70"]
    one_at_a_time = storage.list_generations(ListQuery(search="gen-7", limit=1))
    assert [state.generation_id for state in one_at_a_time.items] == ["gen-70"]  # pages of one: as usual


def test_list_filters_by_created_range(assorted):
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    recent = assorted.list_generations(ListQuery(created_after=now - timedelta(hours=1)))
    assert set(ids(recent)) == {"running", "failed-audio"}
    older = assorted.list_generations(ListQuery(created_before=now - timedelta(hours=4)))
    assert set(ids(older)) == {"stalled", "ancient"}
    window = ListQuery(created_after=now - timedelta(hours=4), created_before=now - timedelta(hours=1))
    assert set(ids(assorted.list_generations(window))) == {"done-en", "done-fr"}


def test_list_combines_filters(assorted):
    query = ListQuery(status=GenerationStatus.COMPLETED, language="en", search="otter")
    assert set(ids(assorted.list_generations(query))) == {"done-en", "ancient"}


def test_cursor_paging_visits_each_of_1000_exactly_once(storage):
    # Pairs share a createdAt, so the id must break ties.
    items = [make_item(f"gen-{n:04d}", created_at=ago(minutes=n // 2), updated_at=ago(minutes=0))
             for n in range(1000)]
    save_all(storage, items)
    for newest_first in (True, False):
        seen, query, pages = [], ListQuery(limit=37, newest_first=newest_first), 0
        while True:
            page = storage.list_generations(query)
            seen.extend(ids(page))
            pages += 1
            if page.next_cursor is None:
                break
            query = query.model_copy(update={"cursor": page.next_cursor})
        assert len(seen) == 1000 and len(set(seen)) == 1000
        assert pages == 28
        created = [storage.get(i).created_at for i in seen[:5]]
        assert created == sorted(created, reverse=newest_first)


def test_prev_cursor_returns_to_the_previous_page(storage):
    save_all(storage, [make_item(f"g{n:02d}", created_at=ago(minutes=n)) for n in range(25)])
    first = storage.list_generations(ListQuery(limit=10))
    assert first.prev_cursor is None
    second = storage.list_generations(ListQuery(limit=10, cursor=first.next_cursor))
    third = storage.list_generations(ListQuery(limit=10, cursor=second.next_cursor))
    assert len(third.items) == 5 and third.next_cursor is None
    back = storage.list_generations(ListQuery(limit=10, cursor=third.prev_cursor))
    assert ids(back) == ids(second)
    back_again = storage.list_generations(ListQuery(limit=10, cursor=back.prev_cursor))
    assert ids(back_again) == ids(first)
    assert back_again.prev_cursor is None


def test_filtered_paging_is_never_short_while_more_match(storage):
    items = [make_item(f"g{n:03d}", created_at=ago(minutes=n), language="fr" if n % 10 == 0 else "en")
             for n in range(200)]
    save_all(storage, items)
    page = storage.list_generations(ListQuery(language="fr", limit=7))
    assert len(page.items) == 7
    rest = storage.list_generations(ListQuery(language="fr", limit=7, cursor=page.next_cursor))
    assert ids(rest) == ["g070", "g080", "g090", "g100", "g110", "g120", "g130"]


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJrIjpbXX0", "AAAAAAAAAAAAAAAAAAAAAAAA"])
def test_invalid_cursor_is_a_validation_error(assorted, cursor):
    with pytest.raises(StorageValidationError):
        assorted.list_generations(ListQuery(cursor=cursor))


def test_tampered_cursor_is_a_validation_error(assorted):
    cursor = assorted.list_generations(ListQuery(limit=2)).next_cursor
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    with pytest.raises(StorageValidationError):
        assorted.list_generations(ListQuery(limit=2, cursor=tampered))


def test_cursor_of_the_other_order_is_refused(assorted):
    cursor = assorted.list_generations(ListQuery(limit=2)).next_cursor
    with pytest.raises(StorageValidationError):
        assorted.list_generations(ListQuery(limit=2, newest_first=False, cursor=cursor))


def test_list_of_empty_storage(storage):
    page = storage.list_generations()
    assert page.items == [] and page.next_cursor is None and page.prev_cursor is None


# -- iterate / count ------------------------------------------------------------------------

def test_iter_generations_streams_everything(storage):
    save_all(storage, [make_item(f"g{n:03d}", created_at=ago(minutes=n)) for n in range(130)])
    seen = [state.generation_id for state in storage.iter_generations(batch_size=20)]
    assert sorted(seen) == [f"g{n:03d}" for n in range(130)]
    assert len(seen) == 130


def test_count_by_status(assorted):
    counts = assorted.count_by_status()
    assert counts == {GenerationStatus.COMPLETED: 3, GenerationStatus.FAILED: 1,
                      GenerationStatus.IN_PROGRESS: 1, GenerationStatus.STALLED: 1}


# -- save_many ------------------------------------------------------------------------------

def test_save_many_stamps_times_by_default(storage):
    assert storage.save_many([make_item("a"), make_item("b", created_at="2025-01-01T00:00:00.000Z")]) == 2
    assert storage.get("a").created_at > "2026"
    assert storage.get("b").created_at == "2025-01-01T00:00:00.000Z"
    assert storage.get("b").stage_timestamps["initialParams"] > "2026"


def test_save_many_preserves_timestamps_exactly(storage):
    item = make_item("a", created_at="2025-01-01T00:00:00.000Z", updated_at="2025-01-02T00:00:00.000Z",
                     stageTimestamps={"initialParams": "2025-01-01T00:00:00.000Z"})
    storage.save_many([item], preserve_timestamps=True)
    assert storage.get("a").to_item() == item


def test_save_many_replaces_existing(storage):
    storage.save(make_item("a", prompt="old"))
    storage.save_many([make_item("a", prompt="new"), make_item("b")])
    assert storage.get("a").prompt == "new"
    assert storage.get_metrics().active_generations == 2


def test_save_many_refuses_a_bad_item_before_writing_any(storage):
    with pytest.raises(StorageValidationError):
        storage.save_many([make_item("ok"), {"generationId": ""}])
    assert not storage.exists("ok")


def test_save_many_of_nothing(storage):
    assert storage.save_many([]) == 0


# -- cleanup --------------------------------------------------------------------------------

def test_cleanup_removes_exactly_the_old_ones(storage):
    items = [make_item(f"old{n}", created_at=ago(hours=25 + n)) for n in range(5)]
    items += [make_item(f"new{n}", created_at=ago(hours=23 - n)) for n in range(3)]
    items.append({"generationId": "no-created-at"})
    save_all(storage, items)
    assert storage.cleanup(dry_run=True) == 5
    assert storage.get_metrics().active_generations == 9
    assert storage.cleanup() == 5
    remaining = {state.generation_id for state in storage.iter_generations()}
    assert remaining == {"new0", "new1", "new2", "no-created-at"}
    assert storage.cleanup() == 0


def test_cleanup_with_a_custom_age(storage):
    save_all(storage, [make_item("a", created_at=ago(minutes=90)), make_item("b", created_at=ago(minutes=30))])
    assert storage.cleanup(timedelta(hours=1)) == 1
    assert storage.exists("b") and not storage.exists("a")


def test_cleanup_refuses_a_negative_age(storage):
    with pytest.raises(StorageValidationError):
        storage.cleanup(timedelta(seconds=-1))


# -- health / metrics -----------------------------------------------------------------------

def test_is_healthy(storage):
    assert storage.is_healthy() is True


def test_metrics_count_operations_and_errors(storage):
    storage.save(make_item("g1"))
    storage.get("g1")
    storage.get("g1")
    with pytest.raises(StorageNotFoundError):
        storage.get("missing")
    with pytest.raises(StorageValidationError):
        storage.update("g1", {"generationId": "x"})
    metrics = storage.get_metrics()
    assert metrics.active_generations == 1
    assert metrics.backend
    assert metrics.operations["save"].calls == 1
    assert metrics.operations["get"].calls == 3 and metrics.operations["get"].errors == 0
    assert metrics.operations["update"].errors == 1
    assert metrics.operations["get"].total_seconds > 0


# -- concurrency ----------------------------------------------------------------------------

def test_concurrent_updates_of_different_stages_lose_nothing(storage):
    storage.save(make_item("shared"))
    stages = ["script", "audio", "keywords", "clips", "baseVideo", "finalVideo", "youtube", "extraStage"]

    def hammer(stage):
        for n in range(50):
            storage.update("shared", {stage: {"round": n}})

    threads = [threading.Thread(target=hammer, args=(stage,)) for stage in stages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    item = storage.get("shared").to_item()
    assert all(item[stage] == {"round": 49} for stage in stages)
    assert parse_timestamp(item["updatedAt"]) is not None
