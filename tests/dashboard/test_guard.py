"""The storage guard: a deadline on every call, a breaker after a failure, recovery by itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.urls import reverse

from gennie_admin.guard import GuardedStorage, StorageUnavailableError
from gennie_admin.storage import reset_storage
from storage_backends import StorageCorruptDocumentError, StorageNotFoundError, StorageOperationError
from storage_backends.backends.memory import MemoryStorage
from tests.factories import make_item

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SickStorage(MemoryStorage):
    """A memory storage whose reads fail (or hang) while told to."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False
        self.hang = threading.Event()
        self.reads = 0

    def _get(self, generation_id: str):
        self.reads += 1
        if self.hang.is_set():
            time.sleep(2)
        if self.failing:
            raise StorageOperationError("connection refused", code="ConnectionRefused")
        return super()._get(generation_id)


@pytest.fixture
def sick() -> SickStorage:
    storage = SickStorage()
    storage.save(make_item("g1"))
    return storage


def test_calls_pass_through_while_the_backend_answers(sick):
    guard = GuardedStorage(sick, deadline=5, backoff=5)
    assert guard.get("g1").generation_id == "g1"
    assert guard.backend_name == "memory" and guard.describe() == {}
    with pytest.raises(StorageNotFoundError):  # an answer, not a failure
        guard.get("missing")
    assert guard.get("g1").generation_id == "g1"


def test_a_failure_opens_the_breaker_for_the_back_off_then_the_backend_is_tried_again(sick):
    clock = Clock()
    guard = GuardedStorage(sick, deadline=5, backoff=5, clock=clock)
    sick.failing = True
    with pytest.raises(StorageOperationError, match="connection refused"):
        guard.get("g1")
    reads = sick.reads
    clock.now += 4
    with pytest.raises(StorageUnavailableError, match="trying again in 1 s") as refused:
        guard.get("g1")
    assert sick.reads == reads  # refused without asking the backend
    assert refused.value.code == "BackingOff" and 0 < refused.value.retry_after <= 1
    sick.failing = False
    clock.now += 1.5
    assert guard.get("g1").generation_id == "g1"  # recovered by itself
    assert guard.get("g1").generation_id == "g1"


def test_a_corrupt_document_does_not_open_the_breaker(sick, monkeypatch):
    guard = GuardedStorage(sick, deadline=5, backoff=5)

    def corrupt(generation_id):
        raise StorageCorruptDocumentError(generation_id, "invalid JSON")

    monkeypatch.setattr(sick, "_get", corrupt)
    with pytest.raises(StorageCorruptDocumentError):
        guard.get("g1")
    assert guard.exists("g1")


def test_a_call_past_the_deadline_fails_and_opens_the_breaker(sick):
    guard = GuardedStorage(sick, deadline=0.2, backoff=60)
    sick.hang.set()
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError, match="did not answer within 0.2 s"):
        guard.get("g1")
    assert time.monotonic() - started < 1.5
    with pytest.raises(StorageUnavailableError, match="trying again"):
        guard.exists("g1")
    # The probe is never refused: it is how a load balancer sees the backend come back.
    assert guard.is_healthy() is True
    assert guard.exists("g1")
    guard.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback listener that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_backend_that_never_answers_gets_a_503_by_the_deadline_then_at_once(
    staff_client, settings, silent_endpoint
):
    settings.GENNIE_STORAGE = f"dynamodb://gennie-silent?region=us-east-1&endpoint={silent_endpoint}"
    settings.GENNIE_STORAGE_DEADLINE_SECONDS = 1
    settings.GENNIE_STORAGE_BACKOFF_SECONDS = 30
    reset_storage()
    try:
        started = time.monotonic()
        first = staff_client.get(reverse("generations:list"))
        waited = time.monotonic() - started
        started = time.monotonic()
        second = staff_client.get(reverse("generations:detail", args=["g1"]))
        again = time.monotonic() - started
    finally:
        reset_storage()
    assert first.status_code == 503 and "did not answer within 1 s" in first.content.decode()
    assert waited < 5  # the deadline (1 s) and some slack, not botocore's 10 s x 5 attempts
    assert second.status_code == 503 and "trying again" in second.content.decode()
    assert again < 0.5
    assert 1 <= int(second["Retry-After"]) <= 30
