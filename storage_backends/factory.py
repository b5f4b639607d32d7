"""``StorageFactory``: build a backend from a config mapping, a URL or the environment.

Short names map to dotted paths imported lazily (as Celery's ``BACKEND_ALIASES``), so
boto3 is only imported when DynamoDB is used, and a backend of one's own plugs in by its
dotted path. Options are checked against the backend's constructor: an unknown one is
refused with its name. The seed's camelCase option names (``tableName``) are accepted too.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic.alias_generators import to_snake

from .base import GenerationStateStorage
from .errors import StorageInitializationError

BACKEND_ALIASES: dict[str, str] = {
    "memory": "storage_backends.backends.memory.MemoryStorage",
    "file": "storage_backends.backends.file.FileStorage",
    "sqlite": "storage_backends.backends.sqlite.SQLiteStorage",
    "dynamodb": "storage_backends.backends.dynamodb.DynamoDBStorage",
}

DEFAULT_TYPE = "sqlite"
DEFAULT_SQLITE_PATH = "var/generations.sqlite3"
DEFAULT_FILE_DIRECTORY = "var/generations"

#: Environment variables read by ``from_env`` for each type (option -> variable names, first set wins).
ENV_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "sqlite": {"path": ("GENNIE_SQLITE_PATH",)},
    "file": {"directory": ("GENNIE_FILE_DIRECTORY",)},
    "dynamodb": {
        "table_name": ("DYNAMODB_TABLE_NAME",),
        "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
        "access_key_id": ("AWS_ACCESS_KEY_ID",),
        "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
        "session_token": ("AWS_SESSION_TOKEN",),
        "endpoint": ("DYNAMODB_ENDPOINT",),
        "stream_indexer": ("DYNAMODB_STREAM_INDEXER",),
    },
}
ENV_DEFAULTS: dict[str, dict[str, str]] = {
    "sqlite": {"path": DEFAULT_SQLITE_PATH},
    "file": {"directory": DEFAULT_FILE_DIRECTORY},
}


class StorageFactory:
    """Creates storages: ``create_storage({"type": ..., "options": {...}})``, ``from_url``, ``from_env``."""

    @staticmethod
    def create_storage(config: Mapping[str, Any], *, create: bool = True) -> GenerationStateStorage:
        """A storage from ``{"type": short name or dotted path, "options": {...}}``, as in the seed.

        ``create=False`` opens an existing storage only: a directory, database or table that is not
        there is a ``StorageInitializationError`` instead of being made (what a command reading a
        source wants: a typo must not create what it should read). It sets the ``create`` option of
        backends that have one; a backend of one's own without it is opened as it is.
        """
        config = checked_config(config)
        backend_class = backend_class_for(config["type"])
        options = check_options(backend_class, config["options"])
        if not create and "create" in _keyword_parameters(backend_class):
            options["create"] = False
        return backend_class(**options)

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> GenerationStateStorage:
        """A storage from a URL such as ``sqlite:///var/generations.sqlite3`` (see ``parse_storage_url``)."""
        return cls.create_storage(parse_storage_url(url), create=create)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GenerationStateStorage:
        """A storage from the environment (``os.environ`` unless given; see ``config_from_env``)."""
        return cls.create_storage(config_from_env(os.environ if environ is None else environ))


