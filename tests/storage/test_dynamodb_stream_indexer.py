"""The stream indexer on moto's HTTP server with streams: derived state from every producer's writes.

Other producers are played here by raw boto3 writes as the seed's TypeScript indexed makes them
(whole-item puts without this library's attributes, stage updates, deletes); the JavaScript
producer itself is in tests/indexed/test_js_producer_indexed.py.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import boto3
import pytest

from storage_backends import GenerationStatus, InsightsQuery, ListQuery, StorageFactory
from storage_backends.backends.dynamodb import StreamIndexer, stream_handler
from storage_backends.backends.dynamodb.streams import lambda_handler, records
from storage_backends.backends.dynamodb.streams.checkpoints import read_shards
from storage_backends.models import utcnow

from ..factories import ago, completed_stages, make_item

pytestmark = pytest.mark.usefixtures("aws_credentials")

FAILED_AUDIO = {"script": {"content": "x"}, "audio": {"status": "failed", "error": "TTS quota exceeded (req 7f3a)"}}


@pytest.fixture
def url(moto_server, dynamodb_table_name) -> str:
    return f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&stream_indexer=true&read_timeout=30"


@pytest.fixture
def indexed(url):
    with StorageFactory.from_url(url) as indexed:
        indexed.list_summaries()  # the table and its stream
        yield indexed


@pytest.fixture
def table(indexed, moto_server):
    """The table as another producer sees it (boto3's resource: plain Python values)."""
    return boto3.resource("dynamodb", region_name="us-east-1", endpoint_url=moto_server).Table(
        indexed.describe()["table"])


def statuses(indexed) -> dict[GenerationStatus, int]:
    return {status: count for status, count in indexed.count_by_status().items() if count}


def listed(indexed, **filters) -> list[str]:
    return [summary.generation_id for summary in indexed.list_summaries(ListQuery(limit=500, **filters)).items]


def foreign(generation_id: str, **extra) -> dict:
    """A whole item as the seed's producer puts it: the document alone, no derived attributes
    (numbers as boto3's resource wants them)."""
    item = make_item(generation_id, created_at=extra.pop("created_at", ago(minutes=30)),
                     updated_at=extra.pop("updated_at", ago(minutes=1)), **extra)
    return json.loads(json.dumps(item), parse_float=Decimal)


def test_the_option_switches_the_tables_stream_on_with_old_and_new_images(indexed, moto_server):
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    spec = client.describe_table(TableName=indexed.describe()["table"])["Table"]["StreamSpecification"]
    assert spec == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert indexed.describe()["stream_indexer"] is True


def test_an_existing_table_without_a_stream_gets_one(moto_server, dynamodb_table_name, url):
    with StorageFactory.from_url(url.replace("&stream_indexer=true", "")) as plain:
        plain.save(make_item("before"))
    with StorageFactory.from_url(url) as streamed:
        streamed.list_summaries()
        client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
        assert client.describe_table(TableName=dynamodb_table_name)["Table"]["StreamSpecification"]["StreamEnabled"]


def test_this_librarys_writes_are_counted_by_the_indexer_once(indexed):
    indexed.save_many([make_item(f"done-{n}", **completed_stages()) for n in range(3)])
    indexed.save(make_item("failing", **FAILED_AUDIO))
    indexed.save(make_item("running"))
    indexed.update("running", {"script": {"content": "now with a script"}})
    assert statuses(indexed) == {}  # the write path leaves the counts to the indexer
    assert len(listed(indexed)) == 5  # but lists at once: the attributes came with the write

    report = StreamIndexer(indexed).poll()

    assert report.records >= 6 and report.shards_read
    assert statuses(indexed) == {GenerationStatus.COMPLETED: 3, GenerationStatus.FAILED: 1,
                                 GenerationStatus.IN_PROGRESS: 1}
    assert StreamIndexer(indexed).poll().records == 0  # read from the checkpoint on: nothing new
    assert statuses(indexed)[GenerationStatus.COMPLETED] == 3


def test_another_producers_puts_updates_and_deletes_are_listed_counted_and_rolled_up(indexed, table):
    indexer = StreamIndexer(indexed)
    for n in range(6):
        table.put_item(Item=foreign(f"js-{n}"))
    table.put_item(Item=foreign("js-failed", **FAILED_AUDIO))
    assert listed(indexed) == []  # no index attributes yet

    indexer.poll()

    assert sorted(listed(indexed)) == sorted([f"js-{n}" for n in range(6)] + ["js-failed"])
    assert listed(indexed, status=GenerationStatus.FAILED) == ["js-failed"]
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 6, GenerationStatus.FAILED: 1}
    # A whole-item put again drops the attributes, a stage update leaves stale ones, a delete removes.
    table.put_item(Item=foreign("js-0", **completed_stages()))
    table.update_item(Key={"generationId": "js-1"}, UpdateExpression="SET #a = :a, updatedAt = :u",
                      ExpressionAttributeNames={"#a": "audio"},
                      ExpressionAttributeValues={":a": {"status": "failed", "error": "TTS quota exceeded (req 0b12)"},
                                                 ":u": utcnow().isoformat().replace("+00:00", "Z")})
    table.delete_item(Key={"generationId": "js-2"})

    indexer.poll()

    assert statuses(indexed) == {GenerationStatus.COMPLETED: 1, GenerationStatus.IN_PROGRESS: 3,
                                 GenerationStatus.FAILED: 2}
    assert sorted(listed(indexed, status=GenerationStatus.FAILED)) == ["js-1", "js-failed"]
    assert "js-2" not in listed(indexed) and "js-0" in listed(indexed, status=GenerationStatus.COMPLETED)
    day = indexed.insights(InsightsQuery(created_after=utcnow() - timedelta(hours=2), created_before=utcnow()))
    assert {group.count for group in day.failures} == {2}  # both TTS failures, one group
    assert sorted(day.failures[0].example_ids) == ["js-1", "js-failed"]


