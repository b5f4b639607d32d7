"""migrate_storage with DynamoDB at either end, over moto's real HTTP server."""

from __future__ import annotations

import itertools
import re

import boto3
import pytest

from storage_backends.backends.dynamodb.index import SHARD
from storage_backends.demo import demo_generations
from tests.factories import make_item

from .conftest import documents, open_url, run, run_failing
from .test_migrate_storage import NOW, ODD_ONES, seed


@pytest.fixture
def dynamodb_url(moto_server, dynamodb_table_name) -> str:
    # moto answers one request at a time (tests/conftest.py), so a read made while the migration
    # writes waits its turn: longer than the backend's default read timeout, made for DynamoDB.
    return f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&read_timeout=30"


@pytest.fixture
def urls(tmp_path, dynamodb_url) -> dict[str, str]:
    return {
        "file": f"file://{tmp_path / 'files'}",
        "sqlite": f"sqlite:///{tmp_path / 'generations.sqlite3'}",
        "dynamodb": dynamodb_url,
    }


def test_2000_generations_file_to_dynamodb_to_sqlite_verified(urls):
    seed(urls["file"], 2000, extra=ODD_ONES)
    # Reading moto's DynamoDB back is slow, so only the second leg re-reads it to verify.
    out, err = run("migrate_storage", "--source", urls["file"], "--target", urls["dynamodb"])
    assert out.splitlines()[0].endswith(" (8 workers)")  # DynamoDB's default
    assert "Copied 2,003, skipped 0 (0 unchanged, 0 newer in the target), failed 0" in out, err
    out, err = run("migrate_storage", "--source", urls["dynamodb"], "--target", urls["sqlite"], "--verify")
    assert "Copied 2,003, skipped 0" in out and "Verified 2,003 documents: 0 difference(s)" in out, err
    assert documents(urls["sqlite"]) == documents(urls["file"])


@pytest.mark.parametrize(("source", "target"), list(itertools.permutations(["file", "sqlite", "dynamodb"], 2)))
def test_every_pair_of_backends(urls, source, target):
    seed(urls[source], 150, extra=ODD_ONES)
    out, _ = run("migrate_storage", "--source", urls[source], "--target", urls[target], "--verify")
    assert "Verified 153 documents: 0 difference(s)" in out
    out, _ = run("migrate_storage", "--source", urls[source], "--target", urls[target])
    assert "Copied 0, skipped 153 (153 unchanged" in out
    assert documents(urls[target]) == documents(urls[source])


def test_a_document_too_large_for_dynamodb_is_named_while_the_rest_migrates(urls):
    huge = make_item("huge", created_at="2026-11-20T00:00:00.000Z", updated_at="2026-11-20T00:00:00.000Z",
                     script={"content": "x" * 450_000})
    seed(urls["sqlite"], 60, extra=[huge])
    message, out, err = run_failing("migrate_storage", "--source", urls["sqlite"], "--target", urls["dynamodb"])
    assert message == "1 document(s) failed to migrate (listed above)"
    assert "Copied 60, skipped 0 (0 unchanged, 0 newer in the target), failed 1" in out
    # The content, plus what the backend adds (index attributes, summary, write token): about 450 KB.
    assert re.search(r"  huge: not written to the target: generation 'huge' is 450,\d{3} bytes; "
                     r"a DynamoDB item holds at most 409,600", err)
    assert len(documents(urls["dynamodb"])) == 60


def test_items_written_by_other_producers_are_indexed_then_migrated(urls, dynamodb_table_name, moto_server):
    with open_url(urls["dynamodb"]) as storage:
        storage.save_many(list(demo_generations(5, now=NOW)), preserve_timestamps=True)
    # Another producer writes plain items, without the backend's index attributes.
    table = boto3.resource("dynamodb", region_name="us-east-1", endpoint_url=moto_server).Table(dynamodb_table_name)
    table.put_item(Item={"generationId": "from-the-pipeline", "createdAt": "2026-11-25T08:00:00.000Z",
                         "updatedAt": "2026-11-25T08:01:00.000Z", "initialParams": {"prompt": "raw", "language": "en"}})
    assert SHARD not in table.get_item(Key={"generationId": "from-the-pipeline"})["Item"]
    out, _ = run("migrate_storage", "--source", urls["dynamodb"], "--target", urls["sqlite"], "--verify")
    assert "Indexed 1 items of dynamodb" in out
    assert "from-the-pipeline" in documents(urls["sqlite"])
    assert "Verified 6 documents: 0 difference(s)" in out


def test_dynamodb_that_is_down_is_one_command_error(urls):
    seed(urls["file"], 1)  # a source that exists: a missing one may be refused before the target is tried
    down = "dynamodb://t-down?region=us-east-1&endpoint=http://127.0.0.1:9&max_attempts=1&connect_timeout=0.2"
    message, _, _ = run_failing("migrate_storage", "--source", urls["file"], "--target", down)
    assert message.startswith("indexing dynamodb (t-down) failed: ")
