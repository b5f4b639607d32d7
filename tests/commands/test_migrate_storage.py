"""``manage.py migrate_storage``: lossless, idempotent, resumable, honest about what failed."""

from __future__ import annotations

import itertools
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management.base import CommandError

from gennie_admin.management import progress as progress_module
from storage_backends.backends.sqlite import SQLiteStorage
from storage_backends.demo import save_demo
from tests.factories import completed_stages, make_item

from .conftest import documents, open_url, run, run_failing

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def seed(url: str, count: int, *, extra: list[dict] | None = None) -> None:
    with open_url(url) as storage:
        save_demo(storage, count, now=NOW)
        if extra:
            storage.save_many(extra, preserve_timestamps=True)


#: Documents a demo run does not hold: other producers' attributes, odd ids, missing maps.
ODD_ONES = [
    make_item("Ünïcode-ид-日本", created_at="2026-11-20T10:00:00.000Z", updated_at="2026-11-20T10:05:00.000Z",
              pipelineVersion="2.3.1", **completed_stages()),
    make_item("no-times", language="ja", prompt="富士山"),
    {"generationId": "bare", "createdAt": "2026-11-21T00:00:00.000Z", "updatedAt": "2026-11-21T00:00:00.000Z",
     "custom": {"nested": [1, 2.5, True, None, "x"]}},
]


@pytest.fixture
def target_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'target.sqlite3'}"


def test_copies_every_document_unchanged_and_verify_finds_no_difference(file_url, target_url):
    seed(file_url, 300, extra=ODD_ONES)
    out, err = run("migrate_storage", "--source", file_url, "--target", target_url, "--verify")
    assert documents(target_url) == documents(file_url)
    assert len(documents(target_url)) == 303
    assert "Copied 303, skipped 0 (0 unchanged, 0 newer in the target), failed 0 in " in out
    assert "Verified 303 documents: 0 difference(s) in " in out
    assert err == ""


def test_a_second_run_copies_nothing(file_url, target_url):
    seed(file_url, 200)
    run("migrate_storage", "--source", file_url, "--target", target_url)
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url)
    assert "Copied 0, skipped 200 (200 unchanged, 0 newer in the target), failed 0" in out


def test_the_target_defaults_to_the_configured_storage(settings, file_url, target_url):
    settings.GENNIE_STORAGE = target_url
    seed(file_url, 20)
    run("migrate_storage", "--source", file_url)
    assert documents(target_url) == documents(file_url)


def newer_and_older(file_url: str, target_url: str) -> tuple[dict, dict]:
    """Source holds a and b; the target a newer a and an older b."""
    source = [make_item(name, created_at="2026-11-01T00:00:00.000Z", updated_at="2026-11-02T00:00:00.000Z")
              for name in ("a", "b")]
    newer = make_item("a", prompt="edited on the target", created_at="2026-11-01T00:00:00.000Z",
                      updated_at="2026-11-03T00:00:00.000Z")
    older = make_item("b", prompt="stale", created_at="2026-11-01T00:00:00.000Z",
                      updated_at="2026-11-01T12:00:00.000Z")
    with open_url(file_url) as storage:
        storage.save_many(source, preserve_timestamps=True)
    with open_url(target_url) as storage:
        storage.save_many([newer, older], preserve_timestamps=True)
    return source[0], newer


def test_a_newer_target_document_is_kept_and_an_older_one_replaced(file_url, target_url):
    source_a, newer = newer_and_older(file_url, target_url)
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url)
    assert "Copied 1, skipped 1 (0 unchanged, 1 newer in the target)" in out
    after = documents(target_url)
    assert after["a"] == newer
    assert after["b"] == documents(file_url)["b"]


def test_overwrite_replaces_a_newer_target_document(file_url, target_url):
    source_a, _ = newer_and_older(file_url, target_url)
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url, "--overwrite")
    assert "Copied 2, skipped 0" in out
    assert documents(target_url) == documents(file_url)


def test_verify_names_the_documents_that_differ_and_fails(file_url, target_url):
    newer_and_older(file_url, target_url)
    with open_url(target_url) as storage:
        storage.save(make_item("target-only"))
    message, out, err = run_failing("migrate_storage", "--source", file_url, "--target", target_url, "--verify")
    assert message == "1 document(s) differ between source and target (listed above)"
    assert "Verified 2 documents: 1 difference(s); 1 only in the target in " in out
    assert "  a: differs in initialParams, updatedAt" in err


