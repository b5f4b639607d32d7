"""How the shared contract suite builds each backend. Add a backend here and it runs the suite.

A maker gets the pytest request, so it can ask for any fixture it needs (``tmp_path``,
a moto server…) with ``request.getfixturevalue``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage_backends import GenerationStateStorage, StorageFactory

BackendMaker = Callable[[pytest.FixtureRequest], GenerationStateStorage]


def make_memory(request: pytest.FixtureRequest) -> GenerationStateStorage:
    return StorageFactory.create_storage({"type": "memory"})


def make_sqlite(request: pytest.FixtureRequest) -> GenerationStateStorage:
    path = request.getfixturevalue("tmp_path") / "generations.sqlite3"
    return StorageFactory.create_storage({"type": "sqlite", "options": {"path": str(path)}})


def make_file(request: pytest.FixtureRequest) -> GenerationStateStorage:
    directory = request.getfixturevalue("tmp_path") / "generations"
    return StorageFactory.create_storage({"type": "file", "options": {"directory": str(directory)}})


BACKENDS: dict[str, BackendMaker] = {
    "file": make_file,
    "memory": make_memory,
    "sqlite": make_sqlite,
}
