"""The SQLite schema: one table of JSON documents, the columns the list filters and sorts on,
their indexes, the trigram full-text index behind search, and its versioned migrations.

``PRAGMA user_version`` records the schema version; ``migrate`` applies the steps a database
lacks, so a later change adds a step to ``MIGRATIONS`` instead of asking users to rebuild.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from ...documents import read_item
from ...errors import StorageError, StorageInitializationError
from ...fingerprints import describe_error
from ...insights import duration_bins
from ...models import GenerationState
from ...paging import created_sort_value
from ...summaries import summary_fields
from . import insights

TABLE = "generations"
FTS_TABLE = "generations_fts"

#: Columns written on every save, in the order ``row_values`` gives them.
COLUMNS = (
    "generation_id", "created_key", "updated_key", "phase", "stage", "language", "search_id", "search_prompt",
    "summary_prompt", "summary_language", "summary_aspect_ratio", "summary_failed_stage", "summary_error",
    "created_at", "updated_at", "failure", "failure_message", "duration_bins", "document",
)

_V1 = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,             -- rowid alias: what the full-text index refers to
    generation_id TEXT NOT NULL UNIQUE,
    created_key TEXT NOT NULL,          -- normalized createdAt ('' if unreadable): order, cleanup
    updated_key TEXT NOT NULL,          -- normalized updatedAt, else createdAt: 'stalled'
    phase TEXT NOT NULL,                -- in_progress / completed / failed (stalled needs the clock)
    stage TEXT,                         -- current stage, NULL before the first one
    language TEXT NOT NULL,             -- lower-cased, '' if none
    search_id TEXT NOT NULL,            -- casefolded id and prompt: what search matches
    search_prompt TEXT NOT NULL,
    document TEXT NOT NULL
);
-- External-content FTS5 with trigrams: substring search of any 3+ characters. The text is
-- casefolded in Python before it is stored, so matching is exactly str.casefold's.
CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
    search_id, search_prompt, content='{TABLE}', content_rowid='id', tokenize='trigram case_sensitive 1'
);
"""

#: The table as of v2: v1's columns, then what ``list_summaries`` reads (``summaries.summary_fields``
#: and the times as stored) and the failure group, then the document.
_V2_TABLE = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,
    generation_id TEXT NOT NULL UNIQUE,
    created_key TEXT NOT NULL,
    updated_key TEXT NOT NULL,
    phase TEXT NOT NULL,
    stage TEXT,
    language TEXT NOT NULL,
    search_id TEXT NOT NULL,
    search_prompt TEXT NOT NULL,
    summary_prompt TEXT,                -- cut to summaries.SUMMARY_CHARS, as the error
    summary_language TEXT,              -- as written
    summary_aspect_ratio TEXT,
    summary_failed_stage TEXT,
    summary_error TEXT,
    created_at TEXT,                    -- as stored (created_key is its normalized form)
    updated_at TEXT,
    failure TEXT,                       -- the failure group (fingerprints.fingerprint_error), NULL unless failed
    failure_message TEXT,               -- its readable form (fingerprints.describe_error)
    duration_bins TEXT,                 -- JSON: each stage's histogram bin of its duration (see insights)
    -- Last: a long document spills into overflow pages, and columns after it would be read
    -- only by walking those pages.
    document TEXT NOT NULL              -- the stored JSON document, exactly as written
);
"""

#: Indexes and triggers on the table as of v1; dropped and made again when a step rebuilds it.
_INDEXES_AND_TRIGGERS = f"""
-- Every list reads one of these in (created_key, generation_id) order, so a page costs its
-- own rows whatever the table size; updated_key rides along to test 'stalled' in the index.
CREATE INDEX {TABLE}_by_created ON {TABLE} (created_key, generation_id);
CREATE INDEX {TABLE}_by_phase ON {TABLE} (phase, created_key, generation_id, updated_key);
CREATE INDEX {TABLE}_by_stage ON {TABLE} (stage, created_key, generation_id);
CREATE INDEX {TABLE}_by_language ON {TABLE} (language, created_key, generation_id);
-- Triggers keep the full-text index in step with every write, cleanup included.
CREATE TRIGGER {TABLE}_fts_insert AFTER INSERT ON {TABLE} BEGIN
    INSERT INTO {FTS_TABLE} (rowid, search_id, search_prompt) VALUES (new.id, new.search_id, new.search_prompt);
END;
CREATE TRIGGER {TABLE}_fts_delete AFTER DELETE ON {TABLE} BEGIN
    INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, search_id, search_prompt)
    VALUES ('delete', old.id, old.search_id, old.search_prompt);
END;
CREATE TRIGGER {TABLE}_fts_update AFTER UPDATE ON {TABLE}
WHEN old.search_id IS NOT new.search_id OR old.search_prompt IS NOT new.search_prompt BEGIN
    INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, search_id, search_prompt)
    VALUES ('delete', old.id, old.search_id, old.search_prompt);
    INSERT INTO {FTS_TABLE} (rowid, search_id, search_prompt) VALUES (new.id, new.search_id, new.search_prompt);
