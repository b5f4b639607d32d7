"""``manage.py dynamodb_indexer``: another producer's writes counted by one pass; clear one-line failures."""

from __future__ import annotations

import boto3

from storage_backends import GenerationStatus
from tests.factories import completed_stages, make_item

from .conftest import open_url, run, run_failing


def test_once_applies_what_the_stream_holds_and_says_so(moto_server, dynamodb_table_name):
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&stream_indexer=true"
    with open_url(url) as storage:
        storage.save(make_item("ours", **completed_stages()))
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.put_item(TableName=dynamodb_table_name, Item={
        "generationId": {"S": "theirs"}, "createdAt": {"S": "2026-12-01T10:00:00.000Z"},
        "updatedAt": {"S": "2026-12-01T10:00:00.000Z"},
        "initialParams": {"M": {"prompt": {"S": "otters"}, "language": {"S": "en"}}}})

    out, _ = run("dynamodb_indexer", "--once", "--storage", url)

    assert out.startswith("Read ") and f"of dynamodb ({dynamodb_table_name}) (2 moved the counts) from 1 shards" in out
    with open_url(url) as storage:
        counts = storage.count_by_status()
        assert (counts[GenerationStatus.COMPLETED], counts[GenerationStatus.STALLED]) == (1, 1)
        assert {summary.generation_id for summary in storage.list_summaries().items} == {"ours", "theirs"}
    # Next: the records of the first pass's own attribute updates, which move nothing; then nothing.
    again, _ = run("dynamodb_indexer", "--once", "--storage", url)
    assert "(0 moved the counts)" in again
    assert run("dynamodb_indexer", "--once", "--storage", url)[0].startswith("Read 0 stream records")


def test_a_storage_without_the_option_is_one_line(moto_server, dynamodb_table_name):
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}"
    open_url(url).close()
    message, _, _ = run_failing("dynamodb_indexer", "--once", "--storage", url)
    assert "stream_indexer=true" in message and "\n" not in message


def test_another_backend_is_refused(sqlite_url):
    open_url(sqlite_url).close()
    message, _, _ = run_failing("dynamodb_indexer", "--once", "--storage", sqlite_url)
    assert message.startswith("dynamodb_indexer needs a DynamoDB storage, not sqlite (")


def test_the_interval_must_be_positive(sqlite_url):
    message, _, _ = run_failing("dynamodb_indexer", "--interval", "0", "--storage", sqlite_url)
    assert message == "--interval must be a positive number of seconds"
