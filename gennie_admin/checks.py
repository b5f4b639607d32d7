"""System checks for the GENNIE_STORAGE setting, run by every ``manage.py`` command.

They check what can be checked without touching the backend (no file is created and no
network call made, so a DynamoDB table is never contacted here): the setting's shape, the
URL, the backend type, its options and, for local backends, that the path is usable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from storage_backends import StorageInitializationError
from storage_backends.factory import backend_class_for, check_options

from .storage import PATH_OPTIONS, storage_config

HINT_SHAPE = (
    'Set GENNIE_STORAGE_URL (e.g. sqlite:///var/generations.sqlite3), or GENNIE_STORAGE = '
    '{"type": "sqlite", "options": {"path": "var/generations.sqlite3"}}.'
)
HINT_URL = "Use memory://, file:///abs/dir, sqlite:///relative.sqlite3, sqlite:////abs.sqlite3 or dynamodb://table?region=…"
HINT_TYPE = "Use memory, file, sqlite or dynamodb, or the dotted path of a GenerationStateStorage subclass."
HINT_OPTION = "Remove the option or fix its spelling; the message lists the options this backend accepts."
HINT_VALUE = "Fix the value: the message says what the backend accepts."
HINT_PATH = "Point the path at a location the dashboard's user can read and write, or fix the permissions."


def check_storage_setting(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Errors gennie_admin.E001–E006 for a GENNIE_STORAGE (or GENNIE_STORAGE_URL) that cannot work."""
    setting = settings.GENNIE_STORAGE
    from_url = isinstance(setting, str) if setting else bool(os.environ.get("GENNIE_STORAGE_URL", "").strip())
    try:
        config = storage_config(setting)
    except StorageInitializationError as exc:
        if from_url:
            return [Error(f"Bad storage URL: {exc}", hint=HINT_URL, id="gennie_admin.E002")]
        return [Error(f"Bad GENNIE_STORAGE setting: {exc}", hint=HINT_SHAPE, id="gennie_admin.E001")]
    try:
        backend_class = backend_class_for(str(config["type"]))
    except StorageInitializationError as exc:
        return [Error(f"Bad storage type: {exc}", hint=HINT_TYPE, id="gennie_admin.E003")]
    try:
        options = check_options(backend_class, config["options"])
    except StorageInitializationError as exc:
        return [Error(f"Bad storage option: {exc}", hint=HINT_OPTION, id="gennie_admin.E004")]
    try:
        backend_class.validate_options(options)
    except StorageInitializationError as exc:  # e.g. a DynamoDB table name DynamoDB would refuse
        return [Error(f"Bad storage option value: {exc}", hint=HINT_VALUE, id="gennie_admin.E006")]
    return [
        Error(f"Storage {name} {problem}", hint=HINT_PATH, id="gennie_admin.E005")
        for name in PATH_OPTIONS
        if isinstance(options.get(name), str) and (problem := path_problem(Path(options[name]), name))
    ]


def path_problem(path: Path, kind: str) -> str | None:
    """Why the backend could not use ``path`` (a database file or a directory), or None."""
    want_dir = kind == "directory"
    if path.exists():
        if path.is_dir() != want_dir:
            return f"{str(path)!r} is {'not ' if want_dir else ''}a directory"
        if not os.access(path, os.R_OK | os.W_OK | (os.X_OK if want_dir else 0)):
            return f"{str(path)!r} cannot be read and written"
        return None
    # The backend creates what is missing: the nearest existing parent must let it.
    parent = next(p for p in path.parents if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return f"{str(path)!r} cannot be created: {str(parent)!r} is not a writable directory"
    return None