END;
"""

_V1_COLUMNS = COLUMNS[:8] + COLUMNS[-1:]
_SUMMARY_COLUMNS = COLUMNS[8:-1]


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _statements(_V1 + _INDEXES_AND_TRIGGERS):
        conn.execute(statement)


def _add_summaries_and_insights(conn: sqlite3.Connection) -> None:
    """v2: the summary and failure columns, filled from each document, and the insights sums
    (``insights``) made from them. The columns must come before ``document`` (see the table),
    and ``ALTER TABLE ADD COLUMN`` appends, so the table is rebuilt with the same rowids (which
    the full-text index refers to): one pass over every document, once."""
    for (name,) in conn.execute(f"SELECT name FROM sqlite_schema WHERE tbl_name = '{TABLE}' "
                                "AND type IN ('index', 'trigger') AND sql IS NOT NULL").fetchall():
        kind = "INDEX" if name.startswith(f"{TABLE}_by_") else "TRIGGER"
        conn.execute(f"DROP {kind} {name}")
    conn.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_v1")
    conn.execute(_V2_TABLE)
    copied = ", ".join(("id", *_V1_COLUMNS))
    conn.execute(f"INSERT INTO {TABLE} ({copied}) SELECT {copied} FROM {TABLE}_v1")
    conn.execute(f"DROP TABLE {TABLE}_v1")
    assignments = ", ".join(f"{column} = ?" for column in _SUMMARY_COLUMNS)
    last = -1
    # A thousand documents at a time, in rowid order: memory stays flat however large the table.
    batch = f"SELECT id, generation_id, document FROM {TABLE} WHERE id > ? ORDER BY id LIMIT 1000"
    while rows := conn.execute(batch, (last,)).fetchall():
        conn.executemany(f"UPDATE {TABLE} SET {assignments} WHERE id = ?",
                         [(*_summary_of_document(generation_id, doc), rowid) for rowid, generation_id, doc in rows])
        last = rows[-1][0]
    for statement in _statements(_INDEXES_AND_TRIGGERS):
        conn.execute(statement)
    conn.execute(f"CREATE INDEX {TABLE}_by_failure ON {TABLE} (failure, created_key, generation_id)"
                 " WHERE failure IS NOT NULL")
    insights.create(conn, TABLE)


def _summary_of_document(generation_id: str, document: str) -> tuple[Any, ...]:
    """The summary columns of a stored document; NULLs for one that cannot be read (its row
    stays, and reading it names it corrupt, as before)."""
    try:
        item = json.loads(document)
        state = read_item(generation_id, item)
    except (ValueError, RecursionError, StorageError):
        return (None,) * len(_SUMMARY_COLUMNS)
    return summary_values(item, state)


#: Step ``n`` takes a database from schema version ``n`` to ``n + 1``.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1, _add_summaries_and_insights)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to ``SCHEMA_VERSION`` in one write transaction (a no-op when current)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageInitializationError(
                f"the database has schema version {version}, newer than this library's {SCHEMA_VERSION}; "
                "upgrade storage_backends"
            )
        for step in MIGRATIONS[version:]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def row_values(item: dict[str, Any], state: GenerationState, document: str) -> tuple[Any, ...]:
    """The values of ``COLUMNS`` for a stored item (``state`` is the item read as a model)."""
    created = created_sort_value(item.get("createdAt"))
    updated = created_sort_value(item.get("updatedAt")) or created
    stage = state.current_stage
    return (
        state.generation_id, created, updated, state.phase.value, stage.value if stage else None,
        index_text((state.language or "").lower()), fold(state.generation_id), fold(state.prompt or ""),
        *summary_values(item, state), document,
    )


def summary_values(item: dict[str, Any], state: GenerationState) -> tuple[Any, ...]:
    """The summary, failure and duration columns of a stored item."""
    fields = summary_fields(state)
    texts = (fields["prompt"], fields["language"], fields["aspect_ratio"], fields["failed_stage"], fields["error"])
    created, updated = item.get("createdAt"), item.get("updatedAt")
    failed = state.failed_stage
    failure_message = describe_error(state.stage(failed).error) if failed else None
    return (*(index_text(text) if text is not None else None for text in texts),
            created if isinstance(created, str) else None, updated if isinstance(updated, str) else None,
            fields["failure"], index_text(failure_message) if failure_message is not None else None,
            json.dumps(duration_bins(state), separators=(",", ":")))


def fold(text: str) -> str:
    """Search text: casefolded, as the in-Python filter compares it."""
    return index_text(text.casefold())


def index_text(text: str) -> str:
    # A lone surrogate (valid in a Python str, not in UTF-8) cannot be bound as SQLite text;
    # the document keeps it escaped in JSON, the index columns get a '?' in its place.
    return text.encode("utf-8", "replace").decode("utf-8")


def _statements(script: str) -> list[str]:
    """Split a DDL script into statements (``executescript`` would commit our transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return [s for s in statements if s]
