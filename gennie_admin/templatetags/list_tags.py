"""The list's table rows, rendered in Python as Django admin's ``result_list`` does.

A page holds up to 200 rows of eight cells; as template nodes (or ``format_html`` calls)
that was most of the page's time. Here each value is escaped once with ``html.escape``,
which is what Django's ``escape`` does, and only the finished rows are marked safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from html import escape
from urllib.parse import urlencode

from django import template
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString, mark_safe

from ..forms import PARAM_FAILURE
from ..presentation.labels import STAGE_LABELS, STATUS_LABELS
from ..selectors import GenerationRow
from .gennie_tags import EMPTY, time_html

register = template.Library()

STAGE_COUNT = len(STAGE_LABELS)
ROW = (
    "<tr>"
    '<td data-label="Id" class="cell-id">{id_cell}</td>'
    '<td data-label="Prompt" class="cell-prompt" title="{prompt}">{short_prompt}</td>'
    '<td data-label="Language">{language}</td>'
    '<td data-label="Aspect">{aspect}</td>'
    '<td data-label="Stage" class="cell-stage">'
    '<span class="progress" data-reached="{reached}" data-failed="{failed}" role="img" aria-label="{progress}">'
    + "<span></span>" * STAGE_COUNT
    + "</span>"
    '<span class="stage-name">{stage} <span class="muted">{reached}/{stage_count}</span></span></td>'
    '<td data-label="Status"><span class="badge badge-{status}"{error}>{status_label}</span>{failure}</td>'
    '<td data-label="Created" class="cell-time">{created}</td>'
    '<td data-label="Updated" class="cell-time">{updated}</td>'
    "</tr>"
)
LINK = '<a href="{url}" class="mono" title="{id}">{id}</a>'
PLAIN_ID = '<span class="mono" title="{id}">{id}</span>'
#: Before the id, floated to the cell's end (see app.css), so the id keeps its ellipsis.
NOTES_MARKER = (
    '<span class="notes-marker" title="Has notes">'
    '<span aria-hidden="true">✎</span><span class="visually-hidden">Has notes</span></span>'
)
#: The bulk delete's checkbox (``selectable`` rows), and the page's id sent with "select all on this page".
SELECT_CELL = (
    '<td class="cell-select"><input type="checkbox" name="id" value="{id}" form="bulk-delete" '
    'aria-label="Select {id}" data-bulk-row><input type="hidden" name="page_id" value="{id}" form="bulk-delete"></td>'
)
FAILURE = '<a href="{url}" class="failure-link" title="All generations that failed this way: {message}">{short}</a>'


@register.simple_tag
def generation_rows(rows: Iterable[GenerationRow], selectable: bool = False) -> SafeString:
    """The ``<tr>`` of every row; with ``selectable``, a first cell with the bulk delete's checkbox.
    Every value in them has gone through ``escape``."""
    list_path = reverse("generations:list")
    return mark_safe(  # noqa: S308 (escaped above)
        "\n".join(generation_row(row, list_path, selectable=selectable) for row in rows))


def generation_row(row: GenerationRow, list_path: str, *, selectable: bool = False) -> str:
    stage = STAGE_LABELS[row.stage] if row.stage else EMPTY
    progress = f"Stage {row.stage_number} of {STAGE_COUNT}" + (f": {stage}" if row.stage else "")
    marked_id = (NOTES_MARKER if row.has_notes else "") + id_cell(row.generation_id)
    html = ROW.format(
        id_cell=marked_id, prompt=escape(row.prompt), short_prompt=escape(row.short_prompt or EMPTY),
        language=escape(row.language or EMPTY), aspect=escape(row.aspect_ratio or EMPTY), reached=row.stage_number,
        failed=row.failed_number, progress=escape(progress), stage=escape(stage), stage_count=STAGE_COUNT,
        status=escape(row.status.value), status_label=escape(STATUS_LABELS[row.status]),
        error=f' title="{escape(row.error)}"' if row.error else "", failure=failure_link(row, list_path),
        created=time_html(row.created_at), updated=time_html(row.updated_at),
    )
    if selectable:
        html = "<tr>" + SELECT_CELL.format(id=escape(row.generation_id)) + html[len("<tr>"):]
    return html


def failure_link(row: GenerationRow, list_path: str) -> str:
    """A failed row's group, by its readable message, linking to the list of the whole group."""
    if not row.failure:
        return ""
    url = f"{list_path}?{urlencode({PARAM_FAILURE: row.failure})}"
    return FAILURE.format(url=escape(url), message=escape(row.failure_message), short=escape(row.short_failure))


def id_cell(generation_id: str) -> str:
    """A link to the detail page; plain text for an id no URL can carry."""
    url = detail_url(get_script_prefix(), get_urlconf(), generation_id)
    if url is None:
        return PLAIN_ID.format(id=escape(generation_id))
    return LINK.format(url=escape(url), id=escape(generation_id))


@lru_cache(maxsize=4096)
def detail_url(script_prefix: str, urlconf: str | None, generation_id: str) -> str | None:
    """``reverse`` is the slowest part of a row, and a polled or paged list shows the same ids
    again and again; the prefix and URLconf are part of the key, so the answer is always reverse's."""
    try:
        return reverse("generations:detail", args=[generation_id], urlconf=urlconf)
    except NoReverseMatch:
        return None
