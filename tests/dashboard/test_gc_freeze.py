"""A serving process freezes its long-lived objects once its first request is done (gennie_admin/gc_freeze.py)."""

from __future__ import annotations

import gc

import pytest

from gennie_admin.gc_freeze import freeze_after_first_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process itself keeps collecting everything


def test_the_first_finished_request_freezes_what_is_alive_and_only_the_first(staff_client, unfrozen):
    freeze_after_first_request()
    assert gc.get_freeze_count() == 0  # nothing before a request

    assert staff_client.get("/").status_code == 200
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # Django, the storage, the templates

    gc.unfreeze()
    assert staff_client.get("/").status_code == 200
    assert gc.get_freeze_count() == 0  # the hook is gone after its one use
