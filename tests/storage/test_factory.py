from __future__ import annotations

import pytest

from storage_backends import StorageFactory, StorageInitializationError
from storage_backends.backends.memory import MemoryStorage
from storage_backends.factory import config_from_env, parse_storage_url


class CustomStorage(MemoryStorage):
    """A backend of one's own, plugged in by dotted path."""

    backend_name = "custom"


def test_create_storage_by_short_name():
    assert isinstance(StorageFactory.create_storage({"type": "memory"}), MemoryStorage)


def test_create_storage_by_dotted_path():
    storage = StorageFactory.create_storage({"type": f"{__name__}.CustomStorage"})
    assert isinstance(storage, CustomStorage)


@pytest.mark.parametrize("config, message", [
    ({"type": "nosuch"}, "unknown storage type 'nosuch'"),
    ({"type": "no.such.Module"}, "cannot import storage backend 'no.such.Module'"),
    ({"type": "collections.OrderedDict"}, "is not a GenerationStateStorage subclass"),
    ({"type": "memory", "options": {"tabel_name": "x"}}, "unknown option 'tabel_name'"),
    ({"type": "memory", "options": "x"}, "options must be a mapping"),
    ({"options": {}}, 'with a "type"'),
    ({"type": "memory", "option": {}}, "unknown storage config key 'option'"),
])
def test_bad_configs_are_refused_with_a_clear_message(config, message):
    with pytest.raises(StorageInitializationError, match=message):
        StorageFactory.create_storage(config)


@pytest.mark.parametrize("url, expected", [
    ("memory://", {"type": "memory", "options": {}}),
    ("file:///srv/gennie/states", {"type": "file", "options": {"directory": "/srv/gennie/states"}}),
    ("sqlite:///var/db.sqlite3", {"type": "sqlite", "options": {"path": "var/db.sqlite3"}}),
    ("sqlite:////abs/db.sqlite3", {"type": "sqlite", "options": {"path": "/abs/db.sqlite3"}}),
    ("dynamodb://my-table?region=eu-west-1&endpoint=http://127.0.0.1:8000",
     {"type": "dynamodb", "options": {"table_name": "my-table", "region": "eu-west-1",
                                      "endpoint": "http://127.0.0.1:8000"}}),
    ("dynamodb://", {"type": "dynamodb", "options": {}}),
])
def test_urls_follow_the_database_url_convention(url, expected):
    assert parse_storage_url(url) == expected


@pytest.mark.parametrize("url", ["nope", "ftp://x", "sqlite://", "file://host/dir", "sqlite://[::1", "dynamodb://[::1"])
def test_bad_urls_are_refused(url):
    with pytest.raises(StorageInitializationError):
        parse_storage_url(url)


def test_from_url_builds_the_backend():
    assert isinstance(StorageFactory.from_url("memory://"), MemoryStorage)


def test_env_url_wins():
    assert config_from_env({"GENNIE_STORAGE_URL": "memory://", "GENNIE_STORAGE_TYPE": "file"})["type"] == "memory"


def test_env_defaults_to_sqlite_under_var():
    assert config_from_env({}) == {"type": "sqlite", "options": {"path": "var/generations.sqlite3"}}


def test_env_reads_the_seed_variables_for_dynamodb():
    config = config_from_env({
        "GENNIE_STORAGE_TYPE": "dynamodb", "DYNAMODB_TABLE_NAME": "t", "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
    })
    assert config == {"type": "dynamodb", "options": {
        "table_name": "t", "region": "eu-west-1", "access_key_id": "AKIA",
        "secret_access_key": "s", "endpoint": "http://127.0.0.1:1"}}


def test_env_leaves_credentials_to_the_default_chain_when_unset():
    config = config_from_env({"GENNIE_STORAGE_TYPE": "dynamodb"})
    assert config == {"type": "dynamodb", "options": {}}


def test_an_unknown_option_is_named_as_it_was_given():
    with pytest.raises(StorageInitializationError, match="'tableName'"):
        StorageFactory.create_storage({"type": "memory", "options": {"tableName": "x"}})


@pytest.mark.parametrize("url", ["sqlite:///var/%00x.sqlite3", "file:///tmp/%00dir"])
def test_a_path_with_a_nul_byte_is_refused_by_the_backend(url):
    with pytest.raises(StorageInitializationError, match="path|directory"):
        StorageFactory.from_url(url)
