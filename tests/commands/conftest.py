"""Fixtures of the command tests: storage URLs in a temp directory, and running a command."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from storage_backends import GenerationStateStorage, StorageFactory

Run = Callable[..., tuple[str, str]]


@pytest.fixture
def run() -> Run:
    """Run a management command; returns what it wrote to stdout and stderr."""

    def run_command(name: str, *args: str, **options: object) -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        call_command(name, *args, stdout=out, stderr=err, **options)
        return out.getvalue(), err.getvalue()

    return run_command


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'generations.sqlite3'}"


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'files'}"


def open_url(url: str) -> GenerationStateStorage:
    return StorageFactory.from_url(url)
