"""The insights page in a real browser: the charts render under the CSP, a failure group opens the
list of exactly its generations, and the README's screenshot."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from storage_backends import fingerprint_error
from storage_backends.demo import demo_generations
from tests.browser.conftest import open_page, screenshot
from tests.factories import ago, make_item

pytestmark = pytest.mark.browser

ROWS = "#table-section tbody tr"
TTS_IDS = [f"gen-tts-{n}" for n in range(4)]


def seed(storage) -> None:
    """Realistic demo generations, and four that failed the same way in the last hours (request ids differ)."""
    storage.save_many([*demo_generations(300, seed=3), *(
        make_item(generation_id, created_at=ago(hours=n + 1), updated_at=ago(hours=n + 1),
                  script={"content": "Hello."}, audio={"error": f"TTS provider answered 429 (request {n}f3a9c{n})"})
        for n, generation_id in enumerate(TTS_IDS))], preserve_timestamps=True)


def test_a_failure_group_opens_the_list_of_its_generations(page: Page, live_server, storage):
    seed(storage)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()

    expect(page).to_have_url(f"{live_server.url}/insights/")
    expect(page.locator(".status-chart .segment").first).to_be_visible()
    group = page.locator(".failure-groups tbody tr", has_text="TTS provider answered <n> (request <n>)")
    expect(group.locator(".sparkline")).to_be_visible()
    screenshot(page, "insights", docs=True)

    group.locator("a.group-count").click()

    fingerprint = fingerprint_error("audio", "TTS provider answered 429 (request 0f3a9c0)")
    expect(page).to_have_url(f"{live_server.url}/?created=24h&failure={fingerprint}")
    expect(page.locator(ROWS)).to_have_count(4)
    assert sorted(page.locator(f"{ROWS} .cell-id a").all_inner_texts()) == TTS_IDS
    expect(page.locator(".active-filter")).to_contain_text("TTS provider answered <n> (request <n>)")
    # A CSP violation (an inline style or script) would show up here.
    assert errors == []


def test_the_charts_follow_the_dark_colour_scheme(chromium, staff_cookie, live_server, storage):
    seed(storage)
    fills = {}
    for scheme in ("light", "dark"):
        with open_page(chromium, staff_cookie, color_scheme=scheme, viewport={"width": 1280, "height": 900}) as page:
            page.goto(f"{live_server.url}/insights/?window=7d")
            segment = page.locator(".status-chart .segment-completed").first
            fills[scheme] = segment.evaluate("e => getComputedStyle(e).fill")
            if scheme == "dark":
                screenshot(page, "insights-dark")
    assert fills["light"] != fills["dark"]
    assert all(re.fullmatch(r"rgb\(\d+, \d+, \d+\)", fill) for fill in fills.values())
