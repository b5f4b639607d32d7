"""``manage.py seed_demo``: realistic data, deterministic, never duplicated."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from storage_backends import GenerationStatus

from .conftest import documents, open_url, run


def test_saves_count_generations_of_every_status(sqlite_url):
    out, _ = run("seed_demo", "--count", "300", "--storage", sqlite_url)
    assert out.startswith("Saved 300 demo generations (seed 0) to sqlite (")
    with open_url(sqlite_url) as storage:
        counts = storage.count_by_status()
    assert sum(counts.values()) == 300
    assert all(counts[status] > 0 for status in GenerationStatus)


def test_running_again_replaces_instead_of_duplicating(sqlite_url):
    run("seed_demo", "--count", "120", "--storage", sqlite_url)
    run("seed_demo", "--count", "120", "--storage", sqlite_url)
    assert len(documents(sqlite_url)) == 120


def test_the_seed_picks_the_ids_and_contents(tmp_path):
    urls = [f"sqlite:///{tmp_path / name}" for name in ("a.sqlite3", "b.sqlite3", "c.sqlite3")]
    run("seed_demo", "--count", "20", "--seed", "5", "--storage", urls[0])
    run("seed_demo", "--count", "20", "--seed", "5", "--storage", urls[1])
    run("seed_demo", "--count", "20", "--seed", "6", "--storage", urls[2])
    first, second, other = map(documents, urls)
    assert set(first) == {f"demo-5-{n:06d}" for n in range(20)}

    def without_times(docs):
        return {key: {k: v for k, v in doc.items() if k not in ("createdAt", "updatedAt", "stageTimestamps")}
                for key, doc in docs.items()}

    assert without_times(first) == without_times(second)
    assert set(other).isdisjoint(first)


def test_if_empty_leaves_a_storage_with_data_alone(sqlite_url):
    run("seed_demo", "--count", "5", "--storage", sqlite_url)
    out, _ = run("seed_demo", "--count", "50", "--if-empty", "--seed", "9", "--storage", sqlite_url)
    assert "already holds generations; no demo data added" in out
    assert len(documents(sqlite_url)) == 5


def test_if_empty_fills_an_empty_storage(sqlite_url):
    run("seed_demo", "--count", "7", "--if-empty", "--storage", sqlite_url)
    assert len(documents(sqlite_url)) == 7


def test_fills_the_configured_storage_by_default_and_is_quiet_at_v0(settings, file_url):
    settings.GENNIE_STORAGE = file_url
    assert run("seed_demo", "--count", "10", verbosity=0) == ("", "")
    assert len(documents(file_url)) == 10


def test_a_negative_count_is_refused(sqlite_url):
    with pytest.raises(CommandError, match="--count must be 0 or more"):
        run("seed_demo", "--count=-1", "--storage", sqlite_url)


def test_a_storage_that_is_down_is_one_command_error(settings):
    settings.GENNIE_STORAGE = {"type": "tests.dashboard.backends.FailingStorage"}
    with pytest.raises(CommandError, match="^seeding failing failed: connection refused$"):
        run("seed_demo", "--count", "3")
