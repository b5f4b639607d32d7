"""The TypeScript pipeline's own writes (tests/producer: the AWS SDK for JavaScript on node) read by this project.

A mixed fleet: the JavaScript producer creates the seed's table on moto's HTTP server, puts whole
states, updates stages and deletes, with its document client's marshalling of floats, maps and
lists; this project's DynamoDBStorage must read every item back as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from storage_backends import ListQuery, StorageNotFoundError

from ..factories import ago
from ..producer.harness import Producer

#: ``storage`` (tests/storage/conftest.py) is DynamoDB over HTTP on ``dynamodb_table_name``. It sends
#: nothing until first used, so it finds the table the producer made.
pytestmark = pytest.mark.backends("dynamodb-server")

COUNT = 30
DELETED = ["ts-07", "ts-22"]


@pytest.fixture
def js(moto_server: str, dynamodb_table_name: str) -> Iterator[Producer]:
    """The JavaScript producer on this test's table, created as the seed does, with streams."""
    with Producer(moto_server, dynamodb_table_name) as producer:
        assert producer.create_table(stream=True).startswith("arn:aws:dynamodb:")
        yield producer


def ts_state(n: int) -> dict[str, Any]:
    """A state as the pipeline holds one: unicode prompts, floats JavaScript writes as it prints
    them, nested maps and lists; every other one without times, for the producer to set."""
    state: dict[str, Any] = {
        "generationId": f"ts-{n:02d}",
        "initialParams": {
            "prompt": f"Vidéo n°{n}: les loutres 🦦 se tiennent la main — 川の話",
            "language": ["en", "fr", "ja"][n % 3],
            "options": {"aspectRatio": "9:16", "fps": 29.97, "speed": 0.1 + 0.2, "tiny": 1e-7, "gain": -12.5,
                        "voices": ["alloy", {"name": "echo", "pitch": 1.25}], "flags": {"hd": True, "draft": False}},
        },
    }
    if n % 2:
        state["script"] = {"content": "Otters hold hands.\nThey sleep. «Ça flotte»", "mood": "calm",
                           "source": "generated", "segments": [{"start": 0, "end": 2.5, "text": "Otters"}]}
    if n % 5 == 0:
        state["audio"] = {"url": f"https://cdn.example.com/{n}.mp3", "duration": 31.25, "status": "done"}
    if n % 2 == 0:
        state["createdAt"] = state["updatedAt"] = ago(minutes=COUNT - n)
    return state


def update_for(n: int) -> tuple[str, dict[str, Any]]:
    """A stage for a third of the states: failures, finished videos and keywords in turn."""
    if n % 9 == 0:
        return "audio", {"status": "failed", "error": {"code": "TTS_QUOTA", "message": "Quota dépassé", "retry": 2.5}}
    if n % 9 == 3:
        return "finalVideo", {"url": f"https://cdn.example.com/{n}.mp4", "duration": 31.5, "size": 1048576}
    return "keywords", {"keywords": ["otter", "rivière", "川"], "scores": [0.75, 0.5, 1]}


def test_what_the_js_producer_writes_reads_back_as_written(js, storage):
    written = {}
    for n in range(COUNT):
        item = js.put(ts_state(n))
        assert item["createdAt"] and item["updatedAt"]
        written[item["generationId"]] = item
    for n in range(0, COUNT, 3):
        generation_id = f"ts-{n:02d}"
        stage, value = update_for(n)
        updated = js.update_stage(generation_id, stage, value)
        assert updated[stage] == value and updated["createdAt"] == written[generation_id]["createdAt"]
        assert updated["updatedAt"] >= written[generation_id]["updatedAt"]
        written[generation_id] = updated
    for generation_id in DELETED:
        js.delete(generation_id)
        del written[generation_id]

    for generation_id, item in written.items():
        assert js.get(generation_id) == item
        state = storage.get(generation_id)
        assert state.to_item() == item
    options = storage.get("ts-01").initial_params.options
    assert type(options["fps"]) is float and options["speed"] == 0.30000000000000004 and options["tiny"] == 1e-7
    assert type(storage.get("ts-05").audio.duration) is float
    assert storage.get("ts-09").failed_stage.value == "audio"
    assert storage.get("ts-03").final_video.to_item()["size"] == 1048576
    for generation_id in DELETED:
        assert js.get(generation_id) is None
        with pytest.raises(StorageNotFoundError):
            storage.get(generation_id)
        assert not storage.exists(generation_id)

    # Today's way to list them: the backfill gives the other producer's items the derived attributes.
    assert storage.prepare_for_listing() == COUNT - len(DELETED)
    listed, query = [], ListQuery(limit=7)
    while True:
        page = storage.list_generations(query)
        listed += [state.generation_id for state in page.items]
        if page.next_cursor is None:
            break
        query = query.model_copy(update={"cursor": page.next_cursor})
    assert sorted(listed) == sorted(written)


def test_a_failed_command_is_an_error_with_the_producers_message_and_the_producer_goes_on(js):
    with pytest.raises(RuntimeError, match="ConditionalCheckFailedException"):
        js.update_stage("never-put", "script", {"content": "x"})  # the seed updates existing states only
    with pytest.raises(RuntimeError, match="unknown op"):
        js.send("truncateTable")
    assert js.put({"generationId": "after", "initialParams": {"prompt": "still here"}})["generationId"] == "after"
    assert js.get("after")["initialParams"] == {"prompt": "still here"}
