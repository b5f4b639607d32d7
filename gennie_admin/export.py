"""Exports of the whole filtered set: CSV rows or JSON Lines, written as they are read.

Shared by the dashboard (``/export.csv``, ``/export.jsonl``: ``views/export.py``) and
``manage.py export``. Both build a ``ListQuery`` and get back an ``ExportStream``: bytes, one
chunk per page of ``PAGE_SIZE`` read from the storage, following ``next_cursor`` to the last
page, so memory stays flat whatever the size of the set.

- **CSV** reads ``list_summaries`` (no whole documents: SQLite reads them from columns), one
  row per generation, ``COLUMNS`` in order, RFC 4180 quoting (the ``csv`` module, CRLF line
  ends), UTF-8 with a byte order mark so spreadsheet programs read accents right. A cell that
  a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return) is prefixed with ``'``, as OWASP advises against CSV injection. Prompt and
  error are the summaries' (cut to 300 characters, ``summaries.SUMMARY_CHARS``).
- **JSON Lines** reads ``list_generations``: each stored document (``to_item()``) as one line
  of compact JSON, UTF-8 without a BOM.

A document the storage cannot read is left out, as on the list (the backend logs it).
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

from storage_backends import GenerationState, GenerationStateStorage, GenerationSummary, ListQuery, StorageError
from storage_backends.models import parse_timestamp

from .converters import GenerationIdConverter
from .forms import SORT_OLDEST, ListParams

#: Rows read per storage call: ``ListQuery``'s largest page.
PAGE_SIZE = 500
COLUMNS = (
    "id", "status", "current_stage", "failed_stage", "error_message", "language", "aspect_ratio", "prompt",
    "created_at", "updated_at", "elapsed_seconds", "detail_url",
)
BOM = "\ufeff"
#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = frozenset("=+-@\t\r")
#: Characters ``str.splitlines`` breaks on that JSON may hold raw in strings.
_LINE_BREAKS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9-]+")
#: Characters Django's ``reverse`` leaves unquoted in a path (``URLResolver._reverse_with_prefix``).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"
_ID_SENTINEL = "generation-id-sentinel"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSONL = "jsonl"

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/jsonl"


@dataclasses.dataclass
class ExportCount:
    """Rows handed on so far (to the server, or the file), and whether the last one was."""

    rows: int = 0
    complete: bool = False


def export_stream(storage: GenerationStateStorage, query: ListQuery, export_format: ExportFormat, *,
                  detail_url: Callable[[str], str], on_finish: Callable[[ExportCount, str], None]) -> ExportStream:
    """The export of everything ``query`` matches (its cursor and limit are replaced).

    The first page is read now, so a storage that fails fails this call (the dashboard's 503
    page), not a download already under way.
    """
    query = query.model_copy(update={"cursor": None, "limit": PAGE_SIZE})
    count = ExportCount()
    if export_format is ExportFormat.CSV:
        chunks = csv_chunks(pages(storage.list_summaries, query), detail_url=detail_url, count=count)
    else:
        chunks = jsonl_chunks(pages(storage.list_generations, query), count=count)
    return ExportStream(chunks, count, on_finish)


def pages(fetch: Callable[[ListQuery], Any], query: ListQuery) -> Iterator[Sequence[Any]]:
    """The items of every page of ``query``, following ``next_cursor``; the first page is read at once."""
    first = fetch(query)

    def following(page: Any) -> Iterator[Sequence[Any]]:
        while True:
            yield page.items
            if not page.next_cursor:
                return
            page = fetch(query.model_copy(update={"cursor": page.next_cursor}))

    return following(first)


class ExportStream:
    """The chunks of one export. ``on_finish(count, outcome)`` is called once: after the last
    chunk, when reading fails (then the error is raised on), or when the stream is closed before
    its end (a client that went away; ``count.rows`` is what had been handed on)."""

    def __init__(self, chunks: Iterator[bytes], count: ExportCount,
                 on_finish: Callable[[ExportCount, str], None]) -> None:
        self.count = count
        self._chunks = chunks
        self._on_finish = on_finish
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        except StorageError as exc:
            self._finish(f"failed after {self.count.rows:,} rows: {type(exc).__name__}: {exc}")
            raise
        self.count.complete = True
        self._finish("complete")

    def close(self) -> None:
        """Stop reading; an export closed before its end is recorded as stopped early."""
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        self._finish(f"stopped early after {self.count.rows:,} rows (closed before its end)")

    def _finish(self, outcome: str) -> None:
        if not self._finished:
            self._finished = True
            self._on_finish(self.count, outcome)


def csv_chunks(pages: Iterable[Sequence[GenerationSummary]], *, detail_url: Callable[[str], str],
               count: ExportCount) -> Iterator[bytes]:
    """The BOM and header, then one chunk of CSV rows per page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF, fields with , " CR LF quoted, " doubled
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    for page in pages:
        writer.writerows(csv_row(summary, detail_url) for summary in page)
        count.rows += len(page)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no page at all: the header alone
        yield buffer.getvalue().encode("utf-8")


