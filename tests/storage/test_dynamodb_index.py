"""DynamoDB's status index, slim index items and derived state, over moto's real HTTP server.

What a page costs is read from the backend's ``last_list_items_read`` (the sum of the Query
responses' ``ScannedCount``) and from the requests it sent.
"""

from __future__ import annotations

import pytest

from storage_backends import GenerationStatus, ListQuery
from storage_backends.backends.dynamodb.index import CREATED_KEY
from storage_backends.backends.dynamodb.table import ROW_ATTRIBUTES

from ..factories import ago, completed_stages, make_item

pytestmark = pytest.mark.backends("dynamodb-server")


def client_for(storage):
    return storage._calls.client


def items_read(storage) -> int:
    return storage.get_metrics().details["last_list_items_read"]


@pytest.fixture
def one_percent_failed(storage):
    """400 generations, newest first g0000…; every hundredth failed, and of the in-progress ones
    (every tenth but those) a third stalled; the rest completed."""
    items = []
    for n in range(400):
        if n % 100 == 0:
            stages = {"script": {"content": "x"}, "audio": {"status": "failed", "error": "TTS quota"}}
        elif n % 10 == 0:
            stages = {"script": {"content": "x"}}
        else:
            stages = completed_stages()
        stalled = n % 10 == 0 and n % 30 == 0
        items.append(make_item(f"g{n:04d}", created_at=ago(minutes=n + 60),
                               updated_at=ago(hours=3) if stalled else ago(minutes=1), **stages))
    storage.save_many(items, preserve_timestamps=True)
    return storage


def walk(storage, query: ListQuery) -> tuple[list[str], list[int]]:
    """Every page of the query: the ids in order and what each page read."""
    ids, reads = [], []
    while True:
        page = storage.list_summaries(query)
        ids += [item.generation_id for item in page.items]
        reads.append(items_read(storage))
        if not page.next_cursor:
            return ids, reads
        query = query.model_copy(update={"cursor": page.next_cursor})


def test_every_status_lists_all_of_its_own_within_the_read_budget(one_percent_failed):
    storage, limit = one_percent_failed, 20
    for status in GenerationStatus:
        expected = [state.generation_id for state in storage.iter_generations() if state.status is status]
        for newest_first in (True, False):
            ids, reads = walk(storage, ListQuery(status=status, limit=limit, newest_first=newest_first))
            assert ids == (list(reversed(expected)) if newest_first else expected), (status, newest_first)
            assert max(reads) <= 2 * limit + 1, (status, newest_first)


def test_a_status_page_reads_only_its_own_where_one_percent_match(one_percent_failed):
    storage = one_percent_failed
    first = storage.list_generations(ListQuery(status=GenerationStatus.FAILED, limit=2))
    assert items_read(storage) == 3  # the page and one more, of 400
    second = storage.list_generations(ListQuery(status=GenerationStatus.FAILED, limit=2, cursor=first.next_cursor))
    assert [s.generation_id for s in second.items] == ["g0200", "g0300"]
    assert items_read(storage) <= 2 * 2 + 1 and second.next_cursor is None
    back = storage.list_generations(ListQuery(status=GenerationStatus.FAILED, limit=2, cursor=second.prev_cursor))
    assert [s.generation_id for s in back.items] == [s.generation_id for s in first.items] == ["g0000", "g0100"]
    assert items_read(storage) <= 5
    oldest = storage.list_generations(ListQuery(status=GenerationStatus.FAILED, limit=2, newest_first=False))
    assert [s.generation_id for s in oldest.items] == ["g0300", "g0200"] and items_read(storage) == 3


def test_index_items_carry_a_row_not_the_document(storage):
    storage.save(make_item("g1", **completed_stages()))
    client = client_for(storage)
    for index in ("gennie-created-index", "gennie-status-index"):
        (item,) = client.scan(TableName=storage._table, IndexName=index)["Items"]
        assert set(item) <= {*ROW_ATTRIBUTES, CREATED_KEY, "generationId"}
        assert "script" not in item and "initialParams" not in item
        assert item["_gennieSummary"]["M"]["prompt"] == {"S": "A video about otters"}


def test_a_stage_update_is_one_read_and_one_write_of_the_item(storage):
    storage.save(make_item("g1", script={"content": "x"}))
    sent: list[str] = []
    client_for(storage).meta.events.register("before-call.dynamodb", lambda model, **_: sent.append(model.name))
    storage.update("g1", {"audio": {"url": "https://a/b.mp3"}})  # no phase change: the totals stay
    assert sent == ["GetItem", "PutItem", "UpdateItem"]  # the hour's sums: audio's duration
    sent.clear()
    storage.update("g1", {"audio": {"status": "failed"}})  # in progress -> failed: the totals move too
    assert sent == ["GetItem", "PutItem", "UpdateItem", "UpdateItem"]


def test_items_another_producer_changed_are_refreshed_by_a_recount(storage):
    storage.save_many([make_item("g1", script={"content": "x"}), make_item("g2", script={"content": "x"})])
    client = client_for(storage)
    # Another producer fails g1's audio with a raw UpdateItem: the derived attributes are stale now.
    client.update_item(TableName=storage._table, Key={"generationId": {"S": "g1"}},
                       UpdateExpression="SET audio = :a, updatedAt = :u",
                       ExpressionAttributeValues={":a": {"M": {"status": {"S": "failed"}, "error": {"S": "boom"}}},
                                                  ":u": {"S": ago(seconds=1)}})
    assert storage.count_by_status()[GenerationStatus.FAILED] == 0
    assert storage.recount() == 2
    counts = storage.count_by_status()
    assert (counts[GenerationStatus.FAILED], counts[GenerationStatus.IN_PROGRESS]) == (1, 1)
    (failed,) = storage.list_summaries(ListQuery(status=GenerationStatus.FAILED)).items
    assert (failed.generation_id, failed.error, failed.current_stage.value) == ("g1", "boom", "audio")
    assert storage.recount() == 2  # nothing stale now: nothing rewritten, the same counts
    assert storage.count_by_status() == counts


def test_an_item_put_without_derived_attributes_is_listed_once_prepared(storage):
    storage.save(make_item("ours"))
    client_for(storage).put_item(TableName=storage._table, Item={
        "generationId": {"S": "theirs"}, "createdAt": {"S": ago(minutes=5)}, "updatedAt": {"S": ago(minutes=5)},
        "initialParams": {"M": {"prompt": {"S": "From TypeScript"}, "language": {"S": "en"}}}})
    assert [s.generation_id for s in storage.list_summaries().items] == ["ours"]
    assert storage.prepare_for_listing() == 1
    listed = {s.generation_id: s for s in storage.list_summaries().items}
    assert set(listed) == {"ours", "theirs"} and listed["theirs"].prompt == "From TypeScript"
    assert storage.count_by_status()[GenerationStatus.IN_PROGRESS] == 2
    assert storage.prepare_for_listing() == 0


def test_rows_an_earlier_version_indexed_without_a_summary_are_summarized_from_their_documents(storage):
    storage.save(make_item("g1", script={"content": "x"}))
    client_for(storage).update_item(TableName=storage._table, Key={"generationId": {"S": "g1"}},
                                    UpdateExpression="REMOVE #s", ExpressionAttributeNames={"#s": "_gennieSummary"})
    (summary,) = storage.list_summaries().items
    assert (summary.generation_id, summary.prompt, summary.status) == (
        "g1", "A video about otters", GenerationStatus.IN_PROGRESS)
