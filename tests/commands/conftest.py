"""Helpers of the command tests: storage URLs in a temp directory, and running a command."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storage_backends import GenerationStateStorage, StorageFactory


def run(name: str, *args: str, **options: object) -> tuple[str, str]:
    """Run a management command; returns what it wrote to stdout and stderr."""
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_failing(name: str, *args: str, **options: object) -> tuple[str, str, str]:
    """Run a command that must fail; returns the CommandError's message, stdout and stderr."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failure:
        call_command(name, *args, stdout=out, stderr=err, **options)
    return str(failure.value), out.getvalue(), err.getvalue()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'generations.sqlite3'}"


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'files'}"


def open_url(url: str) -> GenerationStateStorage:
    return StorageFactory.from_url(url)


def documents(url: str) -> dict[str, dict]:
    """Every document of the storage at ``url``, by id, in its stored form."""
    with open_url(url) as storage:
        return {state.generation_id: state.to_item() for state in storage.iter_generations()}