def test_a_batch_read_again_from_a_stale_checkpoint_counts_nothing_twice(indexed, table):
    for n in range(4):
        table.put_item(Item=foreign(f"js-{n}"))
    indexer = StreamIndexer(indexed)
    indexer.poll()
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 4}

    # A process that did not see its checkpoint move (its lease lapsed and came back, say)
    # reads the same records again: its transaction's checkpoint condition fails.
    for held in indexer._held.values():
        held.checkpoint, held.iterator = None, None
    report = indexer.poll()
    assert report.shards_read == [] and not indexer._held  # it let the shard go, writing nothing
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 4}

    table.put_item(Item=foreign("js-later"))
    indexer.poll()  # it goes on from the stored checkpoint
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 5}


def test_a_batch_lambda_delivers_again_counts_nothing_twice(indexed, table, monkeypatch):
    for n in range(4):
        table.put_item(Item=foreign(f"js-{n}"))
    table.update_item(Key={"generationId": "js-0"}, UpdateExpression="SET #a = :a",
                      ExpressionAttributeNames={"#a": "audio"},
                      ExpressionAttributeValues={":a": {"status": "failed", "error": "TTS down"}})
    seen = []
    reader = StreamIndexer(indexed)
    monkeypatch.setattr(reader._applier, "apply", lambda records, **_: seen.extend(records) or 0)
    reader.poll()  # only to fetch the stream's records, as Lambda would hand them over
    assert len(seen) == 5

    monkeypatch.setattr(lambda_handler, "_applier", records.RecordApplier(indexed._stream_parts()))
    for _ in range(2):  # Lambda retries the whole batch
        assert stream_handler({"Records": seen}) == {"batchItemFailures": []}
        assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 3, GenerationStatus.FAILED: 1}
    assert stream_handler({"Records": seen[-2:]}) == {"batchItemFailures": []}  # a part of it, again
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 3, GenerationStatus.FAILED: 1}


def test_two_indexers_at_once_share_the_shards_and_count_once(url, indexed, table):
    for n in range(10):
        table.put_item(Item=foreign(f"js-{n}"))
    with StorageFactory.from_url(url) as other_storage:
        first, second = StreamIndexer(indexed, owner="first"), StreamIndexer(other_storage, owner="second")
        reports = []
        threads = [threading.Thread(target=lambda indexer=indexer: reports.append(indexer.poll()))
                   for indexer in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    read = [shard for report in reports for shard in report.shards_read]
    assert len(read) == len(set(read))  # no shard read by both
    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 10}
    shards = read_shards(indexed._stream_parts().calls, first.indexer_table)
    assert {state.owner for state in shards.values()} <= {"first", "second"}


def test_an_indexer_killed_mid_batch_resumes_from_its_checkpoint_losing_nothing(indexed, table, monkeypatch):
    for n in range(30):
        table.put_item(Item=foreign(f"js-{n:02d}"))
    monkeypatch.setattr(records, "GROUP_RECORDS", 10)  # three transactions for the thirty puts
    crashing = StreamIndexer(indexed, owner="crashing", lease_seconds=0.5)
    applier = crashing._applier
    real_transact = applier._transact
    transactions = []

    def die_on_the_second(actions):
        transactions.append(actions)
        if len(transactions) == 2:
            raise KeyboardInterrupt("killed")
        return real_transact(actions)

    monkeypatch.setattr(applier, "_transact", die_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        crashing.poll()
    counted = statuses(indexed).get(GenerationStatus.IN_PROGRESS, 0)
    assert 0 < counted < 30  # the first transaction landed, the second never did

    threading.Event().wait(0.6)  # its lease expires
    StreamIndexer(indexed, owner="restarted").poll()

    assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 30}
    assert len(listed(indexed)) == 30


def test_items_from_before_the_stream_are_backfilled_once_then_the_stream_keeps_up(moto_server, dynamodb_table_name,
                                                                                  url):
    client = boto3.resource("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.create_table(TableName=dynamodb_table_name, BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "generationId", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "generationId", "AttributeType": "S"}])
    seed_table = client.Table(dynamodb_table_name)
    for n in range(5):
        seed_table.put_item(Item=foreign(f"old-{n}"))
    with StorageFactory.from_url(url) as indexed:
        assert indexed.prepare_for_listing() == 5  # the one-time backfill: attributes, not counts
        indexed.recount()  # the counts of what the stream never saw
        indexer = StreamIndexer(indexed)
        indexer.poll()
        assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 5}
        seed_table.put_item(Item=foreign("new-0", **completed_stages()))
        indexer.poll()
        assert statuses(indexed) == {GenerationStatus.IN_PROGRESS: 5, GenerationStatus.COMPLETED: 1}
        assert len(listed(indexed)) == 6


def test_cleanup_with_the_indexer_keeps_the_hours_history(indexed, table):
    indexed.save_many([make_item(f"old-{n}", created_at=ago(days=40), updated_at=ago(days=40), **completed_stages())
                       for n in range(3)], preserve_timestamps=True)
    indexer = StreamIndexer(indexed)
    indexer.poll()
    window = InsightsQuery(created_after=utcnow() - timedelta(days=41), created_before=utcnow() - timedelta(days=39),
                           bucket="day")
    before = indexed.insights(window)

    assert indexed.cleanup(timedelta(days=30)) == 3
    indexer.poll()

    assert statuses(indexed) == {}
    after = indexed.insights(window)
    assert [bucket.counts for bucket in after.buckets] == [bucket.counts for bucket in before.buckets]
