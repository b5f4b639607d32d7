from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator

import pytest

from storage_backends import GenerationStateStorage

from .backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def storage(request: pytest.FixtureRequest) -> Iterator[GenerationStateStorage]:
    """Every backend in turn, fresh and empty."""
    with BACKENDS[request.param](request) as backend:
        yield backend


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
