"""``/health/`` for staff and ``/healthz`` for probes."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from gennie_admin.storage import reset_storage
from tests.factories import make_item

from .conftest import FAILING_BACKEND

pytestmark = pytest.mark.django_db

HEALTH = reverse("health")
HEALTHZ = reverse("healthz")


def test_health_page_shows_backend_health_latency_and_metrics(staff_client, storage):
    storage.save(make_item("gen-1"))
    storage.list_generations()
    html = staff_client.get(HEALTH).content.decode()

    assert "Healthy" in html and "<code>memory</code>" in html
    assert "Health check</dt><dd>" in html and " ms</dd>" in html
    assert "<dt>Generations</dt><dd>1</dd>" in html
    assert "<code>save</code>" in html and "<code>list</code>" in html


def test_health_page_never_shows_secrets(staff_client, settings):
    settings.GENNIE_STORAGE = {"type": "tests.dashboard.backends.ChattyStorage"}
    reset_storage()
    html = staff_client.get(HEALTH).content.decode()

    assert "eu-west-1" in html and "generations" in html and "<dt>retries</dt>" in html
    assert "https://dynamo.internal:8000/" in html
    for secret in ("hunter2", "wJalrXUtnFEMI", "FwoGZXIvYXdzEBYaDH", "admin:"):
        assert secret not in html


def test_health_page_of_a_failing_backend_says_unhealthy(staff_client, failing_storage):
    response = staff_client.get(HEALTH)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Unhealthy" in html and "<code>failing</code>" in html
    assert "Metrics are unavailable: StorageOperationError: connection refused" in html


def test_healthz_is_200_when_healthy_without_login(client):
    response = client.get(HEALTHZ)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("backend", [None, FAILING_BACKEND], ids=["healthy", "unhealthy"])
def test_healthz_answers_head_as_get_without_a_body(client, settings, backend):
    if backend:
        settings.GENNIE_STORAGE = {"type": backend}
        reset_storage()
    got, head = client.get(HEALTHZ), client.head(HEALTHZ)

    assert head.status_code == got.status_code in (200, 503)
    assert head.content == b"" and got.content
    assert head["Content-Type"] == "application/json" and "no-store" in head["Cache-Control"]


@pytest.mark.parametrize("backend", [FAILING_BACKEND, "no.such.Backend"], ids=["unhealthy", "cannot be created"])
def test_healthz_is_503_when_the_backend_is_down(client, settings, backend):
    settings.GENNIE_STORAGE = {"type": backend}
    reset_storage()
    response = client.get(HEALTHZ)

    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable"}


def test_healthz_says_nothing_else(client, settings):
    settings.GENNIE_STORAGE = {"type": "tests.dashboard.backends.ChattyStorage"}
    reset_storage()

    assert client.get(HEALTHZ).content == b'{"status": "ok"}'


def test_the_health_page_shows_the_capacity_dynamodb_consumed(staff_client, settings, aws_mock, dynamodb_table_name):
    settings.GENNIE_STORAGE = f"dynamodb://{dynamodb_table_name}?region=us-east-1"
    reset_storage()
    try:
        staff_client.get(reverse("generations:list"))
        html = staff_client.get(HEALTH).content.decode()
    finally:
        reset_storage()
    assert "<dt>read_capacity_units</dt>" in html and "<dt>write_capacity_units</dt>" in html
    assert "capacity_units" in html.split("<dt>requests</dt>")[1]
