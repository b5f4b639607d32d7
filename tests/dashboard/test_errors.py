"""Error pages: storage down is a styled 503 naming the backend; 400/403/404/500 are styled too."""

from __future__ import annotations

import pytest
from django.template import loader
from django.urls import reverse

from gennie_admin.storage import reset_storage

pytestmark = pytest.mark.django_db

LIST = reverse("generations:list")


def test_a_failing_backend_gives_a_styled_503_naming_it(staff_client, failing_storage):
    response = staff_client.get(LIST)
    html = response.content.decode()

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Storage unavailable" in html and '<strong class="backend-name">failing</strong>' in html
    assert "StorageOperationError" in html and "connection refused" in html
    assert "app.css" in html


def test_a_failing_backend_gives_503_to_htmx_requests_too(staff_client, failing_storage):
    response = staff_client.get(LIST + "?q=x", headers={"HX-Request": "true"})

    assert response.status_code == 503


def test_a_backend_that_cannot_be_created_gives_503(staff_client, settings):
    settings.GENNIE_STORAGE = {"type": "no.such.Backend"}
    reset_storage()
    response = staff_client.get(LIST)
    html = response.content.decode()

    assert response.status_code == 503
    assert "StorageInitializationError" in html and '<strong class="backend-name">no.such.Backend</strong>' in html


def test_anonymous_users_never_reach_the_storage(client, failing_storage):
    assert client.get(LIST).status_code == 302


def test_unknown_page_is_a_styled_404(staff_client):
    response = staff_client.get("/no/such/page/")
    html = response.content.decode()

    assert response.status_code == 404
    assert "Not found" in html and "<code>/no/such/page/</code>" in html and "app.css" in html


@pytest.mark.parametrize(("template", "text"), [("400.html", "Bad request"), ("500.html", "Something went wrong")])
def test_pages_django_renders_without_a_request_still_render(template, text):
    html = loader.get_template(template).render()

    assert text in html and "app.css" in html and "Sign out" not in html
