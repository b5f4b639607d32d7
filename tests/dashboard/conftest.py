"""Dashboard fixtures: a fresh memory storage per test, and clients for each kind of user.

    def test_something(storage, staff_client): ...
        storage.save_many([make_item("gen-1")], preserve_timestamps=True)
        staff_client.get("/")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from gennie_admin.storage import get_storage, reset_storage
from storage_backends import GenerationStateStorage

FAILING_BACKEND = "tests.dashboard.backends.FailingStorage"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def storage(settings) -> Iterator[GenerationStateStorage]:
    """The dashboard's process-wide storage, an empty memory backend for this test only."""
    settings.GENNIE_STORAGE = "memory://"
    reset_storage()
    yield get_storage()
    reset_storage()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """Users are created in most tests; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def failing_storage(settings, storage) -> GenerationStateStorage:
    """Swap the dashboard's storage for one whose every operation raises StorageOperationError."""
    settings.GENNIE_STORAGE = {"type": FAILING_BACKEND}
    reset_storage()
    return get_storage()


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user("staff", "staff@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def plain_user(db) -> User:
    """Signed in, active, but not staff: gets 403 everywhere."""
    return User.objects.create_user("customer", "customer@example.com", PASSWORD)


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def plain_client(plain_user: User) -> Client:
    client = Client()
    client.force_login(plain_user)
    return client


@pytest.fixture
def htmx_headers() -> dict[str, str]:
    """Extra headers of an htmx request, for ``client.get(url, headers=htmx_headers)``."""
    return {"HX-Request": "true"}


def grant(user: User, codename: str) -> User:
    """Give ``user`` one of the dashboard's permissions (``gennie_admin.<codename>``)."""
    user.user_permissions.add(Permission.objects.get(codename=codename, content_type__app_label="gennie_admin"))
    return user


@pytest.fixture
def deleter(staff_user: User) -> User:
    """A staff user granted the explicit delete permission."""
    return grant(staff_user, "delete_generation")


@pytest.fixture
def deleter_client(deleter: User, staff_client: Client) -> Client:
    return staff_client
