"""Bulk delete in a real browser, as a staff member with the delete permission (not a superuser): tick
rows or "select all on this page", submit, read the exact count on the confirmation page, type it
(a wrong count is refused), confirm, and land on the list with "Deleted N generations" and the
rows gone; no console error (CSP). The README's screenshot of the confirmation page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, screenshot
from tests.factories import ago, make_item

pytestmark = pytest.mark.browser

ROWS = "#table-section tbody tr"


@pytest.fixture
def deleter_page(chromium: Browser, transactional_db, live_server) -> Iterator[Page]:
    """A page signed in as staff with ``gennie_admin.delete_generation`` only."""
    user = User.objects.create_user("deleter", "deleter@example.com", "not-used-to-sign-in", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="delete_generation", content_type__app_label="gennie_admin"))
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    context = chromium.new_context(viewport=DESKTOP)
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def seed(storage, count: int) -> list[str]:
    """``count`` generations, ``gen-00`` the oldest (the list shows the newest first)."""
    ids = [f"gen-{n:02d}" for n in range(count)]
    storage.save_many([make_item(generation_id, prompt=f"A video about tides, take {n}",
                                 created_at=ago(minutes=100 - n), updated_at=ago(minutes=99 - n))
                       for n, generation_id in enumerate(ids)], preserve_timestamps=True)
    return ids


def listed_ids(page: Page) -> list[str]:
    return page.locator(f"{ROWS} .cell-id a").all_inner_texts()


def console_errors(page: Page) -> list[str]:
    """Console errors but the refused confirmation's own 400 (Chromium logs a 400 response as one)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 400" not in message.text else None)
    return errors


def test_tick_two_rows_refuse_a_wrong_count_then_delete_them(deleter_page: Page, live_server, storage):
    page = deleter_page
    ids = seed(storage, 6)
    errors = console_errors(page)
    page.goto(f"{live_server.url}/")
    expect(page.locator(ROWS)).to_have_count(6)

    page.get_by_label("Select gen-03").check()
    page.get_by_label("Select gen-01").check()
    page.get_by_role("button", name="Delete selected…").click()

    expect(page).to_have_url(f"{live_server.url}/bulk-delete/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 2 generations?")
    preview = page.locator(".bulk-preview-row")
    expect(preview).to_have_count(2)
    assert sorted(preview.locator("td.mono").all_inner_texts()) == ["gen-01", "gen-03"]
    expect(page.get_by_role("button", name="Delete 2 generations")).to_be_visible()
    screenshot(page, "bulk-delete", docs=True)

    page.get_by_label("Type 2 to confirm").fill("3")
    page.get_by_role("button", name="Delete 2 generations").click()
    expect(page.get_by_role("alert")).to_have_text("Type the number of generations to delete, 2, to confirm.")
    expect(page.get_by_label("Type 2 to confirm")).to_have_attribute("aria-invalid", "true")
    assert storage.exists("gen-01") and storage.exists("gen-03")  # nothing deleted

    page.get_by_label("Type 2 to confirm").fill("2")
    page.get_by_role("button", name="Delete 2 generations").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Deleted 2 generations.")
    expect(page.locator(ROWS)).to_have_count(4)
    assert sorted(listed_ids(page)) == sorted(set(ids) - {"gen-01", "gen-03"})
    assert not storage.exists("gen-01") and not storage.exists("gen-03")
    assert errors == []


def test_select_all_on_this_page_deletes_that_page_only(deleter_page: Page, live_server, storage):
    page = deleter_page
    ids = seed(storage, 12)
    errors = console_errors(page)
    page.goto(f"{live_server.url}/?per_page=10")
    expect(page.locator(ROWS)).to_have_count(10)
    on_page = listed_ids(page)

    page.get_by_label("Select all 10 on this page").check()
    # The page's JavaScript ticks every row with it.
    expect(page.locator("[data-bulk-row]:checked")).to_have_count(10)
    page.get_by_role("button", name="Delete selected…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 10 generations?")
    expect(page.locator(".bulk-preview-row")).to_have_count(10)
    page.get_by_label("Type 10 to confirm").fill("10")
    page.get_by_role("button", name="Delete 10 generations").click()

    # Back on the list as it was left (10 a page), with the two that were on the next page.
    expect(page).to_have_url(f"{live_server.url}/?per_page=10")
    expect(page.locator(".messages")).to_contain_text("Deleted 10 generations.")
    expect(page.locator(ROWS)).to_have_count(2)
    assert sorted(listed_ids(page)) == sorted(set(ids) - set(on_page)) == ["gen-00", "gen-01"]
    assert errors == []
