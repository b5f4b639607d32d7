"""The file backend beyond the shared contract: file names, foreign and corrupt files,
atomic writes, locking across processes, and a listing index that sees other processes' writes."""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from storage_backends import (
    ListQuery,
    StorageCorruptDocumentError,
    StorageFactory,
    StorageInitializationError,
    StorageOperationError,
    StorageValidationError,
)
from storage_backends.backends.file import FileStorage
from storage_backends.backends.file import backend as file_module
from storage_backends.backends.file import index as file_index
from storage_backends.backends.file.names import file_name_for
from storage_backends.base import log_skip

from ..factories import ago, completed_stages, make_item

ODD_IDS = ["../x", "a/b", "..", ".", "/etc/passwd", "con", "CON", "nul.txt", "x.json", ".hidden",
           "back\\slash", "with space", "日本", "a" * 255, "é" * 300, "b" * 1024]


#: ``storage`` (tests/storage/conftest.py) is the file backend on ``file_directory``.
pytestmark = pytest.mark.backends("file")


def documents(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if not name.startswith("."))


def every_file(tmp_path: Path) -> set[Path]:
    return {path for path in tmp_path.rglob("*") if path.is_file()}


# -- file names -----------------------------------------------------------------------------

@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_every_id_is_one_file_inside_the_directory_and_round_trips(tmp_path, file_directory, storage, odd_id):
    storage.save(make_item(odd_id, prompt=f"prompt of {odd_id}"))
    [name] = documents(file_directory)
    assert name == file_name_for(odd_id)
    assert len(name.encode()) <= 255 and "/" not in name and "\\" not in name
    assert {path.parent for path in every_file(tmp_path)} == {file_directory}
    assert storage.get(odd_id).prompt == f"prompt of {odd_id}"
    assert json.loads((file_directory / name).read_text("utf-8"))["generationId"] == odd_id
    assert [state.generation_id for state in storage.list_generations().items] == [odd_id]
    assert storage.delete(odd_id) and documents(file_directory) == []


def test_all_odd_ids_live_side_by_side(file_directory, storage):
    for odd_id in ODD_IDS:
        storage.save(make_item(odd_id, prompt=odd_id))
    assert len(documents(file_directory)) == len(ODD_IDS)
    assert all(storage.get(odd_id).prompt == odd_id for odd_id in ODD_IDS)


def test_ids_differing_only_in_case_get_names_differing_beyond_case(file_directory, storage):
    variants = ["gen", "Gen", "GEN", "gEn", "ÉTÉ", "été"]
    names = {file_name_for(variant).casefold() for variant in variants}
    assert len(names) == len(variants)
    for variant in variants:
        storage.save(make_item(variant, prompt=variant))
    assert len(documents(file_directory)) == len(variants)
    assert [storage.get(variant).prompt for variant in variants] == variants


@pytest.mark.parametrize("generation_id, name", [
    ("gen_123", "gen_123.json"),
    ("0c5e-41aa", "0c5e-41aa.json"),
    ("Gen", "!gen.json"),
    ("../x", "%2e%2e%2fx.json"),
    ("con", "%63on.json"),
    ("com1", "%63om1.json"),
])
def test_simple_ids_get_readable_names(generation_id, name):
    assert file_name_for(generation_id) == name


def test_long_ids_are_hashed_and_checked_on_read(file_directory, storage):
    long_id = "L" * 300
    name = file_name_for(long_id)
    assert name.startswith("+") and len(name) < 100
    storage.save(make_item(long_id))
    # Another document put under that name is refused, not taken for the long id.
    (file_directory / name).write_text(json.dumps(make_item("L" * 299)), "utf-8")
    with pytest.raises(StorageCorruptDocumentError, match="holds generation"):
        storage.get(long_id)
    assert storage.list_generations().items == []


# -- other producers and corrupt files -----------------------------------------------------

