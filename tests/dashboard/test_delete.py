"""Deleting a generation: explicit permission, confirmation step, POST with CSRF."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.factories import make_item

pytestmark = pytest.mark.django_db


def delete_url(generation_id: str = "gen-1") -> str:
    return reverse("generations:delete", args=[generation_id])


def detail_url(generation_id: str = "gen-1") -> str:
    return reverse("generations:detail", args=[generation_id])


@pytest.fixture(autouse=True)
def generation(storage) -> None:
    storage.save(make_item("gen-1"))


def test_staff_without_the_permission_never_sees_the_button(staff_client):
    html = staff_client.get(detail_url()).content.decode()

    assert delete_url() not in html
    assert "Delete…" not in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_the_permission_get_403_and_nothing_is_deleted(staff_client, storage, method):
    response = getattr(staff_client, method)(delete_url(), {"confirm": "gen-1"} if method == "post" else None)

    assert response.status_code == 403
    assert storage.exists("gen-1")


def test_non_staff_with_the_permission_are_still_refused(storage, deleter):
    deleter.is_staff = False
    deleter.save()
    client = Client()
    client.force_login(deleter)

    assert client.post(delete_url(), {"confirm": "gen-1"}).status_code == 403
    assert storage.exists("gen-1")


def test_anonymous_post_goes_to_login_and_deletes_nothing(client, storage):
    response = client.post(delete_url(), {"confirm": "gen-1"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert storage.exists("gen-1")


def test_permitted_user_sees_the_button_and_a_dialog(deleter_client):
    html = deleter_client.get(detail_url()).content.decode()

    assert f'href="{delete_url()}" data-open-dialog="delete-dialog"' in html
    assert '<dialog id="delete-dialog"' in html and 'name="csrfmiddlewaretoken"' in html


def test_a_revoked_permission_is_refused_even_while_the_button_is_cached(deleter_client, deleter, storage):
    assert delete_url() in deleter_client.get(detail_url()).content.decode()
    deleter.user_permissions.clear()

    assert deleter_client.post(delete_url(), {"confirm": "gen-1"}).status_code == 403
    assert storage.exists("gen-1")


def test_get_shows_the_confirmation_and_never_deletes(deleter_client, storage):
    response = deleter_client.get(delete_url())
    html = response.content.decode()

    assert response.status_code == 200
    assert f'<form method="post" action="{delete_url()}"' in html
    assert '<input type="hidden" name="confirm" value="gen-1">' in html
    assert storage.exists("gen-1")


def test_post_deletes_and_redirects_to_the_list_with_a_message(deleter_client, storage):
    response = deleter_client.post(delete_url(), {"confirm": "gen-1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("generations:list")
    assert not storage.exists("gen-1")
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deleted generation gen-1."]


def test_each_deletion_is_logged_with_who_asked(deleter_client, caplog):
    with caplog.at_level("INFO", logger="gennie_admin.audit"):
        deleter_client.post(delete_url(), {"confirm": "gen-1"})
        deleter_client.post(delete_url(), {"confirm": "gen-1"})

    lines = [r.getMessage() for r in caplog.records if r.name == "gennie_admin.audit"]
    assert [line for line in lines if line.startswith("delete generation")] == [
        "delete generation 'gen-1' by staff: deleted", "delete generation 'gen-1' by staff: already gone",
    ]
    # The audit log's own line follows each (gennie_admin.audit.record); see test_audit.py.
    assert [line for line in lines if line.startswith("audit delete")] == [
        """audit delete by 'staff' from 127.0.0.1 ids=["gen-1"] count=1 detail='deleted'""",
        """audit delete by 'staff' from 127.0.0.1 ids=["gen-1"] count=0 detail='already gone'""",
    ]


def test_the_message_shows_on_the_list(deleter_client):
    response = deleter_client.post(delete_url(), {"confirm": "gen-1"}, follow=True)

    assert "Deleted generation gen-1." in response.content.decode()


def test_post_without_confirmation_deletes_nothing(deleter_client, storage):
    response = deleter_client.post(delete_url(), {"confirm": "other"})

    assert response.status_code == 400
    assert "not confirmed" in response.content.decode()
    assert storage.exists("gen-1")


def test_superusers_have_the_permission_implicitly(admin_client, storage):
    assert delete_url() in admin_client.get(detail_url()).content.decode()
    admin_client.post(delete_url(), {"confirm": "gen-1"})

    assert not storage.exists("gen-1")


def test_post_needs_a_csrf_token(deleter, storage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(deleter)

    assert client.post(delete_url(), {"confirm": "gen-1"}).status_code == 403
    assert storage.exists("gen-1")


def test_deleting_something_already_gone_says_so(deleter_client):
    response = deleter_client.post(delete_url("gone"), {"confirm": "gone"})

    assert response.status_code == 302
    assert "already gone" in str(list(get_messages(response.wsgi_request))[0])
    assert deleter_client.get(delete_url("gone")).status_code == 404


def test_a_corrupt_document_can_be_deleted(deleter_client, storage):
    storage._items["broken"] = {"generationId": "broken", "script": 3}

    assert deleter_client.get(delete_url("broken")).status_code == 200
    deleter_client.post(delete_url("broken"), {"confirm": "broken"})
    assert not storage.exists("broken")


def test_odd_ids_are_deleted_exactly(deleter_client, storage):
    storage.save(make_item("a/b"))
    deleter_client.post(delete_url("a/b"), {"confirm": "a/b"})

    assert not storage.exists("a/b") and storage.exists("gen-1")
