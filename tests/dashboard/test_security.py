"""Security: headers, a CSP with no inline script, templates that never trust storage data,
and production settings from the environment that pass ``manage.py check --deploy``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.factories import make_item

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.I)
SAFE_FILTER = re.compile(r"\|\s*safe(?![_a-z])|\{%\s*autoescape\s+off")


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.fixture
def pages(staff_client, plain_client, client, storage):
    """Rendered responses of every page kind this dashboard serves."""
    storage.save(make_item("gen-1"))
    return {
        "list": staff_client.get(reverse("generations:list")),
        "list partial": staff_client.get(reverse("generations:list"), headers={"HX-Request": "true"}),
        "health": staff_client.get(reverse("health")),
        "insights": staff_client.get(reverse("insights")),
        "healthz": client.get(reverse("healthz")),
        "login": client.get(reverse("login")),
        "403": plain_client.get(reverse("generations:list")),
        "404": staff_client.get("/missing/"),
    }


def test_every_response_has_the_security_headers(pages):
    for name, response in pages.items():
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["X-Frame-Options"] == "DENY", name
        directives = csp_directives(response)
        assert directives["script-src"] == ["'self'"], name
        assert directives["style-src"] == ["'self'"], name
        assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"], name


@pytest.mark.parametrize("page", ["list", "list partial", "detail", "timeline", "download", "delete", "health",
                                  "insights"])
def test_every_page_showing_generation_data_is_private_and_never_stored(admin_client, storage, page):
    storage.save(make_item("gen-1", prompt="a customer's prompt"))
    name = {"health": "health", "insights": "insights"}.get(page, f"generations:{page.split()[0]}")
    url = reverse(name, args=[] if page in ("list", "list partial", "health", "insights") else ["gen-1"])
    response = admin_client.get(url, headers={"HX-Request": "true"} if page == "list partial" else {})

    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= directives


def test_the_csp_allows_nothing_inline_or_evaluated(pages):
    policy = pages["list"]["Content-Security-Policy"]

    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_rendered_pages_have_no_inline_script_handler_or_style(pages):
    for name, response in pages.items():
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), name
        assert not EVENT_HANDLER.search(html), name
        assert not STYLE_ATTRIBUTE.search(html), name


def test_htmx_is_served_from_this_site_and_configured_without_script(pages):
    html = pages["list"].content.decode()

    assert re.search(r'<script src="/static/django_htmx/htmx-2\.min\.js" defer>', html)
    assert '<meta name="htmx-config"' in html and '"allowEval": false' in html
    assert '"includeIndicatorStyles": false' in html  # htmx would inject a <style> otherwise
    assert not re.search(r'src="https?://', html)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_templates_never_mark_data_safe_or_inline_script(template):
    source = template.read_text()

    assert not SAFE_FILTER.search(source)
    assert not INLINE_SCRIPT.search(source)
    assert not EVENT_HANDLER.search(source)
    assert not STYLE_ATTRIBUTE.search(source)


def run_manage(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # A clean environment, as a server's: nothing inherited from the test run (pytest-playwright
    # sets DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly flags).
    environ = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    environ.update({
        "DJANGO_SETTINGS_MODULE": "gennie_admin.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/django.sqlite3",
        "GENNIE_STORAGE_URL": f"sqlite:///{tmp_path}/generations.sqlite3",
        **env,
    })
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=django_settings.BASE_DIR, env=environ,
        capture_output=True, text=True, timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3$Qx9!vN2@pL7#rT5^wZ8&mB4*cF6(hJ1)dS0_gY-eU+aR=iO~",
    "ALLOWED_HOSTS": "gennie.example.com",
}


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_development_defaults_are_flagged_by_check_deploy(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0 and "security.W018" in result.stderr  # DEBUG on


def test_production_without_a_secret_key_refuses_to_start(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="0", ALLOWED_HOSTS="gennie.example.com")

    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_in_the_environment_is_named(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="maybe")

    assert result.returncode != 0 and "DEBUG must be" in result.stderr


def test_a_bad_storage_setting_stops_manage_py(tmp_path):
    result = run_manage(tmp_path, "check", GENNIE_STORAGE_URL="cassandra://x")

    assert result.returncode != 0 and "gennie_admin.E002" in result.stderr