def seed_document(generation_id: str) -> dict:
    """A document as the seed's producers wrote it: no stage times, camelCase, extras."""
    return {
        "generationId": generation_id,
        "initialParams": {"prompt": "A video about AI", "language": "en", "options": {"voice": "nova"}},
        "script": {"content": "AI is transforming our world...", "mood": "informative", "source": "generated"},
        "createdAt": ago(minutes=10), "updatedAt": ago(minutes=9), "pipelineVersion": 3,
    }


def test_a_document_written_by_another_producer_is_readable_and_updatable(file_directory, storage):
    document = seed_document("gen_1712345_ab")
    (file_directory / "gen_1712345_ab.json").write_text(json.dumps(document, indent=2), "utf-8")
    assert storage.get("gen_1712345_ab").to_item() == document
    assert [state.generation_id for state in storage.list_generations().items] == ["gen_1712345_ab"]
    updated = storage.update("gen_1712345_ab", {"audio": {"url": "https://cdn/a.mp3"}})
    assert updated.script.content == "AI is transforming our world..."
    assert updated.stage_timestamps == {"audio": updated.updated_at}
    assert updated.to_item()["pipelineVersion"] == 3


CORRUPT_CONTENTS = [
    b'{"generationId": "bad", "script": ',                # cut short
    b"\xff\xfe not utf-8",
    b'["generationId", "bad"]',                           # JSON, not an object
    b'{"generationId": "bad", "script": "not a map"}',    # JSON failing validation
    b'{"generationId": "someone-else"}',                  # named for another id
]


@pytest.mark.parametrize("content", CORRUPT_CONTENTS)
def test_a_corrupt_file_is_named_on_get_and_skipped_by_list(file_directory, storage, caplog, content):
    storage.save(make_item("good"))
    (file_directory / "bad.json").write_bytes(content)
    with pytest.raises(StorageCorruptDocumentError) as info:
        storage.get("bad")
    assert isinstance(info.value, StorageOperationError)
    assert info.value.generation_id == "bad" and "'bad'" in str(info.value)
    with caplog.at_level(logging.WARNING, logger="storage_backends.backends"):
        assert [state.generation_id for state in storage.list_generations().items] == ["good"]
    assert "bad.json" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="storage_backends.backends"):
        storage.list_generations()
    assert caplog.text == ""  # warned once, not on every page
    assert [state.generation_id for state in storage.iter_generations()] == ["good"]
    assert storage.get_metrics().details["corrupt_files"] == 1
    assert storage.get_metrics().active_generations == 2  # counted without reading: corrupt files too


def test_update_of_a_corrupt_document_changes_nothing_and_save_repairs_it(file_directory, storage):
    (file_directory / "bad.json").write_bytes(b"{oops")
    with pytest.raises(StorageCorruptDocumentError):
        storage.update("bad", {"script": {"content": "x"}})
    assert (file_directory / "bad.json").read_bytes() == b"{oops"
    storage.save(make_item("bad", prompt="repaired"))
    assert storage.get("bad").prompt == "repaired"
    assert storage.get_metrics().details["corrupt_files"] == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}])
def test_values_json_cannot_hold_are_refused_before_anything_is_written(file_directory, storage, value):
    storage.save(make_item("keep"))
    before = (file_directory / "keep.json").read_bytes()
    with pytest.raises(StorageValidationError, match="cannot be stored as JSON"):
        storage.save_many([make_item("new"), make_item("keep", extra=value)])
    with pytest.raises(StorageValidationError):
        storage.update("keep", {"extra": value})
    assert documents(file_directory) == ["keep.json"]
    assert (file_directory / "keep.json").read_bytes() == before


# -- atomic writes --------------------------------------------------------------------------

def test_temp_files_are_not_listed_and_stale_ones_are_cleaned_up(file_directory, storage):
    storage.save(make_item("real"))
    stale, fresh = file_directory / ".0123abcd.tmp", file_directory / ".4567cdef.tmp"
    for temp in (stale, fresh):
        temp.write_text('{"generationId": "real", "initialPar', "utf-8")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    assert [state.generation_id for state in storage.list_generations().items] == ["real"]
    assert storage.get_metrics().details["files"] == 1
    assert storage.cleanup(dry_run=True) == 0 and stale.exists()
    assert storage.cleanup() == 0
    assert not stale.exists() and fresh.exists()  # a live writer's temp file is left alone


