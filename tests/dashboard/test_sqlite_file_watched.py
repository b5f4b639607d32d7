"""The SQLite file deleted or replaced under the running dashboard (a restore, a mistaken ``rm``),
served by a live server over real HTTP."""

from __future__ import annotations

import os
import sqlite3
import urllib.request
from urllib.error import HTTPError

import pytest
from django.urls import reverse

from gennie_admin.storage import get_storage, reset_storage
from storage_backends import StorageFactory
from tests.factories import make_item


@pytest.fixture
def database(settings, tmp_path):
    path = tmp_path / "generations.sqlite3"
    settings.GENNIE_STORAGE = f"sqlite:///{path}"
    settings.GENNIE_STORAGE_BACKOFF_SECONDS = 0  # each request tries the file again
    reset_storage()
    get_storage().save(make_item("before"))
    yield path
    reset_storage()


@pytest.fixture
def fetch(live_server, client, admin_user):
    """``fetch(path)``: (status, body) of a GET on the live server, signed in as a superuser."""
    client.force_login(admin_user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    def get(path: str) -> tuple[int, str]:
        request = urllib.request.Request(live_server.url + path, headers={"Cookie": cookie})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except HTTPError as error:
            return error.code, error.read().decode()

    return get


LIST = reverse("generations:list")


def test_a_file_replaced_by_a_restore_is_followed(fetch, database, tmp_path):
    assert "before" in fetch(LIST)[1]
    with StorageFactory.from_url(f"sqlite:///{tmp_path / 'restored.sqlite3'}") as other:
        other.save_many([make_item("restored-1"), make_item("restored-2")])
    os.replace(tmp_path / "restored.sqlite3", database)

    status, html = fetch(LIST)
    assert status == 200 and "restored-1" in html and "restored-2" in html and ">before<" not in html
    get_storage().save(make_item("after"))  # written into the new file, seen by anyone who opens it
    with StorageFactory.from_url(f"sqlite:///{database}") as reader:
        assert reader.exists("after") and not reader.exists("before")


def test_a_deleted_file_is_a_503_and_unhealthy_never_a_new_empty_database(fetch, database):
    assert fetch(LIST)[0] == 200
    backup = database.with_name("backup.sqlite3")
    with sqlite3.connect(database) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)  # what a backup tool does: the WAL's content included
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)

    status, html = fetch(LIST)
    assert status == 503 and "is gone" in html
    assert fetch(reverse("healthz"))[0] == 503
    assert fetch(reverse("generations:detail", args=["before"]))[0] == 503
    assert not database.exists()  # nothing recreated it

    os.replace(backup, database)  # restored: served again without a restart
    assert fetch(reverse("healthz"))[0] == 200
    status, html = fetch(LIST)
    assert status == 200 and "before" in html
