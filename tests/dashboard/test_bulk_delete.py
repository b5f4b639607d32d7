"""Bulk delete from the list: permission, the preview's count and rows, the typed confirmation, CSRF, the
deletion and its audit entry."""

from __future__ import annotations

import re
import threading

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from gennie_admin.models import AuditEntry
from gennie_admin.views import bulk_delete
from storage_backends import StorageOperationError
from tests.factories import at_minute, make_item

pytestmark = pytest.mark.django_db

URL = "/bulk-delete/"
FAILED = {"script": {"status": "failed", "error": "LLM timeout after 30s"}}


@pytest.fixture
def few(storage) -> list[str]:
    ids = [f"gen-{n}" for n in range(5)]
    storage.save_many([make_item(i, created_at=at_minute(n), updated_at=at_minute(n)) for n, i in enumerate(ids)],
                      preserve_timestamps=True)
    return ids


@pytest.fixture
def many(storage) -> list[str]:
    """1,200 generations; two in three failed. Returns the failed ids, newest first."""
    items = [make_item(f"gen-{n:04d}", created_at=at_minute(n), updated_at=at_minute(n), **(FAILED if n % 3 else {}))
             for n in range(1200)]
    storage.save_many(items, preserve_timestamps=True)
    return [f"gen-{n:04d}" for n in reversed(range(1200)) if n % 3]


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.content.decode())
    assert match, "the preview has no confirmation form"
    return match.group(1)


def preview_ids(response) -> list[str]:
    return re.findall(r'<tr class="bulk-preview-row">\s*<td class="mono">([^<]+)</td>', response.content.decode())


def confirm(client: Client, preview, count, **extra):
    return client.post(URL, {"token": token_of(preview), "confirm_count": str(count), **extra})


# --- who may use it -------------------------------------------------------------------------------------------


def test_staff_without_the_permission_see_no_checkboxes(staff_client, few):
    html = staff_client.get("/").content.decode()

    assert 'name="id"' not in html and 'id="bulk-delete"' not in html and URL not in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_the_permission_get_403(staff_client, storage, few, method):
    response = getattr(staff_client, method)(URL, {"scope": "selected", "id": few[:2]})

    assert response.status_code == 403
    assert all(storage.exists(i) for i in few)


def test_a_forged_confirmation_from_staff_without_the_permission_is_403(deleter, few, storage):
    client = Client()
    client.force_login(deleter)
    preview = client.post(URL, {"scope": "selected", "id": few[:2]})
    deleter.user_permissions.clear()
    client = Client()
    client.force_login(User.objects.get(pk=deleter.pk))

    assert confirm(client, preview, 2).status_code == 403
    assert all(storage.exists(i) for i in few)


def test_anonymous_visitors_go_to_the_login_page(client, few, storage):
    response = client.post(URL, {"scope": "selected", "id": few[:2]})

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert all(storage.exists(i) for i in few)


def test_permitted_staff_see_a_checkbox_per_row_and_the_choices(deleter_client, few):
    html = deleter_client.get("/?language=en").content.decode()

    assert f'<form id="bulk-delete" method="post" action="{URL}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert all(f'name="id" value="{i}"' in html for i in few)
    assert 'name="page_all" value="1"' in html
    assert 'name="scope" value="selected"' in html and 'name="scope" value="filtered"' in html
    # The filtered choice carries the filters, not ids.
    assert '<input type="hidden" name="language" value="en">' in html


def test_an_htmx_swap_of_the_table_brings_the_form_with_it(deleter_client, few, htmx_headers):
    html = deleter_client.get("/?language=en", headers=htmx_headers).content.decode()

    assert html.lstrip().startswith('<section id="table-section"')
    assert 'id="bulk-delete"' in html and 'name="csrfmiddlewaretoken"' in html
    assert f'name="id" value="{few[0]}"' in html


# --- the preview ------------------------------------------------------------------------------------------------


def test_the_preview_of_selected_rows_states_the_count_and_shows_them(deleter_client, few, storage):
    response = deleter_client.post(URL, {"scope": "selected", "id": few[:3]})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete 3 generations?" in html and "Type <strong>3</strong> to confirm" in html
    assert sorted(preview_ids(response)) == sorted(few[:3])
    assert all(storage.exists(i) for i in few)  # a preview changes nothing


