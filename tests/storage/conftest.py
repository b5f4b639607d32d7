from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage_backends import GenerationStateStorage

from .backends import BACKENDS


@pytest.fixture(params=sorted(BACKENDS))
def storage(request: pytest.FixtureRequest) -> Iterator[GenerationStateStorage]:
    """Every backend in turn, fresh and empty."""
    with BACKENDS[request.param](request) as backend:
        yield backend
