"""Exports of the list's whole filtered set: ``/export.csv`` and ``/export.jsonl``.

Only users with ``gennie_admin.export_generations`` (superusers have it) may export; other
staff get 403. The list's parameters mean here what they mean on the list (``ListParams``);
its page-only ones (cursor, page size, live refresh) are ignored: an export is every
generation the filters match. A bad parameter is a 400 naming it, where the list would show
everything: an export of everything is not what was asked for.

The answer is streamed (``gennie_admin.export``): the first page is read before the response
starts, so a storage that is down gives the 503 page; later pages are read as the client takes
the rows. Each export is one audit entry, written when the stream ends, with the filters and
the rows written: all of them, or, if the client went away or the storage failed midway, as
many as had been handed to the server (its ``detail`` says which).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from storage_backends.models import utcnow

from ..access import permission_required
from ..audit import record
from ..export import ExportCount, ExportFormat, detail_url_maker, export_filename, export_stream
from ..forms import parse_export_params
from ..models import EXPORT_PERMISSION
from ..selectors import stalled_after
from ..storage import get_storage


@require_GET
@permission_required(EXPORT_PERMISSION)
def export_csv(request: HttpRequest) -> HttpResponse:
    """The filtered set as CSV, one row per generation (see ``export.COLUMNS``)."""
    return _export(request, ExportFormat.CSV)


@require_GET
@permission_required(EXPORT_PERMISSION)
def export_jsonl(request: HttpRequest) -> HttpResponse:
    """The filtered set's stored documents, one JSON per line."""
    return _export(request, ExportFormat.JSONL)


def _export(request: HttpRequest, export_format: ExportFormat) -> HttpResponse:
    params, problems = parse_export_params(request.GET)
    if problems:
        return render(request, "generations/export_bad_request.html", {"problems": problems}, status=400)
    now = utcnow()
    filters = params.filter_params

    def on_finish(count: ExportCount, outcome: str) -> None:
        record(request, "export", filters=filters, count=count.rows, detail=f"{export_format}: {outcome}")

    stream = export_stream(
        get_storage(), params.to_query(now=now, stalled_after=stalled_after()), export_format,
        detail_url=detail_url_maker(request.build_absolute_uri("/")), on_finish=on_finish,
    )
    response = StreamingHttpResponse(stream, content_type=export_format.content_type)
    response["Content-Disposition"] = content_disposition_header(True, export_filename(params, export_format, now))
    # nginx would otherwise buffer the download on its disk before passing it on.
    response["X-Accel-Buffering"] = "no"
    return response
