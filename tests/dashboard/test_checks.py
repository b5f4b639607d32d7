"""System checks gennie_admin.E001–E005: one test per id, and what must pass untouched."""

from __future__ import annotations

import pytest
from django.core import checks

from gennie_admin.checks import check_storage_setting


def ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_a_good_setting_passes(settings, tmp_path):
    settings.GENNIE_STORAGE = {"type": "sqlite", "options": {"path": str(tmp_path / "new" / "db.sqlite3")}}

    assert check_storage_setting() == []
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.parametrize("setting", ["memory://", "sqlite:///var/generations.sqlite3", {"type": "memory"}])
def test_usual_settings_pass(settings, setting):
    settings.GENNIE_STORAGE = setting

    assert check_storage_setting() == []


def test_dynamodb_is_checked_without_contacting_it(settings, monkeypatch):
    def no_backend(*args, **kwargs):
        raise AssertionError("the check must not create the backend (a DynamoDB client would connect)")

    monkeypatch.setattr("storage_backends.StorageFactory.create_storage", no_backend)
    settings.GENNIE_STORAGE = "dynamodb://generations?region=eu-west-1&endpoint=http://127.0.0.1:9"

    assert check_storage_setting() == []


@pytest.mark.parametrize("setting", [
    {"options": {"path": "x"}}, {"type": "memory", "options": "x"}, {"type": "memory", "optoins": {}}, ["memory"],
])
def test_e001_malformed_setting(settings, setting):
    settings.GENNIE_STORAGE = setting

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E001" and error.hint


@pytest.mark.parametrize("url", ["ftp://host/x", "sqlite:///", "no-scheme", "file://remote/dir"])
def test_e002_bad_url(settings, url):
    settings.GENNIE_STORAGE = url

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E002" and error.hint


def test_e002_bad_url_from_the_environment(settings, monkeypatch):
    settings.GENNIE_STORAGE = {}
    monkeypatch.setenv("GENNIE_STORAGE_URL", "mysql://db/x")

    assert ids(check_storage_setting()) == ["gennie_admin.E002"]


@pytest.mark.parametrize("storage_type", ["cassandra", "no.such.module.Backend", "storage_backends.models.Page"])
def test_e003_unknown_type(settings, storage_type):
    settings.GENNIE_STORAGE = {"type": storage_type}

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E003" and error.hint


def test_e003_unknown_type_from_the_environment(settings, monkeypatch):
    settings.GENNIE_STORAGE = {}
    monkeypatch.delenv("GENNIE_STORAGE_URL", raising=False)
    monkeypatch.setenv("GENNIE_STORAGE_TYPE", "postgres")

    assert ids(check_storage_setting()) == ["gennie_admin.E003"]


def test_e004_unknown_option(settings):
    settings.GENNIE_STORAGE = {"type": "sqlite", "options": {"path": "var/x.sqlite3", "pth": "typo"}}

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E004" and "'pth'" in error.msg and error.hint


def test_e005_path_is_a_directory(settings, tmp_path):
    settings.GENNIE_STORAGE = {"type": "sqlite", "options": {"path": str(tmp_path)}}

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E005" and "is a directory" in error.msg and error.hint


def test_e005_path_below_a_file(settings, tmp_path):
    (tmp_path / "plain-file").write_text("x")
    settings.GENNIE_STORAGE = f"sqlite:///{tmp_path}/plain-file/db.sqlite3"

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E005" and "cannot be created" in error.msg


def test_e005_file_storage_directory_is_a_file(settings, tmp_path):
    (tmp_path / "plain-file").write_text("x")
    settings.GENNIE_STORAGE = f"file://{tmp_path}/plain-file"

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E005" and "is not a directory" in error.msg


@pytest.mark.parametrize("url", [
    "dynamodb://no?region=eu-west-1",                          # too short for DynamoDB
    "dynamodb://bad%20name?region=eu-west-1",                  # a space
    "dynamodb://generations?region=eu-west-1&endpoint=ftp://x",
    "dynamodb://generations?max_attempts=0",
])
def test_e006_option_values_the_backend_would_refuse(settings, url):
    settings.GENNIE_STORAGE = url

    [error] = check_storage_setting()
    assert error.id == "gennie_admin.E006" and error.hint


def test_a_good_dynamodb_setting_passes_without_contacting_it(settings):
    settings.GENNIE_STORAGE = "dynamodb://video-gennie-generations?region=eu-west-1&endpoint=http://127.0.0.1:9"

    assert check_storage_setting() == []


def test_the_check_is_registered_at_start_up(settings):
    settings.GENNIE_STORAGE = {"type": "cassandra"}

    assert "gennie_admin.E003" in ids(checks.run_checks())