def test_select_all_on_this_page_works_without_javascript(deleter_client, few):
    response = deleter_client.post(URL, {"scope": "selected", "page_all": "1", "page_id": few, "id": few[:1]})

    assert "Delete 5 generations?" in response.content.decode()


def test_selected_ids_already_gone_are_not_counted(deleter_client, few):
    response = deleter_client.post(URL, {"scope": "selected", "id": [*few[:2], "never-existed"]})

    html = response.content.decode()
    assert "Delete 2 generations?" in html and "1 of the selected was already gone" in html


def test_nothing_selected_goes_back_to_the_list_with_a_message(deleter_client, few):
    response = deleter_client.post(URL, {"scope": "selected", "next": "/?language=en"})

    assert response.status_code == 302 and response["Location"] == "/?language=en"
    assert "No generation was selected" in str(list(get_messages(response.wsgi_request))[0])


def test_the_preview_of_a_filtered_set_counts_every_page(deleter_client, many):
    response = deleter_client.post(URL, {"scope": "filtered", "status": "failed"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "Delete 800 generations?" in html and "and 780 more" in html
    assert preview_ids(response) == many[:bulk_delete.PREVIEW_ROWS]
    # A GET with the filters previews the same set and changes nothing.
    assert "Delete 800 generations?" in deleter_client.get(URL, {"status": "failed"}).content.decode()


def test_more_than_the_limit_is_refused_with_a_pointer_to_cleanup(deleter_client, many, monkeypatch, storage):
    monkeypatch.setattr(bulk_delete, "MAX_PER_REQUEST", 700)

    response = deleter_client.post(URL, {"scope": "filtered", "status": "failed"})

    html = response.content.decode()
    assert response.status_code == 400
    assert "more than 700" in html and "manage.py cleanup" in html and 'name="token"' not in html
    assert deleter_client.post(URL, {"scope": "selected", "id": many[:701]}).status_code == 400
    assert storage.exists(many[0])


def test_bad_filters_are_a_400_not_a_preview_of_everything(deleter_client, few):
    response = deleter_client.post(URL, {"scope": "filtered", "status": "exploded"})

    assert response.status_code == 400 and 'name="token"' not in response.content.decode()


# --- the confirmation and the deletion --------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "4", "abc", "30000000000000000000"])
def test_a_typed_count_that_differs_is_refused_and_deletes_nothing(deleter_client, few, storage, typed):
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:3]})

    response = confirm(deleter_client, preview, typed)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and "Delete 3 generations?" in html and 'name="token"' in html
    assert all(storage.exists(i) for i in few)
    assert not AuditEntry.objects.filter(action="bulk_delete").exists()


def test_a_tampered_token_is_refused(deleter_client, few, storage):
    response = deleter_client.post(URL, {"token": "garbage:abc", "confirm_count": "3"})

    assert response.status_code == 400
    assert all(storage.exists(i) for i in few)


def test_csrf_is_enforced(deleter, few, storage):
    client = Client(enforce_csrf_checks=True)
    client.force_login(deleter)
    list_page = client.get("/").content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', list_page).group(1)
    preview = client.post(URL, {"scope": "selected", "id": few[:2], "csrfmiddlewaretoken": csrf})
    assert preview.status_code == 200

    assert client.post(URL, {"token": token_of(preview), "confirm_count": "2"}).status_code == 403
    assert client.post(URL, {"scope": "selected", "id": few[:2]}).status_code == 403
    assert all(storage.exists(i) for i in few)

    response = client.post(URL, {"token": token_of(preview), "confirm_count": "2", "csrfmiddlewaretoken": csrf})
    assert response.status_code == 302
    assert not storage.exists(few[0]) and not storage.exists(few[1]) and storage.exists(few[2])


def test_the_deletion_removes_exactly_the_previewed_ones_and_records_one_audit_entry(deleter_client, many, storage):
    preview = deleter_client.post(URL, {"scope": "filtered", "status": "failed"})
    # Generations that start matching after the preview are not deleted.
    storage.save(make_item("gen-late", **FAILED))

    response = confirm(deleter_client, preview, "800", next="/?status=failed")

    assert response.status_code == 302 and response["Location"] == "/?status=failed"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deleted 800 generations."]
    assert not any(storage.exists(i) for i in many[:50]) and not storage.exists(many[-1])
    assert storage.exists("gen-late") and storage.exists("gen-0000") and storage.exists("gen-1197")
    entry = AuditEntry.objects.get()
    assert entry.action == "bulk_delete" and entry.count == 800 and entry.username == "staff"
    assert sorted(entry.generation_ids) == sorted(many)
    assert entry.filters == {"status": "failed"}
    assert entry.targets.count() == 800


