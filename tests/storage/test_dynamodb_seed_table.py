"""A table laid out exactly as the seed describes, written by another producer, over real HTTP.

Only the hash key, items put with raw boto3 in camelCase, no attribute of this backend: they
read, update and clean up as they are, and become listable after ``prepare_for_listing``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import boto3
import pytest

from storage_backends import ListQuery, StorageCorruptDocumentError, StorageFactory

from ..factories import ago


@pytest.fixture
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


@pytest.fixture
def storage(seed_table, moto_server):
    with StorageFactory.from_url(f"dynamodb://{seed_table}?endpoint={moto_server}") as storage:
        yield storage


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
    assert [index["IndexName"] for index in indexes] == ["gennie-created-index"]
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


def test_a_corrupt_item_is_named_on_get_and_skipped_by_list_and_counts(storage, seed_table, moto_server, caplog):
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.put_item(TableName=seed_table, Item={
        "generationId": {"S": "bad"}, "createdAt": {"S": ago(minutes=30)}, "script": {"S": "not a map"},
    })
    storage.prepare_for_listing()
    with pytest.raises(StorageCorruptDocumentError, match="bad"):
        storage.get("bad")
    with caplog.at_level(logging.WARNING):
        assert ids(storage.list_generations(ListQuery(limit=2))) == ["seed-new", "seed-mid"]
    assert "'bad'" in caplog.text
    assert sum(storage.count_by_status().values()) == 3
