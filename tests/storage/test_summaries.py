"""``list_summaries`` on every backend: the rows of ``list_generations``' pages, without documents."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage_backends import GenerationStatus, GenerationSummary, ListQuery, Stage, SummaryPage
from storage_backends.fingerprints import error_message, fingerprint_error
from storage_backends.models import utcnow
from storage_backends.summaries import SUMMARY_CHARS, summarize

from ..factories import ago, completed_stages, make_item


@pytest.fixture
def mixed(storage):
    """Forty generations of every status, stage and language, two to a createdAt."""
    items = []
    for n in range(40):
        stages = {"script": {"content": "x"}}
        if n % 4 == 1:
            stages = completed_stages()
        elif n % 4 == 2:
            stages["audio"] = {"status": "failed", "error": {"message": f"TTS 429 (request {n:04x})", "code": 429}}
        updated = ago(hours=2) if n % 8 == 3 else ago(minutes=1)
        items.append(make_item(f"gen-{n:02d}", prompt=f"Prompt {n} about otters", language="fr" if n % 3 else "en",
                               created_at=ago(minutes=10 * (n // 2) + 5), updated_at=updated, **stages))
    storage.save_many(items, preserve_timestamps=True)
    return storage


QUERIES = [
    ListQuery(limit=7),
    ListQuery(limit=7, newest_first=False),
    ListQuery(limit=5, status=GenerationStatus.FAILED),
    ListQuery(limit=5, status=GenerationStatus.STALLED),
    ListQuery(limit=5, status=GenerationStatus.IN_PROGRESS, newest_first=False),
    ListQuery(limit=5, status=GenerationStatus.COMPLETED, language="FR"),
    ListQuery(limit=4, stage=Stage.AUDIO),
    ListQuery(limit=4, search="OTTERS", created_after=utcnow() - timedelta(hours=2)),
    ListQuery(limit=4, search="gen-1"),
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: ",".join(f"{k}={v}" for k, v in q.model_dump(
    exclude_defaults=True).items()))
def test_every_page_is_the_summary_of_the_documents_page(mixed, query):
    """Same rows, order and cursors as list_generations, page after page, forward and back."""
    pages = 0
    while True:
        documents, summaries = mixed.list_generations(query), mixed.list_summaries(query)
        at = utcnow()
        assert isinstance(summaries, SummaryPage)
        assert summaries.items == [summarize(state, at=at, stalled_after=query.stalled_after)
                                   for state in documents.items]
        assert (summaries.next_cursor, summaries.prev_cursor) == (documents.next_cursor, documents.prev_cursor)
        pages += 1
        if not summaries.next_cursor:
            break
        query = query.model_copy(update={"cursor": summaries.next_cursor})
    if summaries.prev_cursor:
        back = query.model_copy(update={"cursor": summaries.prev_cursor})
        assert mixed.list_summaries(back).items == [
            summarize(state, at=utcnow(), stalled_after=back.stalled_after)
            for state in mixed.list_generations(back).items]
    assert pages >= 1


def test_a_summary_holds_what_a_row_shows(storage):
    storage.save(make_item("failed", prompt="Volcanoes", language="de",
                           script={"content": "x"}, audio={"status": "failed", "error": {"message": "TTS quota"}}))
    (summary,) = storage.list_summaries().items
    stored = storage.get("failed")
    assert summary == GenerationSummary(
        generation_id="failed", prompt="Volcanoes", language="de", aspect_ratio="16:9", current_stage=Stage.AUDIO,
        status=GenerationStatus.FAILED, failed_stage=Stage.AUDIO, error="TTS quota",
        failure=fingerprint_error(Stage.AUDIO, {"message": "TTS quota"}),
        created_at=stored.created_at, updated_at=stored.updated_at)


def test_long_prompts_and_errors_are_cut_the_same_on_every_backend(storage):
    storage.save(make_item("long", prompt="p" * 5000, script={"error": "e" * 5000}))
    (summary,) = storage.list_summaries().items
    assert len(summary.prompt) == len(summary.error) == SUMMARY_CHARS
    assert summary.prompt.endswith("…") and summary.error.endswith("…")


def test_summaries_follow_updates_and_deletes(storage):
    storage.save(make_item("g", script={"content": "x"}))
    storage.update("g", {"audio": {"status": "failed", "error": "ffmpeg exited with code 137"}})
    (summary,) = storage.list_summaries().items
    assert (summary.current_stage, summary.status, summary.error) == (
        Stage.AUDIO, GenerationStatus.FAILED, "ffmpeg exited with code 137")
    storage.update("g", {"audio": {"url": "https://a/b.mp3"}, "initialParams": {"prompt": "New", "language": "it"}})
    (summary,) = storage.list_summaries(ListQuery(status=GenerationStatus.IN_PROGRESS)).items
    assert (summary.prompt, summary.language, summary.failed_stage, summary.error) == ("New", "it", None, None)
    assert storage.list_summaries(ListQuery(status=GenerationStatus.FAILED)).items == []
    storage.delete("g")
    assert storage.list_summaries().items == []


def test_an_exact_id_is_the_first_summary_and_never_listed_twice(storage):
    storage.save_many([make_item("gen-7", created_at=ago(days=2))]
                      + [make_item(f"gen-7{n}", created_at=ago(hours=n + 1)) for n in range(6)],
                      preserve_timestamps=True)
    query = ListQuery(search="gen-7", limit=3)
    page = storage.list_summaries(query)
    listed = [summary.generation_id for summary in page.items]
    while page.next_cursor:
        page = storage.list_summaries(query.model_copy(update={"cursor": page.next_cursor}))
        listed += [summary.generation_id for summary in page.items]
    assert listed[0] == "gen-7" and sorted(listed) == sorted(["gen-7", *(f"gen-7{n}" for n in range(6))])


@pytest.mark.parametrize("error, message", [
    ("plain text", "plain text"),
    ({"message": "from a map", "code": 3}, "from a map"),
    ({"code": 3, "detail": "x"}, '{"code": 3, "detail": "x"}'),
    (["a", 1], '["a", 1]'),
    ("", None), ({}, None), (None, None),
])
def test_error_message(error, message):
    assert error_message(error) == message
