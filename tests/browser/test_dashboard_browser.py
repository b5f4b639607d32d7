"""The dashboard in a real browser: live search, paging, the timeline, dark mode, screenshots."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from storage_backends.demo import demo_generations
from tests.browser.conftest import PHONE, open_page, screenshot
from tests.factories import ago, completed_stages, make_item

pytestmark = pytest.mark.browser

ROWS = "#table-section tbody tr"


def seed(storage, count: int = 30) -> None:
    """``count`` generations a minute apart (gen-000 the newest); every third one is about paella."""
    items = [
        make_item(f"gen-{n:03d}", prompt=f"{'Paella' if n % 3 == 0 else 'Otters'} video number {n}",
                  created_at=ago(minutes=n + 1), updated_at=ago(minutes=n), **completed_stages())
        for n in range(count)
    ]
    storage.save_many(items, preserve_timestamps=True)


def failed_generation(storage) -> None:
    storage.save_many([make_item(
        "gen-failed", prompt="A video about solar panels", created_at=ago(minutes=9), updated_at=ago(minutes=7),
        stageTimestamps={"initialParams": ago(minutes=9), "script": ago(minutes=8), "audio": ago(minutes=7)},
        script={"content": "Sunlight hits the panel.\nElectrons move.", "mood": "upbeat", "source": "generated"},
        audio={"error": "TTS provider answered 429: quota exceeded"},
    )], preserve_timestamps=True)


def test_typing_in_search_narrows_the_table_without_a_page_load(page: Page, live_server, storage):
    seed(storage)
    page.goto(f"{live_server.url}/")
    expect(page.locator(ROWS)).to_have_count(30)
    page.evaluate("window.pageMarker = 'still the same page'")

    page.get_by_label("Search").press_sequentially("paella", delay=30)

    expect(page).to_have_url(re.compile(r"[?&]q=paella"))
    expect(page.locator(ROWS)).to_have_count(10)
    expect(page.locator(ROWS).first).to_contain_text("Paella")
    assert page.evaluate("window.pageMarker") == "still the same page"


def test_at_phone_width_search_shows_first_and_the_other_filters_fold(chromium, staff_cookie, live_server, storage):
    seed(storage)
    with open_page(chromium, staff_cookie, viewport=PHONE) as page:
        page.goto(f"{live_server.url}/?language=en")
        search, stage = page.get_by_label("Search"), page.get_by_label("Current stage")
        toggle = page.locator("#filters summary")

        expect(search).to_be_in_viewport(ratio=1)
        expect(stage).to_be_hidden()
        expect(toggle).to_have_text("Filters (1 active)")
        expect(page.locator("#results-status")).to_have_text("Showing 30 generations matching the filters")

        toggle.click()
        expect(stage).to_be_visible()
        stage.select_option("clips")  # an htmx swap: the count follows the form
        expect(page).to_have_url(re.compile(r"[?&]stage=clips"))
        expect(toggle).to_have_text("Filters (2 active)")
        # The live status line outside the swapped table follows too (all 30 are past the clips stage).
        expect(page.locator("#results-status")).to_have_text("No generations matching the filters")


def test_on_a_wide_screen_every_filter_shows_without_a_toggle(page: Page, live_server, storage):
    page.goto(f"{live_server.url}/")

    expect(page.get_by_label("Current stage")).to_be_visible()
    expect(page.get_by_label("Live refresh")).to_be_visible()
    expect(page.locator("#filters summary")).to_be_hidden()


def test_next_page_and_back(page: Page, live_server, storage):
    seed(storage)
    page.goto(f"{live_server.url}/?per_page=10")
    expect(page.locator(ROWS).first).to_contain_text("gen-000")
    page.evaluate("window.pageMarker = 1")

    page.get_by_role("link", name="Next ›").click()

    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    expect(page.locator(ROWS).first).to_contain_text("gen-010")
    assert page.evaluate("window.pageMarker") == 1

    page.go_back()

    expect(page).not_to_have_url(re.compile(r"cursor="))
    expect(page.locator(ROWS).first).to_contain_text("gen-000")
    expect(page.locator(ROWS)).to_have_count(10)


def test_breadcrumb_returns_to_the_list_as_it_was_left(page: Page, live_server, storage):
    seed(storage)
    failed_generation(storage)
    page.goto(f"{live_server.url}/?q=solar&per_page=10")
    page.get_by_role("link", name="gen-failed").click()
    expect(page).to_have_url(re.compile("/generations/gen-failed/$"))

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Generations").click()

    expect(page).to_have_url(f"{live_server.url}/?q=solar&per_page=10")
    expect(page.locator(ROWS)).to_have_count(1)


def test_detail_page_shows_the_timeline_with_the_failed_stage(page: Page, live_server, storage):
    failed_generation(storage)
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="gen-failed").click()

    expect(page).to_have_url(f"{live_server.url}/generations/gen-failed/")
    timeline = page.locator("#timeline")
    failed_row = timeline.locator(".timeline-row.step-failed")
    expect(failed_row).to_have_count(1)
    expect(failed_row).to_contain_text("Audio")
    expect(failed_row).to_contain_text("quota exceeded")
    expect(timeline.locator(".timeline-row.step-done")).to_have_count(2)
    expect(timeline.locator(".timeline-row.step-pending")).to_have_count(5)
    # The failure stands out: its row is tinted, unlike a done one.
    done_background = timeline.locator(".step-done").first.evaluate("e => getComputedStyle(e).backgroundColor")
    failed_background = failed_row.evaluate("e => getComputedStyle(e).backgroundColor")
    assert failed_background != done_background
    expect(page.locator("#stage-audio.is-failed")).to_be_visible()
    screenshot(page, "detail", docs=True)


def test_timeline_of_a_running_generation_refreshes_until_final(page: Page, live_server, storage):
    storage.save_many([make_item("gen-live", created_at=ago(seconds=30), updated_at=ago(seconds=20),
                                 script={"content": "Hello"})], preserve_timestamps=True)
    page.goto(f"{live_server.url}/generations/gen-live/")
    expect(page.locator(".timeline-row.step-running")).to_contain_text("Audio")

    storage.update("gen-live", {"audio": {"error": "voice model unavailable"}})

    # The next poll (every 3 s) swaps the timeline in place and, the generation being final, stops.
    expect(page.locator(".timeline-row.step-failed")).to_contain_text("voice model unavailable", timeout=8_000)
    expect(page.locator("#detail-facts")).to_contain_text("Failed")
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if "/timeline/" in request.url else None)
    page.wait_for_timeout(4_000)
    assert polls == []


def test_dark_mode_follows_the_system_preference(chromium, staff_cookie, live_server, storage):
    seed(storage, 3)
    for scheme, dark in (("dark", True), ("light", False)):
        with open_page(chromium, staff_cookie, color_scheme=scheme, viewport={"width": 1280, "height": 900}) as page:
            page.goto(f"{live_server.url}/")
            red, green, blue = map(int, re.findall(r"\d+", page.evaluate(
                "getComputedStyle(document.body).backgroundColor"))[:3])
            luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
            assert (luminance < 0.2) is dark, f"{scheme}: body background luminance {luminance:.2f}"
            if dark:
                page.goto(f"{live_server.url}/generations/gen-000/")
                screenshot(page, "detail-dark")


def test_screenshots_of_list_detail_and_health(chromium, staff_cookie, live_server, storage):
    # Realistic, varied documents (every status, several languages) make telling screenshots.
    storage.save_many(demo_generations(40, seed=3), preserve_timestamps=True)
    failed_generation(storage)
    errors: list[str] = []
    for name, size in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        with open_page(chromium, staff_cookie, viewport=size) as page:
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            for page_name, path in (("list", "/"), ("detail", "/generations/gen-failed/"), ("health", "/health/")):
                page.goto(f"{live_server.url}{path}")
                expect(page.locator("main")).to_be_visible()
                suffix = "" if name == "desktop" else "-phone"
                screenshot(page, f"{page_name}{suffix}", docs=page_name in ("list", "detail") and name == "desktop")
            # Nothing is wider than the screen at phone width.
            if name == "phone":
                assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    # Among others, a CSP violation (an inline script or style) would show up here.
    assert errors == []


def test_delete_confirms_in_a_dialog_then_returns_to_the_list(page: Page, live_server, storage):
    failed_generation(storage)
    page.goto(f"{live_server.url}/generations/gen-failed/")

    page.get_by_role("link", name="Delete…").click()
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/generations/gen-failed/")  # no navigation yet
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert storage.exists("gen-failed")

    page.get_by_role("link", name="Delete…").click()
    dialog.get_by_role("button", name="Delete generation").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text("Deleted generation gen-failed.")
    assert not storage.exists("gen-failed")


def test_delete_without_javascript_uses_the_confirmation_page(chromium, staff_cookie, live_server, storage):
    failed_generation(storage)
    with open_page(chromium, staff_cookie, java_script_enabled=False) as page:
        page.goto(f"{live_server.url}/generations/gen-failed/")

        page.get_by_role("link", name="Delete…").click()

        expect(page).to_have_url(f"{live_server.url}/generations/gen-failed/delete/")
        assert storage.exists("gen-failed")
        page.get_by_role("button", name="Delete generation").click()
        expect(page).to_have_url(f"{live_server.url}/")
        assert not storage.exists("gen-failed")


def test_copy_buttons_put_the_id_and_the_raw_json_on_the_clipboard(context, page: Page, live_server, storage):
    failed_generation(storage)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(f"{live_server.url}/generations/gen-failed/")

    page.get_by_role("button", name="Copy id").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == "gen-failed"

    page.locator(".raw-json summary").click()
    page.get_by_role("button", name="Copy JSON").click()
    expect(page.locator('[data-copy-target="raw-json"]')).to_have_text("Copied")
    assert '"generationId": "gen-failed"' in page.evaluate("navigator.clipboard.readText()")
