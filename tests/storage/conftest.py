from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage_backends import GenerationStateStorage

from .backends import BACKENDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "backends(*names): the `storage` fixture is only these backends of tests/storage/backends.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for ``storage`` runs once per backend, or once per backend its module's (or its
    own) ``backends`` marker names, e.g. ``pytestmark = pytest.mark.backends("sqlite")``.

    A marker rather than ``pytest.mark.parametrize("storage", …, indirect=True)`` in ``pytestmark``:
    that one fails the collection of every test of the module that does not ask for ``storage``.
    """
    if "storage" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker else sorted(BACKENDS)
    unknown = set(names) - set(BACKENDS)
    if unknown:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: no backend maker named {sorted(unknown)}")
    metafunc.parametrize("storage", names, indirect=True)


@pytest.fixture
def storage(request: pytest.FixtureRequest) -> Iterator[GenerationStateStorage]:
    """Fresh and empty: every backend in turn (see ``pytest_generate_tests``), built by its maker."""
    with BACKENDS[request.param](request) as backend:
        yield backend


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """The database file of the ``sqlite`` storage (its parent not created yet)."""
    return tmp_path / "db" / "generations.sqlite3"


@pytest.fixture
def file_directory(tmp_path: Path) -> Path:
    """The directory of the ``file`` storage. Nested, so an id escaping one or two levels up would
    land inside tmp_path, where the file tests look."""
    return tmp_path / "nest" / "store"


@pytest.fixture
def stat_fails(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``stat_fails(suffix)``: from then on, ``os.stat`` of a path ending in ``suffix`` fails with EIO."""
    real_stat = os.stat

    def arm(suffix: str) -> None:
        def failing_stat(path, *args, **kwargs):
            if os.fspath(path).endswith(suffix):
                raise OSError(errno.EIO, "Input/output error")
            return real_stat(path, *args, **kwargs)

        monkeypatch.setattr(os, "stat", failing_stat)

    return arm