def test_the_message_shows_on_the_list_after_the_redirect(deleter_client, few):
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:2]})

    response = deleter_client.post(URL, {"token": token_of(preview), "confirm_count": "2"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [("/", 302)]
    assert "Deleted 2 generations." in html
    assert f'value="{few[0]}"' not in html and f'value="{few[2]}"' in html


def test_generations_gone_since_the_preview_are_counted_not_errors(deleter_client, few, storage):
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:3]})
    storage.delete(few[0])

    response = confirm(deleter_client, preview, 3)

    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert messages == [("success", "Deleted 2 generations. 1 was already gone.")]
    entry = AuditEntry.objects.get(action="bulk_delete")
    assert entry.count == 2 and sorted(entry.generation_ids) == sorted(few[1:3]) and entry.filters is None


def test_storage_errors_name_the_ids_and_the_others_are_deleted(deleter_client, few, storage, monkeypatch):
    """A batch the storage refuses is tried one id at a time: only the id at fault stays."""
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:3]})
    real_delete = storage.delete

    def flaky(generation_id):
        if generation_id == few[1]:
            raise StorageOperationError("throttled")
        return real_delete(generation_id)

    def flaky_batch(generation_ids):
        raise StorageOperationError("throttled")

    monkeypatch.setattr(storage, "delete", flaky)
    monkeypatch.setattr(storage, "delete_many", flaky_batch)

    response = confirm(deleter_client, preview, 3)

    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert messages == [("success", "Deleted 2 generations."),
                        ("error", f"1 could not be deleted (storage error): {few[1]}.")]
    assert storage.exists(few[1]) and not storage.exists(few[0]) and not storage.exists(few[2])
    entry = AuditEntry.objects.get(action="bulk_delete")
    assert entry.count == 2 and few[1] not in entry.generation_ids and few[1] in entry.detail


def test_a_confirmation_is_bound_to_the_user_who_previewed(deleter_client, few, storage, deleter):
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:2]})
    other = User.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(other)

    assert confirm(client, preview, 2).status_code == 400
    assert storage.exists(few[0])


def test_superusers_may_bulk_delete(few, storage):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))

    preview = client.post(URL, {"scope": "selected", "id": few[:1]})

    assert confirm(client, preview, 1).status_code == 302 and not storage.exists(few[0])


def test_a_deletion_out_of_time_says_how_many_were_not_attempted(deleter_client, few, storage, monkeypatch):
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:3]})
    monkeypatch.setattr(bulk_delete, "TIME_BUDGET_SECONDS", -1.0)

    response = confirm(deleter_client, preview, 3)

    messages = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert messages[0] == ("success", "Deleted 0 generations.")
    assert messages[1][0] == "warning" and "3 were not attempted" in messages[1][1]
    assert all(storage.exists(i) for i in few)
    assert "3 not attempted" in AuditEntry.objects.get(action="bulk_delete").detail


def test_batches_run_at_once_up_to_the_storages_write_concurrency(deleter_client, few, storage, monkeypatch):
    """Four batches that each wait for the other three can only finish if they run at the same time."""
    backend = storage.storage  # the storage behind the dashboard's guard
    monkeypatch.setattr(backend, "write_concurrency", 4, raising=False)
    monkeypatch.setattr(bulk_delete, "BATCH_SIZE", 1)
    all_four = threading.Barrier(4, timeout=5)
    plain_delete_many = backend.delete_many

    def delete_when_all_four_wait(generation_ids: list[str]) -> list[str]:
        try:
            all_four.wait()
        except threading.BrokenBarrierError:
            return []  # ran alone: counted "already gone", and the assertion below fails
        return plain_delete_many(generation_ids)

    monkeypatch.setattr(backend, "delete_many", delete_when_all_four_wait)
    preview = deleter_client.post(URL, {"scope": "selected", "id": few[:4]})

    response = confirm(deleter_client, preview, 4)

    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Deleted 4 generations."]
    assert [i for i in few if storage.exists(i)] == few[4:]
