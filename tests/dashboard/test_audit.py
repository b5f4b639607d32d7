"""The audit log: ``record`` (rows + log line), /audit/ (permission, filters, pages, read-only),
and what is recorded: deletes and notes."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from gennie_admin import audit
from gennie_admin.models import AuditEntry, AuditTarget, GenerationNote
from tests.factories import make_item

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("audit")


@pytest.fixture
def auditor(staff_user: User) -> User:
    """A staff user granted gennie_admin.view_auditentry."""
    staff_user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    return staff_user


@pytest.fixture
def auditor_client(auditor: User, staff_client: Client) -> Client:
    return staff_client


def request_by(user, *, remote_addr: str = "198.51.100.7", **meta):
    request = RequestFactory().post("/", REMOTE_ADDR=remote_addr, **meta)
    request.user = user
    return request


def make_entries(user: User, count: int, *, action: str = "delete", prefix: str = "gen") -> list[AuditEntry]:
    """``count`` entries, one second apart, the last the newest."""
    start = timezone.now() - timedelta(hours=1)
    entries = [audit.record(request_by(user), action, generation_ids=[f"{prefix}-{n}"]) for n in range(count)]
    for n, entry in enumerate(entries):
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=start + timedelta(seconds=n))
    return entries


# ---- record -----------------------------------------------------------------------------


def test_record_stores_who_when_what_and_where(staff_user, caplog):
    with caplog.at_level("INFO", logger="gennie_admin.audit"):
        entry = audit.record(request_by(staff_user), "bulk_delete", generation_ids=["a", "b", "a"],
                             filters={"status": "failed"}, count=2, detail="2 of 2 deleted")

    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.user, entry.username, entry.action) == (staff_user, "staff", "bulk_delete")
    assert entry.generation_ids == ["a", "b"]  # each id once, in order
    assert (entry.filters, entry.count, entry.address, entry.detail) == ({"status": "failed"}, 2, "198.51.100.7",
                                                                        "2 of 2 deleted")
    assert abs(entry.created_at - timezone.now()) < timedelta(seconds=5)
    assert sorted(AuditTarget.objects.filter(entry=entry).values_list("generation_id", flat=True)) == ["a", "b"]
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [(
        "gennie_admin.audit", logging.INFO,
        """audit bulk_delete by 'staff' from 198.51.100.7 ids=["a", "b"] filters={"status": "failed"} count=2 """
        "detail='2 of 2 deleted'",
    )]


def test_record_refuses_an_unknown_action(staff_user):
    with pytest.raises(ValueError, match="unknown audit action 'purge'"):
        audit.record(request_by(staff_user), "purge")
    assert not AuditEntry.objects.exists()


def test_record_refuses_one_string_as_the_ids(staff_user):
    with pytest.raises(TypeError):
        audit.record(request_by(staff_user), "delete", generation_ids="gen-1")


def test_the_actions_are_a_fixed_set():
    assert {"delete", "bulk_delete", "export", "note_added", "note_removed"} == audit.ACTIONS


def test_x_forwarded_for_is_not_trusted(staff_user):
    entry = audit.record(request_by(staff_user, HTTP_X_FORWARDED_FOR="6.6.6.6"), "export", count=3)

    assert entry.address == "198.51.100.7"


def test_ipv6_addresses_are_kept_and_a_non_address_is_none(staff_user):
    assert audit.record(request_by(staff_user, remote_addr="2001:db8::1"), "export").address == "2001:db8::1"
    assert audit.record(request_by(staff_user, remote_addr=""), "export").address is None
    assert audit.record(request_by(staff_user, remote_addr="unix:/run/x.sock"), "export").address is None


def test_a_command_line_export_has_no_user_and_no_address():
    entry = audit.record(None, "export", filters={"status": "failed", "q": None}, count=10)

    assert (entry.user, entry.username, entry.address) == (None, "(command line)", None)
    assert entry.filters == {"status": "failed"}  # a filter without a value is left out


def test_log_lines_cannot_be_forged_and_name_at_most_20_ids(staff_user, caplog):
    ids = [f"id-{n}" for n in range(25)]
    with caplog.at_level("INFO", logger="gennie_admin.audit"):
        audit.record(request_by(staff_user), "bulk_delete", generation_ids=["x\ny", *ids], detail="a\nb")

    line = caplog.records[-1].getMessage()
    assert "\n" not in line and "and 6 more" in line and "detail='a\\nb'" in line
    assert AuditEntry.objects.get().generation_ids[0] == "'x\\ny'"  # an impossible id, never mistaken for one


def test_an_over_long_id_is_stored_cut_short(staff_user):
    entry = audit.record(request_by(staff_user), "delete", generation_ids=["x" * 5000])

    assert len(entry.generation_ids[0]) == 1024


def test_entries_outlive_their_users_account(staff_user):
    entry = audit.record(request_by(staff_user), "delete", generation_ids=["gen-1"])
    staff_user.delete()
    entry.refresh_from_db()

    assert (entry.user, entry.username) == (None, "staff")


# ---- access to /audit/ ------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(AUDIT_URL)

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_non_staff_get_403_even_with_the_permission(plain_user, plain_client):
    plain_user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))

    assert plain_client.get(AUDIT_URL).status_code == 403


def test_staff_without_the_permission_get_403(staff_client):
    response = staff_client.get(AUDIT_URL)

    assert response.status_code == 403
    assert "gennie_admin.view_auditentry" in response.content.decode()


def test_staff_with_the_permission_see_the_log(auditor_client):
    assert auditor_client.get(AUDIT_URL).status_code == 200


def test_a_permission_from_a_group_works(staff_user, staff_client):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="support leads")
    group.permissions.add(Permission.objects.get(codename="view_auditentry"))
    staff_user.groups.add(group)

    assert staff_client.get(AUDIT_URL).status_code == 200


def test_superusers_see_the_log(admin_client):
    assert admin_client.get(AUDIT_URL).status_code == 200


def test_the_top_bar_links_the_log_for_those_allowed_only(staff_client, admin_client, db):
    link = f'<a href="{AUDIT_URL}"'
    assert link not in staff_client.get(reverse("generations:list")).content.decode()
    assert link in admin_client.get(reverse("generations:list")).content.decode()
    permitted = User.objects.create_user("lead", "lead@example.com", PASSWORD, is_staff=True)
    permitted.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    client = Client()
    client.force_login(permitted)
    assert link in client.get(reverse("insights")).content.decode()
    assert f'{link} aria-current="page"' in client.get(AUDIT_URL).content.decode()


# ---- read-only --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_log_only_answers_get(admin_client, method):
    entry = audit.record(None, "export")

    assert getattr(admin_client, method)(AUDIT_URL, {"id": entry.pk}).status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize("path", ["/audit/1/", "/audit/1/change/", "/audit/1/delete/", "/audit/delete/", "/admin/"])
def test_entries_have_no_edit_or_delete_route(path):
    with pytest.raises(Resolver404):
        resolve(path)


def test_the_log_names_no_edit_or_delete_url(admin_client, staff_user):
    audit.record(request_by(staff_user), "delete", generation_ids=["gen-1"])
    html = admin_client.get(AUDIT_URL).content.decode()

    assert 'method="post"' not in html.split('<main id="main"', 1)[1]  # only the sign-out form posts


def test_django_admin_is_not_installed_and_entries_have_only_a_view_permission():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS
    codenames = set(Permission.objects.filter(content_type__model="auditentry").values_list("codename", flat=True))
    assert codenames == {"view_auditentry"}


def test_the_export_permission_exists():
    assert Permission.objects.filter(content_type__app_label="gennie_admin", codename="export_generations").exists()


# ---- the page ---------------------------------------------------------------------------


def test_entries_are_newest_first_with_who_what_and_where(admin_client, staff_user):
    make_entries(staff_user, 3)
    html = admin_client.get(AUDIT_URL).content.decode()

    assert html.index(">gen-2<") < html.index(">gen-1<") < html.index(">gen-0<")
    assert "198.51.100.7" in html and ">staff<" in html and "Delete" in html
    assert f'href="{reverse("generations:detail", args=["gen-2"])}"' in html
    assert "Entries 1–3 of 3." in html


def test_filters_and_counts_of_an_export_are_shown_and_escaped(admin_client, staff_user):
    audit.record(request_by(staff_user), "export", filters={"q": "<script>x</script>"}, count=1234,
                 detail="<b>csv</b>")
    html = admin_client.get(AUDIT_URL).content.decode()

    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "&lt;b&gt;csv&lt;/b&gt;" in html and "1234 generations" in html


def test_many_ids_are_counted_not_all_listed(admin_client, staff_user):
    audit.record(request_by(staff_user), "bulk_delete", generation_ids=[f"g-{n}" for n in range(40)], count=40)
    html = admin_client.get(AUDIT_URL).content.decode()

    assert ">g-4<" in html and ">g-5<" not in html and "and 35 more" in html


def test_filter_by_user(admin_client, staff_user):
    other = User.objects.create_user("other", "o@example.com", PASSWORD, is_staff=True)
    audit.record(request_by(staff_user), "delete", generation_ids=["by-staff"])
    audit.record(request_by(other), "delete", generation_ids=["by-other"])
    html = admin_client.get(AUDIT_URL, {"user": "other"}).content.decode()

    assert "by-other" in html and "by-staff" not in html
    assert '<option value="other">' in html and '<option value="staff">' in html  # the user suggestions


def test_filter_by_action(admin_client, staff_user):
    audit.record(request_by(staff_user), "delete", generation_ids=["deleted-one"])
    audit.record(request_by(staff_user), "note_added", generation_ids=["noted-one"])
    html = admin_client.get(AUDIT_URL, {"action": "note_added"}).content.decode()

    assert "noted-one" in html and "deleted-one" not in html
    assert '<option value="note_added" selected>' in html


def test_filter_by_generation_finds_it_among_many_ids(admin_client, staff_user):
    audit.record(request_by(staff_user), "bulk_delete", generation_ids=["x-1", "wanted", "x-2"], count=3)
    audit.record(request_by(staff_user), "delete", generation_ids=["unwanted"])
    audit.record(request_by(staff_user), "export", count=10)
    response = admin_client.get(AUDIT_URL, {"generation": "wanted"})

    assert [row.entry.action for row in response.context["rows"]] == ["bulk_delete"]


def test_filters_combine(admin_client, staff_user):
    audit.record(request_by(staff_user), "delete", generation_ids=["g"])
    audit.record(request_by(staff_user), "note_added", generation_ids=["g"])
    audit.record(request_by(staff_user), "note_added", generation_ids=["h"])
    response = admin_client.get(AUDIT_URL, {"action": "note_added", "generation": "g", "user": "staff"})

    assert [(row.entry.action, row.entry.generation_ids) for row in response.context["rows"]] == [("note_added", ["g"])]


@pytest.mark.parametrize(("params", "message"), [
    ({"action": "purge"}, "Action: Select a valid choice."),
    ({"generation": "x" * 2000}, "Generation id: Ensure this value has at most 1024 characters"),
    ({"generation": "bad\x01id"}, "Generation id: generation id"),
    ({"user": "u" * 200}, "User: Ensure this value has at most 150 characters"),
    ({"page": "two"}, "Page: &#x27;two&#x27; is not a page number"),
    ({"page": "99"}, "Page: there is no page 99; the last page is shown."),
    ({"page": "-1"}, "Page: there is no page -1"),
])
def test_bad_parameters_are_reported_not_a_500(admin_client, staff_user, params, message):
    audit.record(request_by(staff_user), "delete", generation_ids=["still-shown"])
    response = admin_client.get(AUDIT_URL, params)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Some parameters were ignored" in html and message in html
    assert "still-shown" in html  # the bad filter is dropped, the log still shows


def test_a_bad_filter_drops_only_itself(admin_client, staff_user):
    audit.record(request_by(staff_user), "delete", generation_ids=["deleted-one"])
    audit.record(request_by(staff_user), "export", count=1)
    response = admin_client.get(AUDIT_URL, {"action": "export", "generation": "x" * 2000})

    assert [row.entry.action for row in response.context["rows"]] == ["export"]


def test_pages_of_50_newest_first_keeping_the_filters(admin_client, staff_user):
    make_entries(staff_user, 120)
    make_entries(staff_user, 3, action="export", prefix="exported")

    first = admin_client.get(AUDIT_URL, {"action": "delete"})
    assert [row.entry.generation_ids for row in first.context["rows"]][:2] == [["gen-119"], ["gen-118"]]
    assert len(first.context["rows"]) == 50
    html = first.content.decode()
    assert "Page 1 of 3" in html and "Entries 1–50 of 120 matching the filters." in html
    assert f'href="{AUDIT_URL}?action=delete&amp;page=2"' in html

    third = admin_client.get(AUDIT_URL, {"action": "delete", "page": "3"})
    assert [row.entry.generation_ids[0] for row in third.context["rows"]] == [f"gen-{n}" for n in range(19, -1, -1)]
    html = third.content.decode()
    assert f'href="{AUDIT_URL}?action=delete"' in html  # « First: page 1 carries no page parameter
    assert "Next ›</span>" in html  # disabled on the last page


def test_a_page_costs_the_same_queries_whatever_it_shows(admin_client, staff_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(AUDIT_URL)
        return len(captured)

    make_entries(staff_user, 2)
    few = queries()
    make_entries(staff_user, 48, prefix="more")
    assert queries() == few


def test_an_empty_log_says_so(admin_client):
    assert "No entries yet." in admin_client.get(AUDIT_URL).content.decode()


# ---- what is recorded -------------------------------------------------------------------


@pytest.fixture
def deleter_client(staff_user: User, staff_client: Client, storage) -> Client:
    staff_user.user_permissions.add(Permission.objects.get(codename="delete_generation"))
    storage.save(make_item("gen-1"))
    return staff_client


def test_a_delete_is_recorded_with_user_ids_and_address(deleter_client, staff_user):
    deleter_client.post(reverse("generations:delete", args=["gen-1"]), {"confirm": "gen-1"}, REMOTE_ADDR="203.0.113.9")

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.user, entry.username) == ("delete", staff_user, "staff")
    assert (entry.generation_ids, entry.address, entry.count, entry.detail) == (["gen-1"], "203.0.113.9", 1, "deleted")


def test_a_delete_of_something_already_gone_is_recorded_as_such(deleter_client):
    deleter_client.post(reverse("generations:delete", args=["gone"]), {"confirm": "gone"})

    entry = AuditEntry.objects.get()
    assert (entry.generation_ids, entry.count, entry.detail) == (["gone"], 0, "already gone")


def test_refused_or_unconfirmed_deletes_record_nothing(staff_client, deleter_client):
    deleter_client.post(reverse("generations:delete", args=["gen-1"]), {"confirm": "other"})
    deleter_client.get(reverse("generations:delete", args=["gen-1"]))

    assert not AuditEntry.objects.exists()


def test_adding_and_removing_a_note_are_recorded_with_the_text(staff_client, staff_user, storage):
    storage.save(make_item("gen-1"))
    staff_client.post(reverse("generations:note_add", args=["gen-1"]), {"text": "Called the customer."},
                      REMOTE_ADDR="192.0.2.4")
    note = GenerationNote.objects.get()
    staff_client.post(reverse("generations:note_delete", args=["gen-1", note.pk]), {"confirm": str(note.pk)})

    removed, added = AuditEntry.objects.order_by("-id")
    assert (added.action, added.user, added.generation_ids, added.address, added.detail) == (
        "note_added", staff_user, ["gen-1"], "192.0.2.4", "Called the customer.")
    assert removed.action == "note_removed" and removed.generation_ids == ["gen-1"]
    assert removed.detail.startswith("note by staff of ") and removed.detail.endswith(" UTC: Called the customer.")


# ---- the detail page's history ----------------------------------------------------------


def test_the_detail_page_shows_the_generations_own_history(auditor_client, auditor, storage):
    storage.save_many([make_item("gen-1"), make_item("gen-2")])
    audit.record(request_by(auditor), "note_added", generation_ids=["gen-1"], detail="about one")
    audit.record(request_by(auditor), "note_added", generation_ids=["gen-2"], detail="about two")
    audit.record(request_by(auditor), "bulk_delete", generation_ids=["gen-2", "gen-1"], count=2, detail="0 of 2")
    html = auditor_client.get(reverse("generations:detail", args=["gen-1"])).content.decode()
    history = html.split('id="history"', 1)[1].split("</section>", 1)[0]

    assert "about one" in history and "0 of 2" in history and "about two" not in history
    assert history.index("0 of 2") < history.index("about one")  # newest first
    assert f'href="{AUDIT_URL}?generation=gen-1"' in history


def test_staff_who_may_not_read_the_log_see_no_history(staff_client, staff_user, storage):
    storage.save(make_item("gen-1"))
    audit.record(request_by(staff_user), "note_added", generation_ids=["gen-1"], detail="secret address")
    html = staff_client.get(reverse("generations:detail", args=["gen-1"])).content.decode()

    assert 'id="history"' not in html and "198.51.100.7" not in html