@pytest.mark.parametrize("flag", ["-n", "--dry-run"])
def test_dry_run_counts_and_writes_nothing(file_url, target_url, flag):
    seed(file_url, 50)
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url, flag)
    assert out.startswith("Dry run: migrating file (")
    assert "Would copy 50, skipped 0" in out
    assert documents(target_url) == {}


def test_quiet_at_verbosity_zero(file_url, target_url):
    seed(file_url, 10)
    assert run("migrate_storage", "--source", file_url, "--target", target_url, "--verify", verbosity=0) == ("", "")
    assert len(documents(target_url)) == 10


def test_a_corrupt_source_document_is_named_while_the_rest_migrates(tmp_path, file_url, target_url):
    seed(file_url, 40)
    (tmp_path / "files" / "demo-0-000007.json").write_text('{"generationId": "demo-0-000007", "script": [')
    message, out, err = run_failing("migrate_storage", "--source", file_url, "--target", target_url)
    assert message == "1 document(s) failed to migrate (listed above)"
    assert "Copied 39, skipped 0 (0 unchanged, 0 newer in the target), failed 1" in out
    assert "  demo-0-000007.json: unreadable in the source: invalid JSON" in err
    assert len(documents(target_url)) == 39


def test_a_directory_named_like_a_document_in_a_file_source_is_named_while_the_rest_migrates(tmp_path, file_url,
                                                                                              target_url):
    seed(file_url, 40)
    (tmp_path / "files" / "x.json").mkdir()
    message, out, err = run_failing("migrate_storage", "--source", file_url, "--target", target_url)
    assert message == "1 document(s) failed to migrate (listed above)"
    assert "Copied 40, skipped 0 (0 unchanged, 0 newer in the target), failed 1" in out
    assert "  x.json: unreadable in the source: unreadable" in err
    assert documents(target_url) == documents(file_url)
    assert len(documents(target_url)) == 40


def test_verify_counts_a_source_entry_it_cannot_read_as_a_difference(tmp_path, file_url, target_url):
    seed(file_url, 20)
    run("migrate_storage", "--source", file_url, "--target", target_url)
    (tmp_path / "files" / "x.json").mkdir()  # appears after a clean run: only verify can find it
    message, out, err = run_failing("migrate_storage", "--source", file_url, "--target", target_url, "--verify")
    assert message == ("1 document(s) failed to migrate and 1 document(s) differ between source and target "
                       "(listed above)")
    assert "Copied 0, skipped 20 (20 unchanged, 0 newer in the target), failed 1" in out
    assert "Verified 20 documents: 1 difference(s) in " in out
    assert err.count("  x.json: unreadable in the source: ") == 2  # once as a failure, once as a difference


def test_a_corrupt_sqlite_row_is_named_too(tmp_path):
    source_url = f"sqlite:///{tmp_path / 'source.sqlite3'}"
    seed(source_url, 30)
    with sqlite3.connect(tmp_path / "source.sqlite3") as conn:
        conn.execute("UPDATE generations SET document = '{\"generationId\": 7}' WHERE generation_id = 'demo-0-000003'")
    message, _, err = run_failing("migrate_storage", "--source", source_url, "--target", f"file://{tmp_path}/t")
    assert message == "1 document(s) failed to migrate (listed above)"
    assert "  demo-0-000003: unreadable in the source: " in err and "generationId" in err
    assert len(documents(f"file://{tmp_path}/t")) == 29


def test_an_interrupted_run_is_finished_by_running_it_again(file_url, target_url, monkeypatch):
    seed(file_url, 1000, extra=ODD_ONES)
    real_save_many = SQLiteStorage.save_many
    calls = itertools.count()

    def crash_on_the_third_batch(self, states, **kwargs):
        if next(calls) == 2:
            raise KeyboardInterrupt
        return real_save_many(self, states, **kwargs)

    monkeypatch.setattr(SQLiteStorage, "save_many", crash_on_the_third_batch)
    with pytest.raises(CommandError, match="interrupted; run the same command again to finish") as failure:
        run("migrate_storage", "--source", file_url, "--target", target_url, "--batch-size", "100")
    assert failure.value.returncode == 130
    assert len(documents(target_url)) == 200
    monkeypatch.setattr(SQLiteStorage, "save_many", real_save_many)

    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url, "--verify")
    assert "Copied 803, skipped 200 (200 unchanged" in out
    assert documents(target_url) == documents(file_url)


def test_a_target_that_is_down_stops_with_one_line(settings, file_url):
    seed(file_url, 5)
    settings.GENNIE_STORAGE = {"type": "tests.dashboard.backends.FailingStorage"}
    with pytest.raises(CommandError, match=r"^migration stopped \(run the same command again to resume\): .*refused"):
        run("migrate_storage", "--source", file_url)


