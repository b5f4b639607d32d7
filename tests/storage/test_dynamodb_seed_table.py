"""A table laid out exactly as the seed describes, written by another producer, over real HTTP.

Only the hash key, items put with raw boto3 in camelCase, no attribute of this backend: they
read, update and clean up as they are, and become listable after ``prepare_for_listing``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import boto3
import pytest

from storage_backends import (
    ListQuery,
    SkippedDocument,
    StorageCorruptDocumentError,
    StorageNotFoundError,
    StorageValidationError,
)

from ..factories import ago, make_item

#: ``storage`` (tests/storage/conftest.py) is DynamoDB over HTTP on ``dynamodb_table_name``: the seed's
#: table. The storage sends nothing until first used, so it finds the table ``seed_table`` made.
pytestmark = pytest.mark.backends("dynamodb-server")


@pytest.fixture(autouse=True)
def seed_table(moto_server, dynamodb_table_name) -> str:
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.create_table(
        TableName=dynamodb_table_name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "generationId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "generationId", "AttributeType": "S"}],
    )
    for generation_id, created in [("seed-new", ago(hours=1)), ("seed-old", ago(days=3)), ("seed-mid", ago(hours=5))]:
        client.put_item(TableName=dynamodb_table_name, Item={
            "generationId": {"S": generation_id},
            "initialParams": {"M": {"prompt": {"S": f"Prompt of {generation_id}"}, "language": {"S": "EN"},
                                    "options": {"M": {"aspectRatio": {"S": "9:16"}, "fps": {"N": "29.97"}}}}},
            "script": {"M": {"content": {"S": "Hello"}, "status": {"S": "done"}}},
            "createdAt": {"S": created}, "updatedAt": {"S": created},
        })
    return dynamodb_table_name


def ids(page):
    return [state.generation_id for state in page.items]


def test_seed_items_read_as_they_are(storage):
    state = storage.get("seed-mid")
    assert state.prompt == "Prompt of seed-mid"
    assert state.initial_params.options == {"aspectRatio": "9:16", "fps": 29.97}
    assert state.script.to_item() == {"content": "Hello", "status": "done"}
    assert state.stage_timestamps is None
    assert storage.exists("seed-new")


def test_seed_items_update_and_gain_stage_times(storage):
    updated = storage.update("seed-mid", {"audio": {"url": "https://a/b.mp3", "duration": 12}})
    assert updated.stage_timestamps == {"audio": updated.updated_at}
    assert updated.script.content == "Hello"
    assert storage.get("seed-mid") == updated


def test_seed_items_are_cleaned_up_before_and_after_the_backfill(storage):
    assert storage.cleanup(dry_run=True) == 1
    assert storage.cleanup() == 1
    assert not storage.exists("seed-old")
    storage.prepare_for_listing()
    assert storage.cleanup(older_than=timedelta(hours=2)) == 1
    assert storage.exists("seed-new") and not storage.exists("seed-mid")


def test_seed_items_become_listable_after_the_backfill(storage, seed_table, moto_server):
    storage.save({"generationId": "ours", "initialParams": {"prompt": "Ours"}})
    assert ids(storage.list_generations()) == ["ours"]  # the index gained by UpdateTable holds only ours
    assert storage.prepare_for_listing() == 3
    assert storage.prepare_for_listing() == 0  # idempotent
    assert ids(storage.list_generations()) == ["ours", "seed-new", "seed-mid", "seed-old"]
    assert ids(storage.list_generations(ListQuery(search="OF SEED-N", language="en"))) == ["seed-new"]
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    indexes = client.describe_table(TableName=seed_table)["Table"]["GlobalSecondaryIndexes"]
    assert sorted(index["IndexName"] for index in indexes) == [
        "gennie-created-index", "gennie-failure-index", "gennie-phase-index", "gennie-status-index"]
    assert "_gennieShard" not in storage.get("seed-new").to_item()


def test_items_other_producers_wrote_with_a_prompt_or_language_not_text_are_backfilled(storage, seed_table,
                                                                                       moto_server):
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.put_item(TableName=seed_table, Item={
        "generationId": {"S": "odd"}, "createdAt": {"S": ago(hours=2)},
        "initialParams": {"M": {"prompt": {"N": "5"}, "language": {"L": [{"S": "en"}]}}},
    })
    assert storage.prepare_for_listing() == 4
    assert storage.prepare_for_listing() == 0


def put_corrupt_item(seed_table: str, moto_server: str, *, created: str) -> None:
    """Another producer's item "bad" that is no generation state: its script is not a map."""
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.put_item(TableName=seed_table, Item={
        "generationId": {"S": "bad"}, "createdAt": {"S": created}, "script": {"S": "not a map"},
    })


def test_a_corrupt_item_is_named_on_get_and_skipped_by_list_and_counts(storage, seed_table, moto_server, caplog):
    put_corrupt_item(seed_table, moto_server, created=ago(minutes=30))
    storage.prepare_for_listing()
    with pytest.raises(StorageCorruptDocumentError, match="bad"):
        storage.get("bad")
    with caplog.at_level(logging.WARNING):
        assert ids(storage.list_generations(ListQuery(limit=2))) == ["seed-new", "seed-mid"]
    assert "'bad'" in caplog.text
    assert sum(storage.count_by_status().values()) == 3


