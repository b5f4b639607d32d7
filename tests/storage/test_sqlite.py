"""The SQLite backend beyond the shared contract: corrupt rows, query plans (indexes and the
trigram full-text index), WAL and busy waits, several processes writing at once, bad paths,
reopening and schema versions."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from storage_backends import (
    GenerationStatus,
    ListQuery,
    SkippedDocument,
    Stage,
    StorageCorruptDocumentError,
    StorageFactory,
    StorageInitializationError,
    StorageOperationError,
    StorageValidationError,
)
from storage_backends.backends.memory import MemoryStorage
from storage_backends.backends.sqlite import SQLiteStorage, schema
from storage_backends.backends.sqlite import pool as sqlite_pool
from storage_backends.backends.sqlite.query import BROAD_SEARCH, MATCHES_SQL, Search, plan_search, select_page
from storage_backends.backends.sqlite.schema import SCHEMA_VERSION
from storage_backends.documents import read_item

from ..factories import ago, completed_stages, make_item
from .processes import run_together

#: ``storage`` (tests/storage/conftest.py) is the SQLite backend on ``sqlite_path``.
pytestmark = pytest.mark.backends("sqlite")


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection to the same file, as another program (or a careless admin) would open."""
    return sqlite3.connect(path, isolation_level=None)


def ids(page) -> list[str]:
    return [state.generation_id for state in page.items]


# -- corrupt rows ---------------------------------------------------------------------------

#: What a corrupt row's document holds, and what its report says.
CORRUPT_ROWS = [
    ('{"generationId": "bad", "initialParams": ', "invalid JSON"),
    ('{"generationId": "bad", "script": "not a map"}', "script"),
    ("[1, 2, 3]", "not a JSON object"),
]


@pytest.mark.parametrize("document, reason", CORRUPT_ROWS)
def test_a_corrupt_row_fails_get_by_id_while_listing_the_others_works(sqlite_path, storage, caplog, document, reason):
    storage.save_many([make_item(name, created_at=ago(minutes=n)) for n, name in enumerate(["a", "bad", "c", "d"])],
                      preserve_timestamps=True)
    raw(sqlite_path).execute("UPDATE generations SET document = ? WHERE generation_id = 'bad'", (document,))

    with pytest.raises(StorageCorruptDocumentError) as info:
        storage.get("bad")
    assert isinstance(info.value, StorageOperationError)
    assert info.value.generation_id == "bad" and "'bad'" in str(info.value) and reason in str(info.value)
    with pytest.raises(StorageOperationError):
        storage.update("bad", {"script": {"content": "x"}})

    with caplog.at_level(logging.WARNING, logger="storage_backends.backends.sqlite"):
        assert ids(storage.list_generations()) == ["a", "c", "d"]
    assert "'bad'" in caplog.text
    # The page is still full: reading goes on past the skipped row.
    first = storage.list_generations(ListQuery(limit=2))
    assert ids(first) == ["a", "c"]
    assert ids(storage.list_generations(ListQuery(limit=2, cursor=first.next_cursor))) == ["d"]
    assert storage.get_metrics().details["corrupt_rows_skipped"] == 2

    # Saving a good document over it repairs it.
    storage.save(make_item("bad", prompt="repaired"))
    assert storage.get("bad").prompt == "repaired"


# Pages of 2 have g3 in the middle of the second; pages of 3 read it past the first one's end.
@pytest.mark.parametrize("batch_size", [2, 500, 3])
@pytest.mark.parametrize("document, reason", CORRUPT_ROWS)
def test_iteration_reports_a_corrupt_row_to_on_skip_and_yields_every_other(sqlite_path, storage, document, reason,
                                                                            batch_size):
    names = [f"g{n}" for n in range(7)]
    storage.save_many([make_item(name, created_at=ago(minutes=10 - n)) for n, name in enumerate(names)],
                      preserve_timestamps=True)
    raw(sqlite_path).execute("UPDATE generations SET document = ? WHERE generation_id = 'g3'", (document,))
    for _ in range(2):  # a migration run again must be told again
        skipped = []
        states = storage.iter_generations(batch_size=batch_size, on_skip=skipped.append)
        assert [state.generation_id for state in states] == ["g0", "g1", "g2", "g4", "g5", "g6"]
        assert [report.label for report in skipped] == ["g3"]
        [report] = skipped
        assert isinstance(report, SkippedDocument) and report.generation_id == "g3"
        assert reason in report.reason


# -- query plans ----------------------------------------------------------------------------

