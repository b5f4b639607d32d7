"""The generation detail page (with its notes and history), its stage timeline partial and the raw JSON download."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh, HttpResponseStopPolling

from storage_backends import (
    GenerationState,
    StorageCorruptDocumentError,
    StorageNotFoundError,
    StorageValidationError,
)
from storage_backends.models import utcnow

from ..access import PERMISSION_HINT_CACHE_SECONDS, shows_permitted, staff_required
from ..audit import HISTORY_SHOWN, history_for
from ..insights import TYPICAL_WINDOW, recent_insights, same_failure, window_label
from ..models import DELETE_PERMISSION, VIEW_AUDIT_PERMISSION
from ..notes import NoteForm, may_remove, notes_for
from ..presentation.audit import entry_rows, history_url
from ..presentation.stage_cards import as_json, build_cards, other_attributes
from ..presentation.timeline import build_timeline
from ..presentation.typical import compare_stages
from ..selectors import stalled_after
from ..storage import get_storage

#: Characters kept in a download's file name; anything else becomes "_".
UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME_STEM = 120
#: How long the answer to "show this user the delete button?" is reused. Only the button: the
#: delete view itself checks the permission afresh on every request.
DELETE_BUTTON_CACHE_SECONDS = PERMISSION_HINT_CACHE_SECONDS


@require_GET
@staff_required
def generation_detail(request: HttpRequest, generation_id: str) -> HttpResponse:
    """Everything about one generation: header, timeline, stage cards, notes, history, raw JSON."""
    return render_detail(request, generation_id)


def render_detail(request: HttpRequest, generation_id: str, *, note_form: NoteForm | None = None,
                  status: int = 200) -> HttpResponse:
    """The detail page; with a bound ``note_form`` that did not validate, showing its errors."""
    try:
        state, corrupt = get_generation(generation_id), None
    except StorageCorruptDocumentError as exc:
        state, corrupt = None, exc
    context: dict[str, Any] = {
        "generation_id": generation_id,
        "download_name": download_filename(generation_id),
        "can_delete": shows_delete_button(request.user),
        **notes_context(request, generation_id, note_form),
    }
    if state is None:
        # Still useful: the raw document, what is wrong with it, download, notes and delete.
        context.update(corrupt=str(corrupt), raw_json=as_json(corrupt.raw))
        return render(request, "generations/detail.html", context, status=status)
    context.update(
        timeline_context(state),
        cards=build_cards(state),
        same_failure=same_failure(storage=get_storage(), state=state),
        other_attributes=other_attributes(state),
        raw_json=as_json(state.to_item()),
    )
    return render(request, "generations/detail.html", context, status=status)


def notes_context(request: HttpRequest, generation_id: str, note_form: NoteForm | None) -> dict[str, Any]:
    """The notes (each with whether this user may remove it) and, for those allowed, the history."""
    notes = notes_for(generation_id)
    for note in notes:
        note.removable = may_remove(request.user, note)
    # The history holds addresses: it is part of the audit log, checked afresh (not cached).
    can_view_audit = request.user.has_perm(VIEW_AUDIT_PERMISSION)
    return {
        "notes": notes,
        "note_form": note_form or NoteForm(),
        "history": entry_rows(history_for(generation_id)) if can_view_audit else None,
        "history_limit": HISTORY_SHOWN,
        "history_url": history_url(generation_id) if can_view_audit else "",
    }


@require_GET
@vary_on_headers("HX-Request")  # one URL, two answers: the partial for htmx, else a page
@staff_required
def generation_timeline(request: HttpRequest, generation_id: str) -> HttpResponse:
    """The timeline alone: the inside of its panel for htmx (HTTP 286 once final), else a page."""
    try:
        state = get_generation(generation_id)
    except Http404:
        if request.htmx:
            return HttpResponseClientRefresh()  # deleted while the page polled: reload, to say so
        raise
    except StorageCorruptDocumentError:
        if request.htmx:
            return HttpResponseClientRefresh()
        return redirect("generations:detail", generation_id=generation_id)  # which shows the raw JSON
    context = {"generation_id": generation_id, **timeline_context(state)}
    if not request.htmx:
        return render(request, "generations/timeline.html", context)
    html = render_to_string("generations/_timeline.html", {**context, "oob": True}, request=request)
    return HttpResponseStopPolling(html) if context["timeline"].final else HttpResponse(html)


@require_GET
@staff_required
def generation_download(request: HttpRequest, generation_id: str) -> HttpResponse:
    """The stored document as ``<id>.json`` (the raw one, even when it does not validate)."""
    try:
        item = get_generation(generation_id).to_item()
    except StorageCorruptDocumentError as exc:
        item = exc.raw
    response = HttpResponse(as_json(item) + "\n", content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, download_filename(generation_id))
    return response


def get_generation(generation_id: str) -> GenerationState:
    """The generation, or a 404 for an unknown or impossible id."""
    try:
        return get_storage().get(generation_id)
    except (StorageNotFoundError, StorageValidationError) as exc:
        raise Http404(f"No generation with id {generation_id!r}.") from exc


def timeline_context(state: GenerationState) -> dict[str, Any]:
    now = utcnow()
    typical = recent_insights(storage=get_storage(), window=TYPICAL_WINDOW).insights.stage_durations
    return {
        "state": state,
        "status": state.status_at(now, stalled_after()),
        "timeline": build_timeline(state, now=now),
        "comparisons": compare_stages(state, typical, window_label=window_label(TYPICAL_WINDOW)),
    }


def shows_delete_button(user: AbstractUser) -> bool:
    """Whether the user has the delete permission, cached briefly per user (see ``shows_permitted``).

    Checking a permission costs two queries, a quarter of the detail page's time.
    """
    return shows_permitted(user, DELETE_PERMISSION)


def download_filename(generation_id: str) -> str:
    """``<id>.json`` made safe for any file system and header: no path, no quotes, ASCII only."""
    stem = UNSAFE_FILENAME_CHARS.sub("_", generation_id).strip("._")[:MAX_FILENAME_STEM]
    return f"{stem or 'generation'}.json"
