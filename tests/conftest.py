"""Suite-wide fixtures: no test ever reads real AWS credentials or talks to AWS."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

# Imported before any test runs: moto adds its request hook to botocore's built-in handlers when
# imported, and a boto3 session made before that (the DynamoDB backend keeps one per process)
# would never be mocked, so a later mock_aws test would reach for real AWS.
from moto import mock_aws


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials and no config files, so nothing real is ever reached."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(scope="session")
def moto_one_request_at_a_time() -> Iterator[None]:
    """moto handles concurrent requests without locks and can corrupt an item (DynamoDB itself
    applies each write atomically), so its request handling is serialized for the session."""
    from moto.core.responses import BaseResponse

    lock = threading.Lock()
    call_action = BaseResponse.call_action

    def locked(self: BaseResponse) -> object:
        with lock:
            return call_action(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseResponse, "call_action", locked)
        yield


@pytest.fixture(scope="session")
def moto_server(moto_one_request_at_a_time: None) -> Iterator[str]:
    """moto's DynamoDB over real HTTP on 127.0.0.1 (a free port), once per session; yields its URL.

    moto keeps its state in this process, and ``mock_aws`` resets it when a test using it starts or
    ends: give each test its own table (``dynamodb_table_name``) rather than sharing one.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_mock(aws_credentials: None, moto_one_request_at_a_time: None) -> Iterator[None]:
    """In-process moto for the whole test: every boto3 client made inside talks to it."""
    with mock_aws():
        yield


@pytest.fixture
def dynamodb_table_name() -> str:
    """A table name no other test uses, so tests on the shared moto server stay independent."""
    return f"gennie-test-{uuid.uuid4().hex[:12]}"