# Oldest first, "bad" is third: pages of 3 read on past it to fill the first; pages of 2 read it
# past the first one's end, and the second page reads it again.
@pytest.mark.parametrize("batch_size", [3, 500, 2])
def test_iteration_reports_a_corrupt_item_to_on_skip_and_yields_every_other(storage, seed_table, moto_server,
                                                                            batch_size):
    put_corrupt_item(seed_table, moto_server, created=ago(hours=2))  # between seed-mid and seed-new
    storage.prepare_for_listing()
    for _ in range(2):  # a migration run again must be told again
        skipped = []
        states = storage.iter_generations(batch_size=batch_size, on_skip=skipped.append)
        assert [state.generation_id for state in states] == ["seed-old", "seed-mid", "seed-new"]
        assert [report.label for report in skipped] == ["bad"]
        [report] = skipped
        assert isinstance(report, SkippedDocument) and report.generation_id == "bad"
        assert "script" in report.reason


def test_an_item_nested_past_the_limit_is_corrupt_never_a_recursion_error(storage, seed_table, moto_server):
    """Real DynamoDB refuses items nested past 32 levels; moto (another producer's lax copy) does not."""
    nested: dict = {"S": "bottom"}
    for _ in range(40):
        nested = {"M": {"x": nested}}
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.put_item(TableName=seed_table, Item={
        "generationId": {"S": "deep"}, "createdAt": {"S": ago(hours=2)}, "script": nested,
    })
    storage.prepare_for_listing()
    with pytest.raises(StorageCorruptDocumentError, match="nested more than 32 levels deep"):
        storage.get("deep")
    skipped = []
    assert [s.generation_id for s in storage.iter_generations(on_skip=skipped.append)] == [
        "seed-old", "seed-mid", "seed-new"]
    [report] = skipped
    assert (report.generation_id, report.reason) == ("deep", "nested more than 32 levels deep")
    assert "deep" not in ids(storage.list_generations())


# -- counts without scans -----------------------------------------------------------------------

def counts_of(storage, stalled_after: timedelta = timedelta(days=30)) -> dict[str, int]:
    """The non-zero counts; by default nothing here has been idle long enough to be stalled."""
    return {status.value: count for status, count in storage.count_by_status(stalled_after).items() if count}


def data_requests(storage) -> dict[str, int]:
    return {name: stats["calls"] for name, stats in storage.get_metrics().details["requests"].items()}


def test_counts_come_from_counters_and_the_phase_index_never_a_scan(storage, seed_table):
    storage.prepare_for_listing()  # the seed's three items are counted once completed
    assert counts_of(storage) == {"in_progress": 3}
    before = data_requests(storage)
    storage.count_by_status()
    after = data_requests(storage)
    spent = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    assert spent == {"batch_get_item": 1, "query": 1}  # the counter shards, the stalled key range
    assert "scan" not in spent


def test_counts_follow_saves_updates_phase_changes_deletes_and_cleanup(storage, seed_table):
    storage.prepare_for_listing()
    storage.save_many([make_item(f"new-{n}") for n in range(4)])
    storage.save(make_item("another"))
    assert counts_of(storage) == {"in_progress": 8}  # the seed's 3, then saves
    storage.update("new-0", {"audio": {"status": "failed", "error": "TTS quota exceeded"}})
    storage.update("new-1", {"finalVideo": {"url": "https://cdn.example.com/v.mp4"}})
    storage.update("new-1", {"youtube": {"url": "https://youtu.be/x"}})  # completed stays completed
    assert counts_of(storage) == {"in_progress": 6, "failed": 1, "completed": 1}
    storage.save(make_item("new-1"))  # replaced by an in-progress document again
    assert counts_of(storage) == {"in_progress": 7, "failed": 1}
    storage.delete("new-0")
    storage.delete("new-0")  # already gone: nothing more taken off
    assert counts_of(storage) == {"in_progress": 7}
    assert storage.get_metrics().active_generations == 7
    assert storage.cleanup(timedelta(days=2)) == 1  # seed-old
    assert counts_of(storage) == {"in_progress": 6}


def test_stalled_is_split_from_in_progress_by_the_time_of_the_last_change(storage, seed_table):
    storage.prepare_for_listing()  # seed items were last changed 1 h, 5 h and 3 days ago
    storage.save(make_item("fresh"))
    assert counts_of(storage, timedelta(minutes=30)) == {"in_progress": 1, "stalled": 3}
    assert counts_of(storage, timedelta(hours=2)) == {"in_progress": 2, "stalled": 2}


def test_a_recount_repairs_counts_that_drifted_from_raw_writes(storage, seed_table, moto_server):
    storage.prepare_for_listing()
    storage.save_many([make_item(f"ours-{n}") for n in range(3)])
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.delete_item(TableName=seed_table, Key={"generationId": {"S": "ours-0"}})  # behind the counters' back
    client.put_item(TableName=seed_table, Item={  # another producer's finished generation
        "generationId": {"S": "theirs"}, "createdAt": {"S": ago(minutes=5)}, "updatedAt": {"S": ago(minutes=1)},
        "finalVideo": {"M": {"url": {"S": "https://cdn.example.com/f.mp4"}}},
    })
    assert counts_of(storage) == {"in_progress": 6}  # ours-0 still counted, theirs not yet
    assert storage.recount() == 6
    assert counts_of(storage) == {"in_progress": 5, "completed": 1}
    assert storage.recount() == 6  # the same again
    assert counts_of(storage) == {"in_progress": 5, "completed": 1}


def test_counter_items_are_not_documents(storage, seed_table):
    storage.save(make_item("g1"))
    assert not storage.exists("_gennie#count#in_progress#0")
    with pytest.raises(StorageNotFoundError):
        storage.get("_gennie#count#in_progress#0")
    with pytest.raises(StorageValidationError, match="reserved"):
        storage.save(make_item("_gennie#count#completed#1"))
    assert storage.prepare_for_listing() == 3  # the seed's items; never a counter
    assert "_gennie#count#in_progress#0" not in [state.generation_id for state in storage.iter_generations()]