def test_a_failed_write_keeps_the_old_document_and_leaves_no_temp_file(file_directory, storage, monkeypatch):
    storage.save(make_item("g1", prompt="old"))

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StorageOperationError) as info:
        storage.update("g1", {"initialParams": {"prompt": "new"}})
    assert info.value.code == "ENOSPC" and isinstance(info.value.__cause__, OSError)
    monkeypatch.undo()
    assert storage.get("g1").prompt == "old"
    assert [name for name in os.listdir(file_directory) if name.endswith(".tmp")] == []


def test_an_io_error_checking_or_measuring_a_document_is_a_storage_error(storage, monkeypatch, stat_fails):
    storage.save(make_item("g1"))
    stat_fails("g1.json")
    with pytest.raises(StorageOperationError) as info:
        storage.exists("g1")
    assert info.value.code == "EIO" and info.value.generation_id == "g1"

    class UnreadableEntry:
        name = "g1.json"

        def stat(self):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage, "_document_entries", lambda: iter([UnreadableEntry()]))
    with pytest.raises(StorageOperationError) as info:
        storage.get_metrics()
    assert info.value.code == "EIO"


def test_readers_never_see_a_partial_document(storage):
    storage.save(make_item("big", script={"content": "x"}))
    stop, failures = threading.Event(), []

    def read():
        while not stop.is_set():
            try:
                storage.get("big")
            except StorageOperationError as exc:
                failures.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(150):
        storage.update("big", {"script": {"content": "word " * (2000 + 997 * (n % 7))}})
    stop.set()
    reader.join()
    assert failures == []


# -- processes ------------------------------------------------------------------------------

def hammer_stage(directory: str, stage: str, start) -> None:
    storage = FileStorage(directory)
    start.wait()  # all processes are up: their updates overlap
    for n in range(50):
        storage.update("shared", {stage: {"round": n}})


def test_four_processes_updating_different_stages_lose_nothing(file_directory, storage):
    storage.save(make_item("shared"))
    stages = ["script", "audio", "baseVideo", "youtube"]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(stages))
    workers = [context.Process(target=hammer_stage, args=(str(file_directory), stage, start)) for stage in stages]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * 4
    item = storage.get("shared").to_item()
    assert all(item[stage] == {"round": 49} for stage in stages)
    assert set(item["stageTimestamps"]) == {"initialParams", *stages}


def change_from_elsewhere(directory: str) -> None:
    other = FileStorage(directory)
    other.update("changed", {"initialParams": {"prompt": "changed elsewhere", "language": "fr"}})
    other.delete("deleted")
    other.save(make_item("added", created_at=ago(minutes=1)))


def test_the_list_index_sees_changes_made_by_another_process(file_directory, storage):
    storage.save_many([make_item(name, created_at=ago(minutes=n + 5)) for n, name in
                       enumerate(["changed", "deleted", "rewritten"])], preserve_timestamps=True)
    assert len(storage.list_generations().items) == 3
    worker = multiprocessing.get_context("spawn").Process(target=change_from_elsewhere, args=(str(file_directory),))
    worker.start()
    worker.join(timeout=120)
    assert worker.exitcode == 0
    # An in-place rewrite (same inode), as a producer without temp files would do.
    with open(file_directory / "rewritten.json", "r+", encoding="utf-8") as file:
        document = json.load(file)
        document["initialParams"]["language"] = "de"
        file.seek(0)
        file.write(json.dumps(document, indent=1))
    page = storage.list_generations()
    assert [state.generation_id for state in page.items] == ["added", "changed", "rewritten"]
    assert page.items[1].prompt == "changed elsewhere"
    assert [s.generation_id for s in storage.list_generations(ListQuery(language="fr")).items] == ["changed"]
    assert [s.generation_id for s in storage.list_generations(ListQuery(language="de")).items] == ["rewritten"]
    assert storage.get_metrics().active_generations == 3


