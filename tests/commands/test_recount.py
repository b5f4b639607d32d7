"""``manage.py recount``: counts repaired from the documents, one line, nothing created."""

from __future__ import annotations

import boto3

from tests.factories import make_item

from .conftest import open_url, run, run_failing


def test_repairs_counts_that_raw_writes_put_off(moto_server, dynamodb_table_name):
    url = f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}"
    with open_url(url) as storage:
        storage.save_many([make_item(f"g{n}") for n in range(3)])
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    client.delete_item(TableName=dynamodb_table_name, Key={"generationId": {"S": "g0"}})
    with open_url(url) as storage:
        assert storage.get_metrics().active_generations == 3  # still counted

    out, _ = run("recount", "--storage", url)

    assert out.startswith(f"Recounted 2 generations of dynamodb ({dynamodb_table_name}) in ")
    with open_url(url) as storage:
        assert storage.get_metrics().active_generations == 2


def test_a_backend_that_keeps_no_counts_has_nothing_to_do(sqlite_url):
    open_url(sqlite_url).close()
    out, _ = run("recount", "--storage", sqlite_url)
    assert out.startswith("Recounted 0 generations of sqlite (")


def test_a_mistyped_storage_is_one_line(tmp_path):
    message, _, _ = run_failing("recount", "--storage", f"sqlite:///{tmp_path / 'typo.sqlite3'}")
    assert "opened without creating one" in message and not (tmp_path / "typo.sqlite3").exists()
