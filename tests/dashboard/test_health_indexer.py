"""The health page shows the DynamoDB stream indexer's lag per shard, and warns when it is behind."""

from __future__ import annotations

import pytest

from gennie_admin.storage import get_storage, reset_storage
from storage_backends import StorageFactory
from storage_backends.backends.dynamodb import StreamIndexer
from tests.factories import make_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_credentials")]


@pytest.fixture
def streamed(settings, storage, moto_server, dynamodb_table_name) -> str:
    """The dashboard on a DynamoDB table with the stream indexer option; returns its URL."""
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}&stream_indexer=true"
    settings.GENNIE_STORAGE = url
    reset_storage()
    get_storage().save(make_item("g1"))
    return url


def test_an_indexer_that_never_ran_is_a_warning(staff_client, streamed):
    html = staff_client.get("/health/").content.decode()
    assert "Stream indexer" in html and "has never run on this table" in html


def test_after_a_pass_each_shard_shows_its_lag_and_no_warning(staff_client, streamed):
    with StorageFactory.from_url(streamed) as storage:
        StreamIndexer(storage, owner="indexer-under-test").poll()

    html = staff_client.get("/health/").content.decode()

    assert "Stream indexer" in html and "is behind" not in html and "never run" not in html
    assert "indexer-under-test" in html and "Last at its tip" in html and " ago</td>" in html


def test_other_storages_have_no_indexer_section(staff_client):
    assert "Stream indexer" not in staff_client.get("/health/").content.decode()
