"""SQL for ``list_generations``: a ``ListQuery`` as a WHERE clause over the indexed columns.

Every filter mirrors ``storage_backends.filtering.matches`` (the reference the contract suite
checks all backends against); rows come in keyset order on (created_key, generation_id).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...models import GenerationStatus, ListQuery, format_timestamp
from ...paging import SortKey
from .schema import FTS_TABLE, TABLE, fold, index_text

#: Trigrams need three characters; a shorter search scans rows in page order instead.
MIN_INDEXED_SEARCH = 3
#: A search matching fewer rows than this reads them by rowid and sorts them; a broader one
#: walks the ordered index and keeps the rows that match, stopping when the page is full.
BROAD_SEARCH = 500

#: The rowids whose id or prompt holds the phrase, read from the trigram index.
MATCHES_SQL = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"

#: In progress and not updated since the cut-off (updated_key '' means no readable time).
_STALLED = "(phase = 'in_progress' AND updated_key > '' AND updated_key < ?)"

#: Rows per phase (a walk of the phase index, already grouped), then the stalled ones among
#: the in-progress rows (a range of it); takes the stalled cut-off. Grouping on a computed
#: 'stalled' column instead would sort every row.
COUNT_BY_STATUS_SQL = (
    f"SELECT phase, count(*) FROM {TABLE} GROUP BY phase"
    f" UNION ALL SELECT '{GenerationStatus.STALLED.value}', count(*) FROM {TABLE} WHERE {_STALLED}"
)


@dataclass(frozen=True)
class Search:
    """How pages apply a search, decided once per list call: exactly one field is set."""

    #: A narrow search: every matching rowid (fewer than ``BROAD_SEARCH``), read and sorted.
    rowids: tuple[int, ...] | None = None
    #: A broad one: the FTS5 phrase, tested against rows as the ordered index is walked.
    phrase: str | None = None
    #: Too short for trigrams: a substring test on each row in page order.
    needle: str | None = None


def plan_search(conn: sqlite3.Connection, query: ListQuery) -> Search | None:
    """Read up to ``BROAD_SEARCH`` matches from the full-text index to choose how to search."""
    if not query.search:
        return None
    needle = fold(query.search)
    if len(needle) < MIN_INDEXED_SEARCH:
        return Search(needle=needle)
    # A quoted FTS5 string is a phrase of consecutive trigrams: an exact substring match.
    phrase = '"' + needle.replace('"', '""') + '"'
    rowids = tuple(rowid for (rowid,) in conn.execute(f"{MATCHES_SQL} LIMIT {BROAD_SEARCH}", (phrase,)))
    return Search(rowids=rowids) if len(rowids) < BROAD_SEARCH else Search(phrase=phrase)


#: What a page of documents reads, and what a page of summaries reads instead (no document).
DOCUMENT_COLUMNS = ("generation_id", "created_key", "document")
SUMMARY_COLUMNS = (
    "generation_id", "created_key", "phase", "stage", "summary_prompt", "summary_language", "summary_aspect_ratio",
    "summary_failed_stage", "summary_error", "created_at", "updated_at", "failure",
)


def select_page(query: ListQuery, at: datetime, *, search: Search | None, after: SortKey | None, ascending: bool,
                limit: int, columns: tuple[str, ...] = DOCUMENT_COLUMNS) -> tuple[str, list[Any]]:
    """Up to ``limit`` rows of ``columns`` (the first two: generation_id, created_key) beyond
    ``after`` in page order."""
    source, params = TABLE, []
    clauses, filter_params = filter_clauses(query, at)
    if search is not None and search.rowids is not None:
        # Few matches: start from them, whatever index the other filters offer (a CROSS JOIN
        # keeps its left side as the outer loop), and sort them.
        source = f"json_each(?) AS hits CROSS JOIN {TABLE} ON {TABLE}.id = hits.value"
        params.append(json.dumps(search.rowids))
    elif search is not None:
        clause, search_params = _search_clause(search)
        clauses.append(clause)
        filter_params.extend(search_params)
    params.extend(filter_params)
    if after is not None:
        clauses.append(f"(created_key, generation_id) {'>' if ascending else '<'} (?, ?)")
        params.extend(after)
    order = "ASC" if ascending else "DESC"
    sql = (
        f"SELECT {', '.join(f'{TABLE}.{column}' for column in columns)} FROM {source}"
        f" WHERE {' AND '.join(clauses) or 1}"
        f" ORDER BY created_key {order}, generation_id {order} LIMIT ?"
    )
    return sql, [*params, limit]


def filter_clauses(query: ListQuery, at: datetime) -> tuple[list[str], list[Any]]:
    """The filters other than search, which ``plan_search`` prepares apart."""
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
    if query.failure is not None:
        clauses.append("failure = ?")
        params.append(query.failure)
    if query.created_after is not None:
        clauses.append("created_key >= ?")
        params.append(format_timestamp(query.created_after))
    if query.created_before is not None:
        clauses.append("created_key < ?")
        params.append(format_timestamp(query.created_before))
    return clauses, params


def _status_clause(status: GenerationStatus) -> str:
    if status is GenerationStatus.STALLED:
        return _STALLED
    if status is GenerationStatus.IN_PROGRESS:
        return f"phase = 'in_progress' AND NOT {_STALLED}"
    return "phase = ?"


def _search_clause(search: Search) -> tuple[str, list[Any]]:
    if search.phrase is not None:
        # "+id" stops SQLite fetching every match by rowid (then sorting them all): it walks
        # the ordered index instead and tests each row against the set of matches.
        return f"+id IN ({MATCHES_SQL})", [search.phrase]
    return "(instr(search_id, ?) > 0 OR instr(search_prompt, ?) > 0)", [search.needle, search.needle]