def csv_row(summary: GenerationSummary, detail_url: Callable[[str], str]) -> list[str]:
    """One generation's cells, in ``COLUMNS`` order, neutralized against formula injection."""
    cells = (
        summary.generation_id, summary.status.value,
        summary.current_stage.value if summary.current_stage else "",
        summary.failed_stage.value if summary.failed_stage else "",
        summary.error or "", summary.language or "", summary.aspect_ratio or "", summary.prompt or "",
        summary.created_at or "", summary.updated_at or "",
        elapsed_seconds(summary.created_at, summary.updated_at), detail_url(summary.generation_id),
    )
    return [neutralize(cell) for cell in cells]


def neutralize(cell: str) -> str:
    """``cell``, with ``'`` before it if a spreadsheet would take it for a formula."""
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell


def elapsed_seconds(created_at: str | None, updated_at: str | None) -> str:
    """Seconds from created to the last update, to the millisecond; "" when either is unknown."""
    created, updated = parse_timestamp(created_at), parse_timestamp(updated_at)
    if created is None or updated is None:
        return ""
    return f"{max(0.0, (updated - created).total_seconds()):.3f}"


def jsonl_chunks(pages: Iterable[Sequence[GenerationState]], *, count: ExportCount) -> Iterator[bytes]:
    """One chunk per page: each stored document (``to_item()``) as one line of compact JSON."""
    for page in pages:
        # pydantic writes the stored form straight to JSON (UTF-8, not ASCII-escaped), several
        # times faster than json.dumps(state.to_item()); the same document.
        text = "".join([state.model_dump_json(by_alias=True, exclude_unset=True) + "\n" for state in page])
        # Legal raw in JSON strings, but line breaks to str.splitlines and some JSONL readers:
        # escaped, the value is the same.
        for raw, escaped in _LINE_BREAKS.items():
            text = text.replace(raw, escaped)
        count.rows += len(page)
        yield text.encode("utf-8")


def detail_url_maker(base: str = "") -> Callable[[str], str]:
    """``id -> base + reverse("generations:detail", id)``, without ``reverse``'s cost per row.

    The route is reversed once around a placeholder id; each id is then written as ``reverse``
    writes it (the converter's segment, quoted with the characters ``reverse`` keeps).
    """
    head, _, tail = reverse("generations:detail", args=[_ID_SENTINEL]).partition(_ID_SENTINEL)
    head, to_url = base.rstrip("/") + head, GenerationIdConverter().to_url
    return lambda generation_id: head + quote(to_url(generation_id), safe=_PATH_SAFE) + tail


def export_filename(params: ListParams, export_format: ExportFormat, at: datetime) -> str:
    """``generations-failed-audio-20261201T1530Z.csv``: the filters and the time, safe characters only."""
    parts = ["generations", params.status or "", params.stage or "", params.language, params.created,
             f"from-{params.created_from}" if params.created_from else "",
             f"to-{params.created_to}" if params.created_to else "",
             params.failure, f"search-{params.q[:30]}" if params.q else "",
             "oldest" if params.sort == SORT_OLDEST else ""]
    stem = "-".join(filter(None, (_UNSAFE_NAME_CHARS.sub("_", part).strip("_-") for part in parts)))
    return f"{stem[:150]}-{at.astimezone(timezone.utc):%Y%m%dT%H%MZ}.{export_format.value}"