def explain(path: Path, sql: str, params) -> list[str]:
    return [row[3] for row in raw(path).execute("EXPLAIN QUERY PLAN " + sql, params)]


def plan(path: Path, query: ListQuery, *, after=None, search: Search | None = None) -> list[str]:
    sql, params = select_page(query, datetime.now(timezone.utc), search=search, after=after,
                              ascending=not query.newest_first, limit=query.limit + 1)
    return explain(path, sql, params)


@pytest.mark.parametrize("query", [
    ListQuery(),
    ListQuery(newest_first=False),
    ListQuery(status=GenerationStatus.FAILED),
    ListQuery(status=GenerationStatus.STALLED),
    ListQuery(status=GenerationStatus.IN_PROGRESS),
    ListQuery(stage=Stage.AUDIO),
    ListQuery(language="FR"),
], ids=repr)
def test_pages_read_an_index_in_page_order_never_the_whole_table(storage, sqlite_path, query):
    for after in (None, ("2026-01-01T00:00:00.000Z", "gen-1")):
        steps = plan(sqlite_path, query, after=after)
        assert any("USING INDEX generations_by_" in step for step in steps), steps
        assert "SCAN generations" not in steps
        assert not any("TEMP B-TREE" in step for step in steps), steps


def test_search_uses_the_full_text_index(storage, sqlite_path):
    # Matches come from the trigram index (idxStr "M": FTS5 answers the MATCH itself).
    assert explain(sqlite_path, MATCHES_SQL, ['"otter"']) == ["SCAN generations_fts VIRTUAL TABLE INDEX 0:M2"]
    # A narrow search reads its few matches by rowid, whatever the other filters.
    query = ListQuery(search="Otter", status=GenerationStatus.FAILED)
    narrow = plan(sqlite_path, query, search=Search(rowids=(1, 2)))
    assert "SEARCH generations USING INTEGER PRIMARY KEY (rowid=?)" in narrow, narrow
    # A broad one walks the ordered index and tests rows against the matches: no sort.
    broad = plan(sqlite_path, ListQuery(search="Otter"), search=Search(phrase='"otter"'))
    assert any("generations_fts" in step for step in broad), broad
    assert any("USING INDEX generations_by_created" in step for step in broad), broad
    assert not any("TEMP B-TREE" in step for step in broad), broad


def test_the_full_text_index_follows_every_write(sqlite_path, storage):
    storage.save(make_item("g1", prompt="Volcanoes erupting", created_at=ago(days=3)))
    storage.save(make_item("g2", prompt="Volcano cooking"))
    assert ids(storage.list_generations(ListQuery(search="volcano"))) == ["g2", "g1"]
    storage.update("g2", {"initialParams": {"prompt": "Glaciers melting"}})
    assert ids(storage.list_generations(ListQuery(search="volcano"))) == ["g1"]
    assert ids(storage.list_generations(ListQuery(search="glacier"))) == ["g2"]
    storage.cleanup()
    storage.delete("g2")
    assert storage.list_generations(ListQuery(search="volcano")).items == []
    assert storage.list_generations(ListQuery(search="glacier")).items == []
    # FTS5's own consistency check against the content table.
    raw(sqlite_path).execute("INSERT INTO generations_fts (generations_fts) VALUES ('integrity-check')")