def record_parsed_files(monkeypatch, module) -> list[str]:
    """The names of the files ``module`` parses into documents from now on, in order."""
    parsed = []
    real_parse = module.parse_document

    def counting_parse(name, *args):
        parsed.append(name)
        return real_parse(name, *args)

    monkeypatch.setattr(module, "parse_document", counting_parse)
    return parsed


def test_the_list_index_reads_only_files_that_changed(file_directory, storage, monkeypatch):
    storage.save_many([make_item(f"g{n}") for n in range(20)])
    (file_directory / "foreign.json").write_text(json.dumps(seed_document("foreign")), "utf-8")
    parsed = record_parsed_files(monkeypatch, file_index)
    storage.list_generations()
    assert parsed == ["foreign.json"]  # this process's own writes were indexed as they were made
    storage.list_generations()
    assert parsed == ["foreign.json"]
    (file_directory / "g3.json").write_text(json.dumps(make_item("g3", prompt="edited")), "utf-8")
    assert storage.list_generations(ListQuery(search="edited")).items[0].generation_id == "g3"
    assert parsed == ["foreign.json", "g3.json"]


def test_list_pages_carry_whole_documents(storage):
    storage.save(make_item("g1", **completed_stages()))
    [state] = storage.list_generations().items
    assert state == storage.get("g1")


# -- iteration, counts and metrics ---------------------------------------------------------

def test_iteration_is_in_sort_key_order_the_same_as_paging(file_directory, storage):
    created = ago(hours=1)
    storage.save_many([
        make_item("b-same-time", created_at=created), make_item("a-same-time", created_at=created),
        make_item("newest", created_at=ago(minutes=1)), make_item("oldest", created_at=ago(days=3)),
        make_item("no-time"),
    ], preserve_timestamps=True)
    # Written by another producer: a time with an offset sorts by the moment it names.
    (file_directory / "offset.json").write_text(json.dumps(make_item("offset", created_at="2020-01-01T05:00:00+05:00")))
    streamed = [state.generation_id for state in storage.iter_generations(batch_size=2)]
    assert streamed == ["no-time", "offset", "oldest", "a-same-time", "b-same-time", "newest"]
    assert streamed == [state.generation_id for state in super(FileStorage, storage)._iter(2, log_skip)]


def test_iteration_streams_without_the_listing_index(storage, monkeypatch):
    storage.save_many([make_item(f"g{n:02d}", created_at=ago(minutes=n)) for n in range(30)],
                      preserve_timestamps=True)

    def no_listing(*args, **kwargs):
        raise AssertionError("iteration listed the directory through the index")

    monkeypatch.setattr(file_index.DirectoryIndex, "scan", no_listing)
    monkeypatch.setattr(FileStorage, "_list", no_listing)
    parsed = record_parsed_files(monkeypatch, file_module)
    stream = storage.iter_generations(batch_size=5)
    assert next(stream).generation_id == "g29"
    assert parsed == ["g29.json"]  # the first pass took keys only; documents are read as they are yielded
    assert [state.generation_id for state in stream] == [f"g{n:02d}" for n in range(28, -1, -1)]
    assert len(parsed) == 30


def test_iteration_skips_a_document_deleted_after_the_first_pass(file_directory, storage, monkeypatch):
    storage.save_many([make_item(f"g{n}", created_at=ago(minutes=n)) for n in range(3)], preserve_timestamps=True)
    sort_keys = storage._sort_keys

    def then_delete(on_skip):
        keys = sort_keys(on_skip)
        (file_directory / "g1.json").unlink()  # another process deletes it between the passes
        return keys

    monkeypatch.setattr(storage, "_sort_keys", then_delete)
    assert [state.generation_id for state in storage.iter_generations()] == ["g2", "g0"]


