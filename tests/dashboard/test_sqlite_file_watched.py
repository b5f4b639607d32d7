"""The SQLite file deleted or replaced under the running dashboard (a restore, a mistaken ``rm``)."""

from __future__ import annotations

import os
import sqlite3

import pytest
from django.urls import reverse

from gennie_admin.storage import get_storage, reset_storage
from storage_backends import StorageFactory
from tests.factories import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def database(settings, tmp_path):
    path = tmp_path / "generations.sqlite3"
    settings.GENNIE_STORAGE = f"sqlite:///{path}"
    settings.GENNIE_STORAGE_BACKOFF_SECONDS = 0  # each request tries the file again
    reset_storage()
    get_storage().save(make_item("before"))
    yield path
    reset_storage()


def listed(client) -> list[str]:
    response = client.get(reverse("generations:list"))
    assert response.status_code == 200
    return [row.generation_id for row in response.context["listing"].rows]


def test_a_file_replaced_by_a_restore_is_followed(staff_client, database, tmp_path):
    assert listed(staff_client) == ["before"]
    with StorageFactory.from_url(f"sqlite:///{tmp_path / 'restored.sqlite3'}") as other:
        other.save_many([make_item("restored-1"), make_item("restored-2")])
    os.replace(tmp_path / "restored.sqlite3", database)

    assert sorted(listed(staff_client)) == ["restored-1", "restored-2"]
    get_storage().save(make_item("after"))  # written into the new file, seen by anyone who opens it
    with StorageFactory.from_url(f"sqlite:///{database}") as reader:
        assert reader.exists("after") and not reader.exists("before")


def test_a_deleted_file_is_a_503_and_unhealthy_never_a_new_empty_database(staff_client, client, database):
    assert listed(staff_client) == ["before"]
    backup = database.with_name("backup.sqlite3")
    with sqlite3.connect(database) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)  # what a backup tool does: the WAL's content included
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)

    response = staff_client.get(reverse("generations:list"))
    assert response.status_code == 503 and "is gone" in response.content.decode()
    assert client.get(reverse("healthz")).status_code == 503
    delete = staff_client.get(reverse("generations:detail", args=["before"]))
    assert delete.status_code == 503
    assert not database.exists()  # nothing recreated it

    os.replace(backup, database)  # restored: served again without a restart
    assert client.get(reverse("healthz")).status_code == 200
    assert listed(staff_client) == ["before"]
