"""SQL for ``list_generations``: a ``ListQuery`` as a WHERE clause over the indexed columns.

Every filter mirrors ``storage_backends.filtering.matches`` (the reference the contract suite
checks all backends against); rows come in keyset order on (created_key, generation_id).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from ..models import GenerationStatus, ListQuery, format_timestamp
from ..paging import SortKey
from .sqlite_schema import FTS_TABLE, TABLE, fold, index_text

#: Trigrams need three characters; a shorter search scans rows in page order instead.
MIN_INDEXED_SEARCH = 3
#: A search matching fewer rows than this fetches them by rowid and sorts them; a broader one
#: walks the ordered index and keeps the rows that match, stopping when the page is full.
BROAD_SEARCH = 500

#: In progress and not updated since the cut-off (updated_key '' means no readable time).
_STALLED = "(phase = 'in_progress' AND updated_key > '' AND updated_key < ?)"


def select_page(query: ListQuery, at: datetime, *, after: SortKey | None, ascending: bool, limit: int,
                broad_search: bool = False) -> tuple[str, list[Any]]:
    """Up to ``limit`` rows (generation_id, created_key, document) beyond ``after`` in page order."""
    clauses, params = filter_clauses(query, at, broad_search=broad_search)
    if after is not None:
        clauses.append(f"(created_key, generation_id) {'>' if ascending else '<'} (?, ?)")
        params.extend(after)
    order = "ASC" if ascending else "DESC"
    sql = (
        f"SELECT generation_id, created_key, document FROM {TABLE}"
        f" WHERE {' AND '.join(clauses) or 1}"
        f" ORDER BY created_key {order}, generation_id {order} LIMIT ?"
    )
    return sql, [*params, limit]


def filter_clauses(query: ListQuery, at: datetime, *, broad_search: bool = False) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.status is not None:
        clauses.append(_status_clause(query.status))
        if query.status in (GenerationStatus.STALLED, GenerationStatus.IN_PROGRESS):
            params.append(format_timestamp(at - query.stalled_after))
        else:
            params.append(query.status.value)
    if query.stage is not None:
        clauses.append("stage = ?")
        params.append(query.stage.value)
    if query.language is not None:
        clauses.append("language = ?")
        params.append(index_text(query.language.lower()))
    if query.search:
        clause, search_params = _search_clause(fold(query.search), broad_search)
        clauses.append(clause)
        params.extend(search_params)
    if query.created_after is not None:
        clauses.append("created_key >= ?")
        params.append(format_timestamp(query.created_after))
    if query.created_before is not None:
        clauses.append("created_key < ?")
        params.append(format_timestamp(query.created_before))
    return clauses, params


def is_broad_search(conn: sqlite3.Connection, query: ListQuery) -> bool:
    """Whether the query's search matches at least ``BROAD_SEARCH`` rows (one capped index read)."""
    phrase = _phrase(fold(query.search or ""))
    if phrase is None:
        return False
    sql = f"SELECT count(*) FROM (SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ? LIMIT {BROAD_SEARCH})"
    return conn.execute(sql, (phrase,)).fetchone()[0] >= BROAD_SEARCH


def count_by_phase_sql() -> str:
    """Counts per (phase, stalled) in one pass over the phase index; takes the stalled cut-off."""
    return f"SELECT phase, {_STALLED} AS stalled, count(*) FROM {TABLE} GROUP BY phase, stalled"


def _status_clause(status: GenerationStatus) -> str:
    if status is GenerationStatus.STALLED:
        return _STALLED
    if status is GenerationStatus.IN_PROGRESS:
        return f"phase = 'in_progress' AND NOT {_STALLED}"
    return "phase = ?"


def _search_clause(needle: str, broad: bool) -> tuple[str, list[Any]]:
    phrase = _phrase(needle)
    if phrase is None:
        return "(instr(search_id, ?) > 0 OR instr(search_prompt, ?) > 0)", [needle, needle]
    # "+id" stops SQLite fetching every match by rowid (then sorting them all): it reads the
    # ordered index instead and tests each row against the set of matches.
    column = "+id" if broad else "id"
    return f"{column} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)", [phrase]


def _phrase(needle: str) -> str | None:
    """The FTS5 query for a substring: a quoted string is a phrase of consecutive trigrams."""
    if len(needle) < MIN_INDEXED_SEARCH:
        return None
    return '"' + needle.replace('"', '""') + '"'