@pytest.mark.parametrize("content", CORRUPT_CONTENTS)
def test_iteration_reports_a_corrupt_file_by_name_every_time(file_directory, storage, caplog, content):
    storage.save(make_item("good"))
    (file_directory / "bad.json").write_bytes(content)
    for _ in range(2):  # a migration run again must be told again
        skipped = []
        assert [state.generation_id for state in storage.iter_generations(on_skip=skipped.append)] == ["good"]
        [report] = skipped
        assert report.label in ("bad", "bad.json") and report.location == "bad.json" and report.reason
    # Without on_skip, a warning names it.
    with caplog.at_level(logging.WARNING, logger="storage_backends"):
        assert [state.generation_id for state in storage.iter_generations()] == ["good"]
    assert "bad" in caplog.text


@pytest.mark.parametrize("make_entry", [
    lambda path: path.mkdir(),                                  # a directory named like a document
    lambda path: (path.write_text("{}"), path.chmod(0)),        # unreadable (for anyone but root)
], ids=["directory", "no-permission"])
def test_iteration_reports_an_entry_that_cannot_be_opened(file_directory, storage, make_entry, monkeypatch):
    storage.save(make_item("good"))
    make_entry(file_directory / "x.json")
    if os.access(file_directory / "x.json", os.R_OK) and (file_directory / "x.json").is_file():
        # root reads despite the mode bits: stand in the permission error a pipeline user would get,
        # whether the backend opens the file by path or takes a descriptor from os.open first
        def denying(real_open):
            def denied(path, *args, **kwargs):
                if not isinstance(path, int) and os.fspath(path).endswith("x.json"):
                    raise PermissionError(errno.EACCES, "Permission denied")
                return real_open(path, *args, **kwargs)

            return denied

        monkeypatch.setattr("builtins.open", denying(open))
        monkeypatch.setattr(os, "open", denying(os.open))
    skipped = []
    assert [state.generation_id for state in storage.iter_generations(on_skip=skipped.append)] == ["good"]
    [report] = skipped
    assert (report.location, report.generation_id) == ("x.json", None)
    assert report.reason.startswith("unreadable:")


def test_iteration_skips_a_file_that_can_be_neither_opened_nor_stat_ed(file_directory, storage, monkeypatch, caplog):
    storage.save(make_item("good"))
    real_entries = storage._document_entries

    class UnreachableEntry:
        name, path = "lost.json", str(file_directory)  # opening a file_directory fails, as an unreadable file would

        def stat(self):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage, "_document_entries", lambda: iter([*real_entries(), UnreachableEntry()]))
    with caplog.at_level(logging.WARNING, logger="storage_backends"):
        assert [state.generation_id for state in storage.iter_generations()] == ["good"]
    assert "unreadable" in caplog.text and "lost.json" in caplog.text


def test_count_and_metrics_open_no_document(file_directory, storage, monkeypatch):
    storage.save_many([make_item("a"), make_item("b", **completed_stages())])
    (file_directory / "bad.json").write_bytes(b"{")
    (file_directory / ".0123.tmp").write_bytes(b"half a document")  # a writer's temp file: not a document
    real_open = open

    def no_documents(path, *args, **kwargs):
        assert not str(path).endswith(".json"), f"{path} was opened"
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", no_documents)
    metrics = storage.get_metrics()
    assert metrics.active_generations == 3
    assert metrics.details["files"] == 3
    assert metrics.details["corrupt_files"] == 0  # not met by a listing yet
    monkeypatch.setattr("builtins.open", real_open)
    storage.list_generations()
    assert storage.get_metrics().details["corrupt_files"] == 1
    (file_directory / "bad.json").unlink()
    assert storage.get_metrics().details["corrupt_files"] == 0


# -- cleanup --------------------------------------------------------------------------------