def test_source_and_target_must_differ(file_url):
    seed(file_url, 1)  # a source that exists: a missing one may be refused before they are compared
    with pytest.raises(CommandError, match="source and target are the same storage: file"):
        run("migrate_storage", "--source", file_url, "--target", file_url)


@pytest.mark.parametrize("size", ["0", "501"])
def test_batch_size_is_bounded(file_url, target_url, size):
    with pytest.raises(CommandError, match="--batch-size must be between 1 and 500"):
        run("migrate_storage", "--source", file_url, "--target", target_url, "--batch-size", size)


@pytest.mark.parametrize("workers", ["0", "65"])
def test_workers_are_bounded(file_url, target_url, workers):
    with pytest.raises(CommandError, match=r"^--workers must be between 1 and 64$"):
        run("migrate_storage", "--source", file_url, "--target", target_url, "--workers", workers)


def test_several_workers_copy_everything_and_the_start_line_says_how_many(file_url, target_url):
    seed(file_url, 300, extra=ODD_ONES)
    out, err = run("migrate_storage", "--source", file_url, "--target", target_url, "--workers", "4",
                   "--batch-size", "100", "--verify")
    assert out.splitlines()[0].endswith(" (4 workers)")
    assert "Copied 303, skipped 0 (0 unchanged, 0 newer in the target), failed 0" in out, err
    assert "Verified 303 documents: 0 difference(s)" in out
    assert documents(target_url) == documents(file_url)
    # SQLite has one writer: that is the default.
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url)
    assert out.splitlines()[0].endswith(" (1 worker)")
    assert "Copied 0, skipped 303 (303 unchanged" in out


def test_a_bad_source_url_is_a_command_error(target_url):
    with pytest.raises(CommandError, match="cannot open storage nowhere: storage URL 'nowhere' has no scheme"):
        run("migrate_storage", "--source", "nowhere", "--target", target_url)


def test_without_a_terminal_progress_is_a_plain_line_now_and_then(file_url, target_url, monkeypatch):
    monkeypatch.setattr(progress_module, "LINE_INTERVAL", 0.0)
    seed(file_url, 250)
    out, _ = run("migrate_storage", "--source", file_url, "--target", target_url, "--batch-size", "100")
    lines = [line for line in out.splitlines() if line.startswith("copied: ")]
    assert [line.split(" (")[0] for line in lines] == ["copied: 100/250", "copied: 200/250", "copied: 250/250"]
    assert all(line.endswith("/s)") for line in lines)
    assert "\r" not in out


class Terminal:
    """An output that says it is a terminal, as a shell's would."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_progress_is_a_bar_redrawn_in_place(file_url, target_url, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(progress_module, "REDRAW_INTERVAL", 0.0)
    seed(file_url, 300)
    terminal = Terminal()
    call_command("migrate_storage", "--source", file_url, "--target", target_url, "--batch-size", "100",
                 stdout=terminal)
    assert "\rcopied [##########....................] 100/300 (" in terminal.text
    assert "\rcopied [##############################] 300/300 (" in terminal.text
    assert "300/300" in terminal.text.split("\n")[1] and terminal.text.split("\n")[2].startswith("Copied 300")


def test_timestamps_survive_even_far_in_the_past(file_url, target_url):
    old = (NOW - timedelta(days=4000)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    item = make_item("ancient", created_at=old, updated_at=old, stageTimestamps={"initialParams": old})
    with open_url(file_url) as storage:
        storage.save_many([item], preserve_timestamps=True)
    run("migrate_storage", "--source", file_url, "--target", target_url)
    assert documents(target_url)["ancient"] == item
    assert json.dumps(documents(target_url)["ancient"], sort_keys=True) == json.dumps(item, sort_keys=True)


def test_verify_names_documents_missing_or_unreadable_in_the_target(tmp_path, file_url, target_url):
    seed(file_url, 20)
    run("migrate_storage", "--source", file_url, "--target", target_url)
    with open_url(target_url) as storage:
        storage.delete("demo-0-000004")
    with sqlite3.connect(tmp_path / "target.sqlite3") as conn:
        conn.execute("UPDATE generations SET document = 'not json' WHERE generation_id = 'demo-0-000009'")
    message, out, err = run_failing("migrate_storage", "--source", file_url, "--target", target_url,
                                    "--dry-run", "--verify")
    assert "Would copy 2, skipped 18" in out
    assert message == "2 document(s) differ between source and target (listed above)"
    assert "  demo-0-000004: missing in the target" in err
    assert "  demo-0-000009: unreadable in the target: generation 'demo-0-000009' is corrupt: invalid JSON" in err
