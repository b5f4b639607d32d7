"""A mixed fleet with the stream indexer running: the JavaScript producer's writes listed, counted and rolled up.

The producer (tests/producer: the AWS SDK for JavaScript v3 on node) makes the seed's table and
writes a few states before this library ever sees it; the library adopts the table with
``stream_indexer=true`` (switching its stream on), backfills those once, and from then on the
indexer, polling in a thread, follows the producer's puts, stage updates and deletes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from storage_backends import GenerationStatus, InsightsQuery, ListQuery, StorageFactory
from storage_backends.backends.dynamodb import StreamIndexer
from storage_backends.models import utcnow

from ..factories import ago
from ..producer.harness import Producer

pytestmark = pytest.mark.usefixtures("aws_credentials")

TTS_FAILURE = {"status": "failed", "error": "TTS provider answered 429: quota exceeded (request {})"}


def state(n: int) -> dict:
    return {"generationId": f"ts-{n:02d}", "createdAt": ago(minutes=40 - n), "updatedAt": ago(minutes=1),
            "initialParams": {"prompt": f"Les loutres n°{n} 🦦", "language": ["en", "fr"][n % 2],
                              "options": {"fps": 29.97}},
            "script": {"content": "Otters hold hands.", "mood": "calm"}}


@pytest.fixture
def js(moto_server: str, dynamodb_table_name: str) -> Iterator[Producer]:
    with Producer(moto_server, dynamodb_table_name) as producer:
        producer.create_table(stream=False)  # the seed's table, from before any stream
        yield producer


@pytest.fixture
def adopted(js, moto_server, dynamodb_table_name):
    url = (f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&stream_indexer=true"
           "&count_cache_seconds=0&read_timeout=30")
    with StorageFactory.from_url(url) as storage:
        yield storage


@pytest.fixture
def running(adopted) -> Iterator[StreamIndexer]:
    """The indexer polling every 0.2 s in a thread, as ``manage.py dynamodb_indexer`` runs it."""
    indexer, stop = StreamIndexer(adopted, owner="test"), threading.Event()
    thread = threading.Thread(target=indexer.run, kwargs={"interval": 0.2, "stop": stop}, daemon=True)
    thread.start()
    yield indexer
    stop.set()
    thread.join(timeout=10)
    indexer.release()


def settled(adopted, expected: dict[GenerationStatus, int], *, within: float = 15.0) -> dict[GenerationStatus, int]:
    """The counts once they equal ``expected`` (the indexer runs beside), or the last seen."""
    deadline = time.monotonic() + within
    while True:
        counts = {status: count for status, count in adopted.count_by_status().items() if count}
        if counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def listed(adopted, **filters) -> set[str]:
    return {summary.generation_id for summary in adopted.list_summaries(ListQuery(limit=500, **filters)).items}


def test_the_producers_writes_are_listed_counted_and_rolled_up_while_the_indexer_runs(js, adopted, request):
    for n in range(5):
        js.put(state(n))  # before the library and its stream
    assert adopted.prepare_for_listing() == 5  # the one-time backfill (it also switches the stream on)
    adopted.recount()
    request.getfixturevalue("running")

    for n in range(5, 35):
        js.put(state(n))
    for n in range(0, 35, 5):
        js.update_stage(f"ts-{n:02d}", "audio", {**TTS_FAILURE, "error": TTS_FAILURE["error"].format(f"{n:06x}")})
    for n in (1, 2, 3):
        js.delete(f"ts-{n:02d}")
    js.put({**state(4), "audio": {"url": "https://cdn.example.com/a.mp3"}})  # a whole-item put again

    failed = {f"ts-{n:02d}" for n in range(0, 35, 5)}
    alive = {f"ts-{n:02d}" for n in range(35)} - {"ts-01", "ts-02", "ts-03"}
    expected = {GenerationStatus.FAILED: len(failed), GenerationStatus.IN_PROGRESS: len(alive - failed)}
    assert settled(adopted, expected) == expected
    assert listed(adopted) == alive
    assert listed(adopted, status=GenerationStatus.FAILED) == failed
    assert listed(adopted, language="fr") == {i for i in alive if int(i[3:]) % 2}
    day = adopted.insights(InsightsQuery(created_after=utcnow() - timedelta(hours=2), created_before=utcnow()))
    assert [(group.stage.value, group.count) for group in day.failures] == [("audio", len(failed))]
    assert sum(bucket.counts[GenerationStatus.FAILED] for bucket in day.buckets) == len(failed)
    assert adopted.get("ts-04").audio.url == "https://cdn.example.com/a.mp3"
