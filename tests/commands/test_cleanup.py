"""``manage.py cleanup``: what it deletes, what it says, and how it fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from tests.factories import ago, make_item

from .conftest import open_url, run

MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")


def fill(url: str, *, old: int, recent: int, days_old: float = 3) -> None:
    items = [make_item(f"old-{n:05d}", created_at=ago(days=days_old)) for n in range(old)]
    items += [make_item(f"new-{n:05d}", created_at=ago(hours=1)) for n in range(recent)]
    with open_url(url) as storage:
        storage.save_many(items, preserve_timestamps=True)


def ids(url: str) -> set[str]:
    with open_url(url) as storage:
        return {state.generation_id for state in storage.iter_generations()}


def test_deletes_what_is_older_than_the_age_and_says_so_in_one_line(sqlite_url):
    fill(sqlite_url, old=3, recent=2, days_old=8)
    out, _ = run("cleanup", "--older-than", "7d", "--storage", sqlite_url)
    assert ids(sqlite_url) == {"new-00000", "new-00001"}
    assert out.count("\n") == 1
    assert out.startswith("Deleted 3 generations older than 7d (created before ")
    assert f"from sqlite ({sqlite_url.removeprefix('sqlite:///')}) in " in out


def test_default_age_is_24_hours(sqlite_url):
    fill(sqlite_url, old=2, recent=1, days_old=1.1)
    out, _ = run("cleanup", "--storage", sqlite_url)
    assert "Deleted 2 generations older than 24h" in out
    assert ids(sqlite_url) == {"new-00000"}


@pytest.mark.parametrize("age", ["90m", "5400"])
def test_minutes_and_plain_seconds(sqlite_url, age):
    fill(sqlite_url, old=1, recent=1, days_old=0.1)  # 144 minutes old
    out, _ = run("cleanup", "--older-than", age, "--storage", sqlite_url)
    assert out.startswith("Deleted 1 generation older than")
    assert ids(sqlite_url) == {"new-00000"}


@pytest.mark.parametrize("flag", ["-n", "--dry-run"])
def test_dry_run_counts_and_deletes_nothing(sqlite_url, flag):
    fill(sqlite_url, old=4, recent=1)
    out, _ = run("cleanup", flag, "--storage", sqlite_url)
    assert out.startswith("Would delete 4 generations older than 24h")
    assert len(ids(sqlite_url)) == 5


def test_quiet_at_verbosity_zero(sqlite_url):
    fill(sqlite_url, old=1, recent=0)
    assert run("cleanup", "--storage", sqlite_url, verbosity=0) == ("", "")
    assert ids(sqlite_url) == set()


def test_uses_the_configured_storage_by_default(settings, sqlite_url):
    settings.GENNIE_STORAGE = sqlite_url
    fill(sqlite_url, old=2, recent=0)
    out, _ = run("cleanup")
    assert out.startswith("Deleted 2 generations")


@pytest.mark.parametrize("age", ["tomorrow", "1.5h", "-3d", "7 days"])
def test_a_bad_age_is_a_command_error_listing_the_accepted_forms(sqlite_url, age):
    with pytest.raises(CommandError, match=r"invalid age .*seconds \(3600\).*90m, 24h, 7d"):
        run("cleanup", f"--older-than={age}", "--storage", sqlite_url)


def test_a_storage_that_is_down_is_one_command_error(settings):
    settings.GENNIE_STORAGE = {"type": "tests.dashboard.backends.FailingStorage"}
    with pytest.raises(CommandError, match=r"^cleanup of failing failed: connection refused$"):
        run("cleanup")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("bogus://x", "cannot open storage bogus://x: unknown storage URL scheme 'bogus'"),
        ("sqlite:///x.sqlite3?colour=red", "unknown option 'colour' for storage backend SQLiteStorage"),
    ],
)
def test_a_bad_storage_url_is_a_command_error(option, message):
    with pytest.raises(CommandError, match=message):
        run("cleanup", "--storage", option)


def test_bad_configuration_is_a_command_error(settings):
    settings.GENNIE_STORAGE = {"type": "nosuchbackend"}
    with pytest.raises(CommandError, match="cannot open the configured storage: unknown storage type 'nosuchbackend'"):
        run("cleanup")


def manage(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, MANAGE, *args, "--skip-checks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_from_the_shell_a_failure_exits_non_zero_with_one_line(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    process = manage("cleanup", "--storage", f"sqlite:///{blocker}/generations.sqlite3")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("CommandError: cannot open storage sqlite:///")


def test_two_hosts_cleaning_one_sqlite_file_at_once_both_succeed(sqlite_url):
    fill(sqlite_url, old=3000, recent=20)
    processes = [manage("cleanup", "--storage", sqlite_url) for _ in range(2)]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], results
    deleted = [int(out.split()[1]) for out, _ in results]
    assert sum(deleted) == 3000
    assert ids(sqlite_url) == {f"new-{n:05d}" for n in range(20)}