def read_config(setting: str | Mapping[str, Any] | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """The config a setting stands for: a storage URL, a config mapping, or nothing (then the
    environment, see ``config_from_env``). The one place a setting's shape is checked."""
    if isinstance(setting, str) and setting:
        return parse_storage_url(setting)
    if isinstance(setting, Mapping) and setting:
        return checked_config(setting)
    if not setting:
        return config_from_env(environ)
    raise StorageInitializationError(f"a storage setting is a mapping or a storage URL, not {type(setting).__name__}")


def checked_config(config: Any) -> dict[str, Any]:
    """``config`` as ``{"type": str, "options": dict}`` (a copy), or why it is not of that shape."""
    if not isinstance(config, Mapping) or "type" not in config:
        raise StorageInitializationError('storage config must be a mapping with a "type", e.g. {"type": "sqlite"}')
    unknown = set(config) - {"type", "options"}
    if unknown:
        key = sorted(unknown)[0]
        raise StorageInitializationError(f"unknown storage config key {key!r}; use 'type' and 'options'")
    options = config.get("options") or {}
    if not isinstance(options, Mapping):
        raise StorageInitializationError("storage options must be a mapping")
    return {"type": str(config["type"]), "options": dict(options)}


def backend_class_for(name: str) -> type[GenerationStateStorage]:
    """The backend class for a short name or a dotted path."""
    path = BACKEND_ALIASES.get(name, name)
    module_name, _, class_name = path.rpartition(".")
    if not module_name:
        raise StorageInitializationError(
            f"unknown storage type {name!r}; use one of {', '.join(BACKEND_ALIASES)} or a dotted path to a class"
        )
    try:
        backend_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise StorageInitializationError(f"cannot import storage backend {path!r}: {exc}") from exc
    if not (isinstance(backend_class, type) and issubclass(backend_class, GenerationStateStorage)):
        raise StorageInitializationError(f"{path!r} is not a GenerationStateStorage subclass")
    return backend_class


def check_options(backend_class: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """Options in snake_case, every one a keyword of the backend's constructor, none it requires missing."""
    parameters = _keyword_parameters(backend_class)
    accepted = set(parameters)
    checked: dict[str, Any] = {}
    for key, value in options.items():
        name = to_snake(key)
        if name not in accepted:
            expected = ", ".join(sorted(accepted)) or "none"
            raise StorageInitializationError(
                f"unknown option {key!r} for storage backend {backend_class.__name__}; expected: {expected}"
            )
        checked[name] = value
    missing = [name for name, param in parameters.items() if param.default is param.empty and name not in checked]
    if missing:
        raise StorageInitializationError(f"storage backend {backend_class.__name__} needs the option {missing[0]!r}")
    return checked


def _keyword_parameters(backend_class: type) -> dict[str, inspect.Parameter]:
    return {
        name: param for name, param in inspect.signature(backend_class).parameters.items()
        if param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
    }


def parse_storage_url(url: str) -> dict[str, Any]:
    """Read a storage URL (the DATABASE_URL convention) into a config mapping.

    ``memory://``, ``file:///abs/dir``, ``sqlite:///relative.sqlite3``, ``sqlite:////abs/path``,
    ``dynamodb://table?region=…&endpoint=…``; other query parameters become options.
    """
    if not isinstance(url, str) or "://" not in url:
        raise StorageInitializationError(
            f"storage URL {url!r} has no scheme; expected e.g. sqlite:///var/generations.sqlite3"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" read as an IPv6 host
        raise StorageInitializationError(f"storage URL {url!r} is malformed: {exc}") from exc
    options: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    scheme = parts.scheme.lower()
    if scheme == "memory":
        pass
    elif scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise StorageInitializationError(f"file storage URL {url!r} needs an absolute path: file:///abs/dir")
        options["directory"] = unquote(parts.path)
    elif scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///rel.db -> "/rel.db" -> "rel.db"; sqlite:////abs.db -> "//abs.db" -> "/abs.db"
        if not path[1:]:
            raise StorageInitializationError(f"sqlite storage URL {url!r} needs a path: sqlite:///relative.sqlite3")
        options["path"] = path[1:]
    elif scheme == "dynamodb":
        if parts.netloc:
            options["table_name"] = unquote(parts.netloc)
    else:
        raise StorageInitializationError(
            f"unknown storage URL scheme {parts.scheme!r}; use memory://, file://, sqlite:// or dynamodb://"
        )
    return {"type": scheme, "options": options}


def config_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """``GENNIE_STORAGE_URL`` if set, else ``GENNIE_STORAGE_TYPE`` (default sqlite) and its variables."""
    url = environ.get("GENNIE_STORAGE_URL", "").strip()
    if url:
        return parse_storage_url(url)
    storage_type = environ.get("GENNIE_STORAGE_TYPE", "").strip() or DEFAULT_TYPE
    options: dict[str, Any] = dict(ENV_DEFAULTS.get(storage_type, {}))
    for option, variables in ENV_OPTIONS.get(storage_type, {}).items():
        value = next((environ[v] for v in variables if environ.get(v)), None)
        if value is not None:
            options[option] = value
    return {"type": storage_type, "options": options}
