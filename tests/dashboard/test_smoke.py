from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def memory_storage(settings):
    from gennie_admin.storage import reset_storage
    settings.GENNIE_STORAGE = "memory://"
    reset_storage()
    yield
    reset_storage()


def test_list_needs_login(client):
    response = client.get(reverse("generations:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_staff_sees_the_list(admin_client):
    assert admin_client.get(reverse("generations:list")).status_code == 200
