"""Browser fixtures: Debian's chromium, driven by Playwright's sync API, against ``live_server``.

Each test gets an empty memory storage (the dashboard tests' fixture), a staff user signed in
by session cookie, and a fresh browser context. Screenshots go to the git-ignored
``artifacts/`` folder; ``docs/screenshots/`` keeps the copies the README shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.dashboard.conftest import storage  # noqa: F401  (the same empty memory storage per test)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# (creating users) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def staff_cookie(transactional_db, live_server) -> dict[str, str]:
    """A signed-in staff superuser's session cookie for the live server."""
    user = User.objects.create_superuser("browser", "browser@example.com", "not-used-to-sign-in")
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": live_server.url}


@pytest.fixture
def context(chromium: Browser, staff_cookie: dict[str, str]) -> Iterator[BrowserContext]:
    context = chromium.new_context(viewport=DESKTOP)
    context.add_cookies([staff_cookie])
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@contextmanager
def open_page(chromium: Browser, staff_cookie: dict[str, str], **options: object) -> Iterator[Page]:
    """A signed-in page in a context of its own, for a test that needs other ``options`` (viewport, colour
    scheme, JavaScript off) than the ``page`` fixture's; the context is closed afterwards."""
    context = chromium.new_context(**options)
    context.add_cookies([staff_cookie])
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str, *, docs: bool = False) -> None:
    """Save the viewport as ``artifacts/<name>.png``; a README one also as ``docs/screenshots/<name>.png``.

    The committed copy is only written when missing or with ``UPDATE_SCREENSHOTS=1``, so that
    a test run does not leave the working tree modified.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    docs_copy = DOCS_SCREENSHOTS / f"{name}.png"
    if docs and (os.environ.get("UPDATE_SCREENSHOTS") == "1" or not docs_copy.exists()):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        docs_copy.write_bytes(path.read_bytes())
