"""A document nested 2,000 levels deep, written straight into SQLite or a file store by another
program: it never breaks a page, it is shown as corrupt where it is asked for."""

from __future__ import annotations

import json
import sqlite3

import pytest
from django.urls import reverse

from gennie_admin.storage import get_storage, reset_storage
from storage_backends import StorageValidationError
from tests.factories import make_item

pytestmark = pytest.mark.django_db

DEEP = '{"generationId": "deep", "script": {"content": "x", "extra": ' + "[" * 2000 + "]" * 2000 + "}}"


@pytest.fixture(params=["sqlite", "file"])
def hostile_storage(request, settings, tmp_path):
    """The dashboard's storage, holding one good generation and one nested 2,000 levels deep."""
    kind = request.param
    settings.GENNIE_STORAGE = (f"sqlite:///{tmp_path / 'generations.sqlite3'}" if kind == "sqlite"
                               else f"file://{tmp_path / 'files'}")
    reset_storage()
    storage = get_storage()
    storage.save_many([make_item("good"), make_item("deep")])
    if kind == "sqlite":
        with sqlite3.connect(tmp_path / "generations.sqlite3") as conn:
            conn.execute("UPDATE generations SET document = ? WHERE generation_id = 'deep'", (DEEP,))
    else:
        (tmp_path / "files" / "deep.json").write_text(DEEP)
    yield storage
    reset_storage()


def test_the_list_shows_the_others(staff_client, hostile_storage, request):
    response = staff_client.get(reverse("generations:list"))

    assert response.status_code == 200
    listed = [row.generation_id for row in response.context["listing"].rows]
    if request.node.callspec.params["hostile_storage"] == "sqlite":
        # Listed from the summary columns written while it was valid; its detail page says what is wrong.
        assert sorted(listed) == ["deep", "good"]
    else:
        assert listed == ["good"]


def test_the_detail_page_says_what_is_wrong(staff_client, hostile_storage):
    response = staff_client.get(reverse("generations:detail", args=["deep"]))
    html = response.content.decode()

    assert response.status_code == 200
    assert "This document does not validate" in html and "nested more than 32 levels deep" in html
    assert "RecursionError" not in html


def test_download_timeline_and_probe_still_answer(staff_client, client, hostile_storage):
    download = staff_client.get(reverse("generations:download", args=["deep"]))
    timeline = staff_client.get(reverse("generations:timeline", args=["deep"]))

    assert download.status_code == 200 and json.loads(download.content) is None  # nothing decodable to give
    assert timeline.status_code == 302 and timeline["Location"] == reverse("generations:detail", args=["deep"])
    assert client.get(reverse("healthz")).status_code == 200


def test_saving_a_document_past_the_limit_is_refused_by_name(hostile_storage):
    deep: dict = {}
    for _ in range(2000):
        deep = {"x": deep}
    with pytest.raises(StorageValidationError, match="more than 32 levels deep"):
        hostile_storage.save({"generationId": "deeper", "script": {"content": "x", "extra": deep}})
    with pytest.raises(StorageValidationError, match="more than 32 levels deep"):
        hostile_storage.update("good", {"audio": {"extra": deep}})
    assert not hostile_storage.exists("deeper")
