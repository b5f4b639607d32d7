"""Notes and the audit log in a real browser: add a note, see it marked on the list, delete it
through its inline confirmation, find both in the audit log; no console error (CSP)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.factories import ago, make_item

pytestmark = pytest.mark.browser


def test_add_a_note_see_it_marked_delete_it_and_find_both_in_the_audit_log(page: Page, live_server, storage):
    storage.save_many([make_item("gen-noted", prompt="A video about tides", created_at=ago(minutes=5),
                                 updated_at=ago(minutes=4))], preserve_timestamps=True)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/generations/gen-noted/")

    page.get_by_label("Add a note").fill("Customer asked for a re-run.\n<b>Ticket</b> 42")
    page.get_by_role("button", name="Add note").click()

    expect(page.locator(".messages")).to_contain_text("Note added.")
    note = page.locator(".gen-note").first
    expect(note.locator(".gen-note-text")).to_have_text("Customer asked for a re-run.\n<b>Ticket</b> 42")
    expect(note.locator(".gen-note-author")).to_have_text("browser")
    page.locator("#notes").scroll_into_view_if_needed()
    screenshot(page, "notes")

    page.goto(f"{live_server.url}/")
    expect(page.locator(".notes-marker")).to_have_count(1)

    page.goto(f"{live_server.url}/generations/gen-noted/")
    note = page.locator(".gen-note").first
    note.locator("summary", has_text="Delete…").click()
    note.get_by_role("button", name="Delete note").click()
    expect(page.locator(".messages")).to_contain_text("Note deleted.")
    expect(page.locator(".gen-note")).to_have_count(0)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    rows = page.locator(".audit-entries tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Note removed")
    expect(rows.nth(1)).to_contain_text("Note added")
    screenshot(page, "audit")
    assert errors == []
