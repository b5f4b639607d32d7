"""Notes on generations: any staff adds, the author or a superuser deletes, POST + CSRF, escaped."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gennie_admin.models import NOTE_MAX_LENGTH, AuditEntry, GenerationNote
from tests.factories import make_item

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def detail_url(generation_id: str = "gen-1") -> str:
    return reverse("generations:detail", args=[generation_id])


def add_url(generation_id: str = "gen-1") -> str:
    return reverse("generations:note_add", args=[generation_id])


def delete_url(note: GenerationNote) -> str:
    return reverse("generations:note_delete", args=[note.generation_id, note.pk])


@pytest.fixture(autouse=True)
def generation(storage) -> None:
    storage.save(make_item("gen-1"))


@pytest.fixture
def other_staff_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_user("other", "other@example.com", PASSWORD, is_staff=True))
    return client


@pytest.fixture
def note(staff_user: User) -> GenerationNote:
    return GenerationNote.objects.create(generation_id="gen-1", author=staff_user, author_name="staff",
                                         text="Told the customer we retry tonight.")


# ---- access -----------------------------------------------------------------------------


def test_anonymous_post_goes_to_login_and_adds_nothing(client):
    response = client.post(add_url(), {"text": "hello"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not GenerationNote.objects.exists()


def test_non_staff_get_403_and_add_nothing(plain_client):
    assert plain_client.post(add_url(), {"text": "hello"}).status_code == 403
    assert not GenerationNote.objects.exists()


def test_non_staff_cannot_delete_a_note(plain_client, note):
    assert plain_client.post(delete_url(note), {"confirm": str(note.pk)}).status_code == 403
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_adding_only_answers_post(staff_client):
    assert staff_client.get(add_url()).status_code == 405


def test_adding_needs_a_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    assert client.post(add_url(), {"text": "hello"}).status_code == 403
    assert not GenerationNote.objects.exists()


def test_deleting_needs_a_csrf_token(staff_user, note):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)

    assert client.post(delete_url(note), {"confirm": str(note.pk)}).status_code == 403
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_the_form_carries_a_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    html = client.get(detail_url()).content.decode()
    token = client.cookies["csrftoken"].value

    assert f'<form method="post" action="{add_url()}"' in html and 'name="csrfmiddlewaretoken"' in html
    assert client.post(add_url(), {"text": "with a token", "csrfmiddlewaretoken": token}).status_code == 302
    assert GenerationNote.objects.get().text == "with a token"


# ---- adding -----------------------------------------------------------------------------


def test_staff_add_a_note_and_see_it_with_author_and_time(staff_client):
    response = staff_client.post(add_url(), {"text": "  Refunded the customer.\r\nTicket 123.  "})

    assert response.status_code == 302 and response["Location"] == detail_url() + "#notes"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Note added."]
    note = GenerationNote.objects.get()
    assert (note.generation_id, note.author_name) == ("gen-1", "staff")
    assert note.text == "Refunded the customer.\nTicket 123."  # stripped, CRLF as one line break
    html = staff_client.get(detail_url()).content.decode()
    assert '<p class="gen-note-text">Refunded the customer.\nTicket 123.</p>' in html
    assert '<strong class="gen-note-author">staff</strong>' in html and "<time datetime=" in html


def test_notes_are_newest_first(staff_client):
    for text in ("first", "second", "third"):
        staff_client.post(add_url(), {"text": text})
    html = staff_client.get(detail_url()).content.decode()

    assert html.index(">third<") < html.index(">second<") < html.index(">first<")


def test_notes_belong_to_their_generation_only(staff_client, storage):
    storage.save(make_item("gen-2"))
    staff_client.post(add_url("gen-2"), {"text": "about gen-2"})

    assert "about gen-2" not in staff_client.get(detail_url()).content.decode()
    assert "about gen-2" in staff_client.get(detail_url("gen-2")).content.decode()


def test_odd_ids_take_notes(staff_client, storage):
    storage.save(make_item("a/b ~c"))
    staff_client.post(add_url("a/b ~c"), {"text": "odd"})

    assert GenerationNote.objects.get().generation_id == "a/b ~c"
    assert "odd" in staff_client.get(detail_url("a/b ~c")).content.decode()


def test_a_corrupt_document_takes_notes(staff_client, storage):
    storage._items["broken"] = {"generationId": "broken", "script": 3}

    assert staff_client.post(add_url("broken"), {"text": "it is broken"}).status_code == 302
    assert "it is broken" in staff_client.get(detail_url("broken")).content.decode()


def test_a_note_on_an_unknown_generation_is_a_404(staff_client):
    assert staff_client.post(add_url("nope"), {"text": "hello"}).status_code == 404
    assert not GenerationNote.objects.exists()


def test_note_text_is_escaped(staff_client):
    script = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    staff_client.post(add_url(), {"text": script})
    html = staff_client.get(detail_url()).content.decode()

    assert "<script>alert" not in html and "<img src=x" not in html
    assert ("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; "
            "&amp; &quot;quotes&quot;") in html


def test_an_author_name_is_escaped_too(staff_client):
    GenerationNote.objects.create(generation_id="gen-1", author_name="<b>mallory</b>", text="x")

    html = staff_client.get(detail_url()).content.decode()
    assert "<b>mallory</b>" not in html and "&lt;b&gt;mallory&lt;/b&gt;" in html


def test_a_note_of_exactly_2000_characters_is_kept(staff_client):
    text = "x" * NOTE_MAX_LENGTH

    assert staff_client.post(add_url(), {"text": text}).status_code == 302
    assert GenerationNote.objects.get().text == text


def test_line_breaks_count_once_as_the_browser_counts_them(staff_client):
    text = "ab\r\n" * (NOTE_MAX_LENGTH // 3)  # 3 characters a line once CRLF is one line break

    assert staff_client.post(add_url(), {"text": text}).status_code == 302


def test_a_note_over_2000_characters_is_refused_with_a_message(staff_client):
    response = staff_client.post(add_url(), {"text": "x" * (NOTE_MAX_LENGTH + 1)})
    html = response.content.decode()

    assert response.status_code == 400
    assert "A note holds at most 2,000 characters (this one has 2001)." in html
    assert 'id="generation-id"' in html  # the detail page itself, with the text kept for editing
    assert "x" * (NOTE_MAX_LENGTH + 1) in html
    assert not GenerationNote.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize("text", ["", "   ", "\r\n\t"])
def test_an_empty_note_is_refused(staff_client, text):
    response = staff_client.post(add_url(), {"text": text})

    assert response.status_code == 400
    assert "a note cannot be empty" in response.content.decode()
    assert not GenerationNote.objects.exists()


def test_a_missing_field_is_refused_not_a_500(staff_client):
    assert staff_client.post(add_url(), {}).status_code == 400


@pytest.mark.parametrize("text", ["nul\x00here", "bell\x07", "esc\x1b[31m"])
def test_control_characters_are_refused(staff_client, text):
    response = staff_client.post(add_url(), {"text": text})

    assert response.status_code == 400
    assert "cannot hold control characters" in response.content.decode()


def test_the_form_says_its_limit(staff_client):
    html = staff_client.get(detail_url()).content.decode()

    assert 'maxlength="2000"' in html and "up to 2,000 characters" in html and "required" in html


# ---- deleting ---------------------------------------------------------------------------


def test_the_author_sees_a_delete_form_that_confirms_without_javascript(staff_client, note):
    html = staff_client.get(detail_url()).content.decode()

    assert '<details class="gen-note-delete">' in html
    assert f'action="{delete_url(note)}"' in html and f'name="confirm" value="{note.pk}"' in html


def test_the_author_deletes_their_note(staff_client, note):
    response = staff_client.post(delete_url(note), {"confirm": str(note.pk)})

    assert response.status_code == 302 and response["Location"] == detail_url() + "#notes"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Note deleted."]
    assert not GenerationNote.objects.exists()
    assert "Told the customer" not in staff_client.get(detail_url()).content.decode()


def test_get_shows_a_confirmation_page_and_deletes_nothing(staff_client, note):
    response = staff_client.get(delete_url(note))
    html = response.content.decode()

    assert response.status_code == 200
    assert "Delete this note?" in html and "Told the customer we retry tonight." in html
    assert f'<form method="post" action="{delete_url(note)}"' in html
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_a_post_without_confirmation_deletes_nothing(staff_client, note):
    response = staff_client.post(delete_url(note), {"confirm": "999"})

    assert response.status_code == 400
    assert "not confirmed" in response.content.decode()
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_other_staff_neither_see_the_delete_form_nor_may_delete(other_staff_client, note):
    html = other_staff_client.get(detail_url()).content.decode()

    assert "Told the customer" in html and delete_url(note) not in html
    assert other_staff_client.get(delete_url(note)).status_code == 403
    assert other_staff_client.post(delete_url(note), {"confirm": str(note.pk)}).status_code == 403
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_other_staff_with_every_permission_still_may_not(other_staff_client, note):
    other = User.objects.get(username="other")
    other.user_permissions.set(Permission.objects.filter(content_type__app_label="gennie_admin"))

    assert other_staff_client.post(delete_url(note), {"confirm": str(note.pk)}).status_code == 403


def test_a_superuser_deletes_anyones_note(admin_client, note):
    assert delete_url(note) in admin_client.get(detail_url()).content.decode()
    admin_client.post(delete_url(note), {"confirm": str(note.pk)})

    assert not GenerationNote.objects.exists()


def test_a_note_whose_author_is_gone_is_kept_and_only_a_superuser_deletes_it(staff_user, note, admin_client):
    staff_user.delete()
    note.refresh_from_db()
    assert note.author is None and note.author_name == "staff"

    assert "Told the customer" in admin_client.get(detail_url()).content.decode()
    admin_client.post(delete_url(note), {"confirm": str(note.pk)})
    assert not GenerationNote.objects.exists()


def test_a_note_id_under_another_generation_is_a_404(staff_client, note, storage):
    storage.save(make_item("gen-2"))
    url = reverse("generations:note_delete", args=["gen-2", note.pk])

    assert staff_client.post(url, {"confirm": str(note.pk)}).status_code == 404
    assert GenerationNote.objects.filter(pk=note.pk).exists()


def test_an_unknown_note_is_a_404(staff_client):
    assert staff_client.get(reverse("generations:note_delete", args=["gen-1", 12345])).status_code == 404


# ---- notes outlive the generation -------------------------------------------------------


def test_notes_survive_deleting_the_generation_and_show_in_the_audit_log(admin_client, storage):
    admin_client.post(add_url(), {"text": "Customer asked for a refund."})
    admin_client.post(reverse("generations:delete", args=["gen-1"]), {"confirm": "gen-1"})

    assert not storage.exists("gen-1")
    assert GenerationNote.objects.get().text == "Customer asked for a refund."
    assert admin_client.get(detail_url()).status_code == 404
    html = admin_client.get(reverse("audit"), {"generation": "gen-1"}).content.decode()
    assert html.count("Customer asked for a refund.") == 2  # the kept note, and its "note added" entry
    assert "Note added" in html and "Delete" in html


def test_deleting_a_note_of_a_deleted_generation_returns_to_its_history(admin_client, storage, note):
    storage.delete("gen-1")
    response = admin_client.post(delete_url(note), {"confirm": str(note.pk)})

    assert response.status_code == 302 and response["Location"] == reverse("audit") + "?generation=gen-1"


def test_notes_are_kept_in_djangos_database_whatever_the_backend(settings, staff_client, tmp_path):
    from gennie_admin.storage import get_storage, reset_storage

    settings.GENNIE_STORAGE = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    reset_storage()
    get_storage().save(make_item("gen-sqlite"))
    staff_client.post(add_url("gen-sqlite"), {"text": "on sqlite"})

    assert GenerationNote.objects.get().generation_id == "gen-sqlite"
    assert "on sqlite" in staff_client.get(detail_url("gen-sqlite")).content.decode()
    reset_storage()


# ---- the list marks rows with notes -----------------------------------------------------


def test_the_list_marks_rows_that_have_notes(staff_client, storage, note):
    storage.save(make_item("gen-2"))
    html = staff_client.get(reverse("generations:list")).content.decode()
    row = re.compile(r'<tr><td data-label="Id".*?class="mono" title="([^"]*)".*?</tr>')
    rows = {match[1]: match[0] for match in row.finditer(html)}

    assert set(rows) == {"gen-1", "gen-2"}
    assert 'class="notes-marker"' in rows["gen-1"] and "Has notes" in rows["gen-1"]
    assert "notes-marker" not in rows["gen-2"]


def test_the_marker_costs_one_query_per_page_whatever_the_number_of_rows(staff_client, storage):
    def list_queries() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse("generations:list"), {"per_page": 100}).status_code == 200
        return [query["sql"] for query in captured.captured_queries if "gennie_admin_generationnote" in query["sql"]]

    storage.save_many([make_item(f"few-{n}") for n in range(3)])
    few = list_queries()
    storage.save_many([make_item(f"many-{n}") for n in range(90)])
    GenerationNote.objects.bulk_create(
        [GenerationNote(generation_id=f"many-{n}", author_name="staff", text="x") for n in range(0, 90, 2)]
    )
    many = list_queries()

    assert len(few) == len(many) == 1
    assert staff_client.get(reverse("generations:list"), {"per_page": 100}).content.decode().count("notes-marker") == 45
