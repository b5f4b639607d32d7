"""How the shared contract suite builds each backend. Add a backend here and it runs the suite.

A maker gets the pytest request, so it can ask for any fixture it needs (``sqlite_path``,
a moto server…) with ``request.getfixturevalue``: a test of one backend asks for the same
fixture to reach the file, directory or table behind the ``storage`` it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage_backends import GenerationStateStorage, StorageFactory

BackendMaker = Callable[[pytest.FixtureRequest], GenerationStateStorage]


def make_memory(request: pytest.FixtureRequest) -> GenerationStateStorage:
    return StorageFactory.create_storage({"type": "memory"})


def make_sqlite(request: pytest.FixtureRequest) -> GenerationStateStorage:
    path = request.getfixturevalue("sqlite_path")
    return StorageFactory.create_storage({"type": "sqlite", "options": {"path": str(path)}})


def make_file(request: pytest.FixtureRequest) -> GenerationStateStorage:
    directory = request.getfixturevalue("file_directory")
    return StorageFactory.create_storage({"type": "file", "options": {"directory": str(directory)}})


def make_dynamodb_mock(request: pytest.FixtureRequest) -> GenerationStateStorage:
    """DynamoDB in-process (moto's ``mock_aws``)."""
    request.getfixturevalue("aws_mock")
    table = request.getfixturevalue("dynamodb_table_name")
    return StorageFactory.create_storage({"type": "dynamodb", "options": {"table_name": table}})


def make_dynamodb_server(request: pytest.FixtureRequest) -> GenerationStateStorage:
    """DynamoDB over real HTTP (moto's server on 127.0.0.1), built from a URL as a user would."""
    endpoint = request.getfixturevalue("moto_server")
    table = request.getfixturevalue("dynamodb_table_name")
    # moto answers one request at a time (tests/conftest.py): a generous read timeout rides out the queue.
    return StorageFactory.from_url(f"dynamodb://{table}?region=us-east-1&endpoint={endpoint}&max_attempts=3&read_timeout=30")


BACKENDS: dict[str, BackendMaker] = {
    "dynamodb-mock": make_dynamodb_mock,
    "dynamodb-server": make_dynamodb_server,
    "file": make_file,
    "memory": make_memory,
    "sqlite": make_sqlite,
}
