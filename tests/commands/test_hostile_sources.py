"""The commands against hostile data and mistyped sources: nothing created, nothing lost, one line."""

from __future__ import annotations

import os
import sqlite3
import threading

import boto3
import pytest

from tests.factories import make_item

from .conftest import documents, open_url, run, run_failing

DEEP = '{"generationId": "deep", "script": {"content": "x", "extra": ' + "[" * 2000 + "]" * 2000 + "}}"


def good_and_deep(url: str, tmp_path) -> None:
    """Three good generations and, written straight by another program, one nested 2,000 deep."""
    with open_url(url) as storage:
        storage.save_many([make_item(f"good-{n}") for n in range(3)] + [make_item("deep")])
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("UPDATE generations SET document = ? WHERE generation_id = 'deep'", (DEEP,))
    else:
        (tmp_path / "files" / "deep.json").write_text(DEEP)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_a_document_nested_2000_deep_is_named_by_migrate_and_survived_by_cleanup(request, tmp_path, kind):
    source = request.getfixturevalue(f"{kind}_url")
    good_and_deep(source, tmp_path)
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"

    message, out, err = run_failing("migrate_storage", "--source", source, "--target", target)

    assert message == "1 document(s) failed to migrate (listed above)"
    assert "Copied 3," in out and "nested more than 32 levels deep" in err
    assert ("deep: " if kind == "sqlite" else "deep.json: ") in err
    assert sorted(documents(target)) == ["good-0", "good-1", "good-2"]
    out, _ = run("cleanup", "--older-than", "0s", "--dry-run", "--storage", source)
    # SQLite knows the spoiled row's age from its indexed column; a spoiled file has no known age: kept.
    assert out.startswith(f"Would delete {4 if kind == 'sqlite' else 3} generations")


def test_a_fifo_named_like_a_document_is_reported_and_never_opened(tmp_path, file_url):
    with open_url(file_url) as storage:
        storage.save(make_item("good"))
    os.mkfifo(tmp_path / "files" / "pipe.json")
    result: dict = {}
    # A reader that opened the FIFO would wait forever for a writer: run it where a hang is seen.
    worker = threading.Thread(target=lambda: result.update(
        answer=run_failing("migrate_storage", "--source", file_url, "--target", f"sqlite:///{tmp_path}/t.sqlite3")
    ), daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "migrate_storage hung on a FIFO"
    message, _, err = result["answer"]
    assert "1 document(s) failed" in message and "pipe.json: unreadable in the source: " in err
    assert "not a regular file" in err


def test_reading_a_file_source_takes_no_lock(tmp_path, file_url):
    with open_url(file_url) as storage:
        storage.save_many([make_item("a"), make_item("b")])
    for lock in (tmp_path / "files").glob(".lock-*"):
        lock.unlink()
    run("migrate_storage", "--source", file_url, "--target", f"sqlite:///{tmp_path}/t.sqlite3", "--verify")
    assert not list((tmp_path / "files").glob(".lock-*"))  # so a read-only mount can be read


# -- mistyped sources create nothing --------------------------------------------------------

@pytest.fixture
def mistyped(tmp_path, moto_server, dynamodb_table_name) -> dict[str, str]:
    return {
        "file": f"file://{tmp_path / 'no-such-dir'}",
        "sqlite": f"sqlite:///{tmp_path / 'typo.sqlite3'}",
        "dynamodb": f"dynamodb://{dynamodb_table_name}?region=us-east-1&endpoint={moto_server}",
    }


def tables(moto_server) -> list[str]:
    return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server).list_tables()["TableNames"]


@pytest.mark.parametrize("kind", ["file", "sqlite", "dynamodb"])
@pytest.mark.parametrize("command", [
    ("migrate_storage", "--target", "{target}", "--source"),
    ("migrate_storage", "-n", "--target", "{target}", "--source"),
    ("cleanup", "--storage"),
], ids=["migrate", "migrate-dry-run", "cleanup"])
def test_a_mistyped_source_is_one_line_and_nothing_is_created(tmp_path, mistyped, moto_server, kind, command):
    target = f"sqlite:///{tmp_path / 'target.sqlite3'}"
    args = [part.format(target=target) for part in command] + [mistyped[kind]]
    before = set(os.listdir(tmp_path))

    message, _, _ = run_failing(*args)

    assert "\n" not in message
    assert ("does not exist" if kind == "dynamodb" else "opened without creating one") in message
    assert mistyped[kind].split("://")[1].split("?")[0] in message
    created = set(os.listdir(tmp_path)) - before
    assert created <= {"target.sqlite3", "target.sqlite3-wal", "target.sqlite3-shm"}  # the target may be made
    assert not any(name.startswith(("no-such-dir", "typo")) for name in os.listdir(tmp_path))
    assert mistyped["dynamodb"].split("://")[1].split("?")[0] not in tables(moto_server)


# -- the same storage however spelled -----------------------------------------------------

def test_the_same_storage_spelled_differently_is_refused(tmp_path, file_url, sqlite_url):
    with open_url(file_url) as storage:
        storage.save(make_item("a"))
    with open_url(sqlite_url) as storage:
        storage.save(make_item("a"))
    (tmp_path / "link").symlink_to(tmp_path / "files")
    sqlite_path = sqlite_url.removeprefix("sqlite:///")
    for source, target in [
        (file_url, f"file://{tmp_path}/files/../files"),
        (file_url, f"file://{tmp_path}/link"),
        (sqlite_url, f"sqlite:///{os.path.dirname(sqlite_path)}/./{os.path.basename(sqlite_path)}?timeout=9"),
    ]:
        message, _, _ = run_failing("migrate_storage", "--source", source, "--target", target)
        assert message.startswith("source and target are the same storage"), (source, target)