def reference_item(n: int) -> dict:
    words = ["Otters at play", "OTTER science", "Straße der Otter", "Bees", 'A "quoted" otter', "Ötzi", "🎬 films"]
    stages = completed_stages() if n % 4 == 0 else {"script": {"content": "x"}}
    if n % 5 == 0:
        stages["audio"] = {"status": "failed"}
    return make_item(f"Gen-{n:04d}", prompt=words[n % len(words)], language=["en", "fr", "DE"][n % 3],
                     created_at=ago(minutes=n // 3), updated_at=ago(minutes=n // 3), **stages)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """The same 1,600 generations in SQLite and in the reference (memory) backend."""
    items = [reference_item(n) for n in range(1600)]
    path = tmp_path_factory.mktemp("reference") / "generations.sqlite3"
    reference = MemoryStorage()
    with SQLiteStorage(path) as storage:
        storage.save_many(items, preserve_timestamps=True)
        reference.save_many(items, preserve_timestamps=True)
        yield path, storage, reference


@pytest.mark.parametrize("search", ["otter", "OTTER", "strasse", '"quoted" ot', "ötz", "🎬 f", "gen-00", "ot", "zzz"])
def test_search_pages_match_the_reference_filter_broad_or_narrow(filled, search):
    path, storage, reference = filled
    for query in (ListQuery(search=search, limit=100), ListQuery(search=search, language="fr", newest_first=False),
                  ListQuery(search=search, status=GenerationStatus.FAILED, limit=7)):
        pages = 0
        while True:
            page, expected = storage.list_generations(query), reference.list_generations(query)
            assert ids(page) == ids(expected)
            pages += 1
            if expected.next_cursor is None or pages == 4:
                break
            query = query.model_copy(update={"cursor": page.next_cursor})
    matches = len(reference.list_generations(ListQuery(search=search, limit=500)).items)
    broad = plan_search(raw(path), ListQuery(search=search)).phrase is not None
    assert broad == (len(search) >= 3 and matches >= BROAD_SEARCH)


# -- WAL, busy, processes -------------------------------------------------------------------

def test_wal_mode_is_on(sqlite_path, storage):
    assert raw(sqlite_path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    details = storage.get_metrics().details
    assert details["wal"] is True and details["journal_mode"] == "wal"
    assert details["file_size_bytes"] > 0 and details["schema_version"] == SCHEMA_VERSION


def test_a_busy_writer_is_waited_for_then_reported_while_readers_go_on(sqlite_path):
    storage = SQLiteStorage(sqlite_path, timeout=0.2)
    storage.save(make_item("g1"))
    other = raw(sqlite_path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    other.execute("UPDATE generations SET stage = stage")
    try:
        assert storage.get("g1").generation_id == "g1"  # WAL: reads are not blocked
        assert ids(storage.list_generations()) == ["g1"]
        with pytest.raises(StorageOperationError) as info:
            storage.update("g1", {"script": {"content": "x"}})
        assert info.value.code == "SQLITE_BUSY"
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    finally:
        other.execute("ROLLBACK")
    assert storage.update("g1", {"script": {"content": "x"}}).script.content == "x"
    assert storage.get_metrics().operations["update"].errors == 1
    storage.close()


def hammer_stage(path: str, stage: str, start) -> None:
    storage = SQLiteStorage(path)
    start.wait()  # every process is up: their updates overlap
    for n in range(50):
        storage.update("shared", {stage: {"round": n}})
    storage.close()


def test_four_processes_updating_different_stages_lose_nothing(sqlite_path, storage):
    storage.save(make_item("shared"))
    stages = ["script", "audio", "baseVideo", "youtube"]
    assert run_together(hammer_stage, [(str(sqlite_path), stage) for stage in stages]) == [0] * len(stages)
    item = storage.get("shared").to_item()
    assert all(item[stage] == {"round": 49} for stage in stages)
    assert set(item["stageTimestamps"]) == {"initialParams", *stages}


def write_alongside(path: str, writer: int, start) -> None:
    """One of two processes: saves its own generations (singly and in bulk) and bumps a shared one."""
    storage = SQLiteStorage(path)
    start.wait()
    for n in range(40):
        storage.save(make_item(f"w{writer}-single-{n}", prompt=f"writer {writer}"))
        storage.save_many([make_item(f"w{writer}-bulk-{n}-{k}") for k in range(5)])
        storage.update("shared", {f"writer{writer}": {"n": n}})
        if n % 10 == 0:
            storage.cleanup()  # the cron's job, racing the web process's writes
    storage.close()


def test_two_writer_processes_with_saves_bulk_saves_updates_and_cleanup(sqlite_path, storage):
    storage.save_many([make_item("shared"), make_item("old", created_at=ago(days=2))], preserve_timestamps=True)
    assert run_together(write_alongside, [(str(sqlite_path), 1), (str(sqlite_path), 2)]) == [0, 0]
    assert storage.get_metrics().active_generations == 1 + 2 * 40 * 6
    assert not storage.exists("old")
    shared = storage.get("shared").to_item()
    assert shared["writer1"] == {"n": 39} and shared["writer2"] == {"n": 39}
    assert len(storage.list_generations(ListQuery(search="writer 2", limit=500)).items) == 40


# -- opening, closing, reopening ------------------------------------------------------------

def test_an_io_error_measuring_the_files_is_a_storage_error(storage, stat_fails):
    stat_fails("-wal")
    with pytest.raises(StorageOperationError) as info:
        storage.get_metrics()
    assert info.value.code == "EIO" and isinstance(info.value.__cause__, OSError)


def test_the_parent_directory_is_created(tmp_path):
    path = tmp_path / "a" / "b" / "c.sqlite3"
    with SQLiteStorage(path) as storage:
        storage.save(make_item("g1"))
    assert path.is_file()


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp,  # a directory
    lambda tmp: (tmp / "file.txt", (tmp / "file.txt").write_text("x"))[0] / "db.sqlite3",  # under a file
    lambda tmp: (tmp / "junk.sqlite3", (tmp / "junk.sqlite3").write_bytes(b"not a database" * 100))[0],
    lambda tmp: ":memory:",
    lambda tmp: "",
], ids=["directory", "under-a-file", "not-a-database", "memory", "empty"])
def test_an_unusable_path_is_an_initialization_error(tmp_path, make_path):
    with pytest.raises(StorageInitializationError) as info:
        SQLiteStorage(make_path(tmp_path))
    assert info.value.__cause__ is not None or "file path" in str(info.value)


def test_a_bad_timeout_is_an_initialization_error(sqlite_path):
    with pytest.raises(StorageInitializationError, match="timeout"):
        SQLiteStorage(sqlite_path, timeout="soon")


def test_options_come_from_a_url(sqlite_path):
    with StorageFactory.from_url(f"sqlite:///{sqlite_path}?timeout=2.5") as storage:
        assert storage.describe() == {"path": str(sqlite_path), "timeout": 2.5, "schema_version": SCHEMA_VERSION}


def test_reopening_sees_the_data_and_close_releases_every_connection(sqlite_path):
    storage = SQLiteStorage(sqlite_path)
    storage.save(make_item("g1", prompt="kept across restarts"))
    assert ids(storage.list_generations()) == ["g1"]
    storage.close()
    # The last connection to close checkpoints the WAL and removes it.
    assert not Path(f"{sqlite_path}-wal").exists()
    with SQLiteStorage(sqlite_path) as again:
        assert again.get("g1").prompt == "kept across restarts"
        assert ids(again.list_generations(ListQuery(search="restarts"))) == ["g1"]


def test_the_schema_version_is_recorded_and_a_newer_one_refused(sqlite_path):
    SQLiteStorage(sqlite_path).close()
    conn = raw(sqlite_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageInitializationError, match="newer"):
        SQLiteStorage(sqlite_path)


def test_a_version_1_database_gets_its_summary_columns_and_loses_nothing(sqlite_path):
    sqlite_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(sqlite_path)
    schema.MIGRATIONS[0](conn)  # the database as the first schema left it, filled by that version
    conn.execute("PRAGMA user_version = 1")
    failed = make_item("old-failed", prompt="Volcanoes", created_at=ago(hours=1), updated_at=ago(hours=1),
                       script={"content": "x"}, audio={"status": "failed", "error": {"message": "TTS quota"}})
    for item in (failed, make_item("old-ok", created_at=ago(hours=2), updated_at=ago(hours=2))):
        state = read_item(item["generationId"], item)
        values = schema.row_values(item, state, json.dumps(item))
        conn.execute("INSERT INTO generations (generation_id, created_key, updated_key, phase, stage, language,"
                     " search_id, search_prompt, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     values[:8] + values[-1:])
    conn.execute("INSERT INTO generations (generation_id, created_key, updated_key, phase, language, search_id,"
                 " search_prompt, document) VALUES ('broken', '', '', 'in_progress', '', 'broken', '', '{not json')")
    conn.commit()
    conn.close()

    with SQLiteStorage(sqlite_path) as storage:
        summaries = {s.generation_id: s for s in storage.list_summaries().items}
        assert (summaries["old-failed"].error, summaries["old-failed"].prompt) == ("TTS quota", "Volcanoes")
        assert summaries["old-ok"].aspect_ratio == "16:9"
        assert ids(storage.list_generations(ListQuery(search="volcano"))) == ["old-failed"]  # full-text index kept
        with pytest.raises(StorageCorruptDocumentError):
            storage.get("broken")
        storage.update("old-ok", {"script": {"content": "y"}})
        assert ids(storage.list_generations(ListQuery(search="old-"))) == ["old-failed", "old-ok"]
    assert raw(sqlite_path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_lone_surrogate_in_a_prompt_round_trips_and_searches(storage):
    storage.save(make_item("g1", prompt="broken \ud800 text"))
    assert storage.get("g1").prompt == "broken \ud800 text"
    assert ids(storage.list_generations(ListQuery(search="broken"))) == ["g1"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"raw", datetime(2026, 1, 1)])
@pytest.mark.parametrize("preserve_timestamps", [False, True])
def test_values_json_cannot_hold_are_refused_before_anything_is_written(storage, value, preserve_timestamps):
    storage.save(make_item("keep"))
    before = storage.get("keep")
    with pytest.raises(StorageValidationError, match="cannot be stored as JSON"):
        storage.save(make_item("new", extra=value))
    with pytest.raises(StorageValidationError, match="cannot be stored as JSON"):
        storage.save_many([make_item("new"), make_item("keep", extra=value)], preserve_timestamps=preserve_timestamps)
    with pytest.raises(StorageValidationError, match="cannot be stored as JSON"):
        storage.update("keep", {"extra": value})
    assert not storage.exists("new")
    assert storage.get("keep") == before


def test_count_by_status_in_one_query_matches_the_documents(storage):
    storage.save_many([
        make_item("done", created_at=ago(hours=2), updated_at=ago(hours=2), **completed_stages()),
        make_item("failed", created_at=ago(hours=2), updated_at=ago(hours=2), audio={"error": "quota"}),
        make_item("stalled", created_at=ago(hours=2), updated_at=ago(hours=1)),
        make_item("running", created_at=ago(minutes=3), updated_at=ago(minutes=1)),
        {"generationId": "timeless", "script": {"content": "no times at all"}},
    ], preserve_timestamps=True)
    assert storage.count_by_status() == {
        GenerationStatus.COMPLETED: 1, GenerationStatus.FAILED: 1,
        GenerationStatus.STALLED: 1, GenerationStatus.IN_PROGRESS: 2,
    }


def test_save_many_of_one_id_twice_keeps_the_first_created_at(storage):
    storage.save_many([make_item("a", created_at="2025-05-05T05:05:05.000Z"), make_item("a", prompt="second")])
    got = storage.get("a")
    assert got.created_at == "2025-05-05T05:05:05.000Z" and got.prompt == "second"
    assert storage.get_metrics().active_generations == 1


def test_a_forked_child_leaves_the_parents_connections_alone(storage):
    storage.save(make_item("g1"))  # leaves an open connection in the pool
    context = multiprocessing.get_context("fork")
    inherited = context.Queue()

    def child() -> None:
        storage.update("g1", {"script": {"content": "from the child"}})
        inherited.put(len(sqlite_pool._INHERITED))

    worker = context.Process(target=child)
    worker.start()
    worker.join(timeout=60)
    assert worker.exitcode == 0
    assert inherited.get(timeout=5) == 1  # set aside, and a connection of its own opened
    assert storage.get("g1").script.content == "from the child"
    assert sqlite_pool._INHERITED == []


def test_an_sqlite_without_trigrams_is_refused_clearly(sqlite_path, monkeypatch):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    with pytest.raises(StorageInitializationError, match="SQLite 3.34.0 or later"):
        SQLiteStorage(sqlite_path)
    assert not sqlite_path.exists()


# -- opening without creating, empty files, identity ------------------------------------------

def test_create_false_refuses_a_missing_database_and_creates_nothing(tmp_path):
    with pytest.raises(StorageInitializationError, match="opened without creating one"):
        StorageFactory.from_url(f"sqlite:///{tmp_path}/typo/generations.sqlite3", create=False)
    with pytest.raises(StorageInitializationError, match="opened without creating one"):
        SQLiteStorage(tmp_path / "typo.sqlite3", create="false")
    assert list(tmp_path.iterdir()) == []


def test_create_false_opens_an_existing_database(sqlite_path):
    with SQLiteStorage(sqlite_path) as storage:
        storage.save(make_item("g1"))
    with StorageFactory.from_url(f"sqlite:///{sqlite_path}", create=False) as storage:
        assert storage.exists("g1")


def test_an_empty_file_is_refused_unless_allowed(tmp_path):
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with pytest.raises(StorageInitializationError, match="empty file, not a database.*allow_empty_file=true"):
        SQLiteStorage(empty, timeout=0.1)
    assert empty.stat().st_size == 0  # left as it was
    with StorageFactory.from_url(f"sqlite:///{empty}?allow_empty_file=true") as storage:
        storage.save(make_item("g1"))
        assert storage.exists("g1")


def test_identity_is_the_file_however_the_path_is_spelled(sqlite_path, tmp_path):
    SQLiteStorage(sqlite_path).close()
    (tmp_path / "link.sqlite3").symlink_to(sqlite_path)
    spellings = [sqlite_path, sqlite_path.parent / ".." / "db" / sqlite_path.name, tmp_path / "link.sqlite3"]
    identities = set()
    for path in spellings:
        with SQLiteStorage(path, timeout=9) as storage:
            identities.add(storage.identity())
    assert len(identities) == 1
    with SQLiteStorage(tmp_path / "other.sqlite3") as other:
        assert other.identity() not in identities
