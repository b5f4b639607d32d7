"""Every backend offers the same public methods with the same signatures (as cachelib checks)."""

from __future__ import annotations

import inspect

import pytest

from storage_backends import GenerationStateStorage
from storage_backends.factory import BACKEND_ALIASES, backend_class_for

PUBLIC = sorted(name for name in dir(GenerationStateStorage) if not name.startswith("_"))


@pytest.mark.parametrize("alias", sorted(BACKEND_ALIASES))
def test_backend_has_every_public_method_with_the_contract_signature(alias):
    backend = backend_class_for(alias)
    for name in PUBLIC:
        contract = getattr(GenerationStateStorage, name)
        own = getattr(backend, name)
        if callable(contract):
            assert inspect.signature(own) == inspect.signature(contract), f"{alias}.{name}"
    extra = {name for name in dir(backend) if not name.startswith("_")} - set(PUBLIC)
    assert not extra - {"backend_name"}, f"{alias} adds public names: {extra}"
    assert not inspect.isabstract(backend)
    assert backend.backend_name == alias