def test_cleanup_skips_a_file_deleted_meanwhile_by_another_process(file_directory, storage, monkeypatch):
    storage.save_many([make_item(f"old{n}", created_at=ago(days=2)) for n in range(3)], preserve_timestamps=True)
    locked = storage._locked

    def delete_first_then_lock(name):
        if name == "old0.json":
            (file_directory / name).unlink(missing_ok=True)  # the other process wins the race
        return locked(name)

    monkeypatch.setattr(storage, "_locked", delete_first_then_lock)
    assert storage.cleanup(timedelta(days=1)) == 2
    assert documents(file_directory) == []


def test_cleanup_dry_run_touches_nothing(file_directory, storage):
    storage.save_many([make_item("old", created_at=ago(days=2)), make_item("new")], preserve_timestamps=True)
    before = {name: (file_directory / name).stat().st_mtime_ns for name in documents(file_directory)}
    assert storage.cleanup(dry_run=True) == 1
    assert {name: (file_directory / name).stat().st_mtime_ns for name in documents(file_directory)} == before


# -- set-up, health and metrics -------------------------------------------------------------

def test_the_directory_is_created_and_described(file_directory):
    storage = StorageFactory.from_url(f"file://{file_directory}")
    assert isinstance(storage, FileStorage) and file_directory.is_dir()
    assert storage.describe() == {"directory": str(file_directory)}
    assert storage.is_healthy()


def test_metrics_details_count_files_and_bytes(file_directory, storage):
    storage.save_many([make_item("a"), make_item("b", **completed_stages())])
    details = storage.get_metrics().details
    assert details["files"] == 2
    assert details["bytes"] == sum((file_directory / name).stat().st_size for name in documents(file_directory))
    assert details["directory"] == str(file_directory)


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "a-file" / "store",  # a parent that is a regular file: not creatable
    lambda tmp: Path("/proc/self"),        # exists, but nobody (not even root) may write there
])
def test_a_directory_that_cannot_be_used_is_an_initialization_error(tmp_path, make_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StorageInitializationError, match="storage directory"):
        FileStorage(make_path(tmp_path))


def test_the_factory_names_a_missing_directory_option():
    with pytest.raises(StorageInitializationError, match="needs the option 'directory'"):
        StorageFactory.create_storage({"type": "file"})


@pytest.mark.parametrize("bad", ["", None, 5])
def test_a_missing_directory_option_is_an_initialization_error(bad):
    with pytest.raises(StorageInitializationError):
        FileStorage(bad)


def test_health_fails_once_the_directory_is_gone(tmp_path, file_directory, storage):
    storage.save(make_item("g1"))
    file_directory.rename(tmp_path / "moved")
    assert storage.is_healthy() is False
    with pytest.raises(StorageOperationError, match="list the directory"):
        storage.list_generations()


def test_create_false_refuses_a_missing_directory_and_creates_nothing(tmp_path):
    with pytest.raises(StorageInitializationError, match="opened without creating one"):
        StorageFactory.from_url(f"file://{tmp_path}/typo", create=False)
    assert list(tmp_path.iterdir()) == []


def test_create_false_reads_without_writing_a_file(file_directory):
    FileStorage(file_directory).save(make_item("g1"))
    for lock in file_directory.glob(".lock-*"):
        lock.unlink()
    reader = FileStorage(file_directory, create=False)
    assert reader.get("g1").generation_id == "g1" and reader.is_healthy()
    assert [state.generation_id for state in reader.iter_generations()] == ["g1"]
    assert reader.get_metrics().active_generations == 1
    assert sorted(os.listdir(file_directory)) == ["g1.json"]  # no lock file: a read-only mount would do


def test_identity_is_the_directory_however_it_is_spelled(file_directory, tmp_path):
    FileStorage(file_directory)
    (tmp_path / "link").symlink_to(file_directory)
    spellings = (file_directory, file_directory / ".." / "store", tmp_path / "link")
    same = {FileStorage(path).identity() for path in spellings}
    assert len(same) == 1 and FileStorage(tmp_path / "other").identity() not in same
