"""Adding a note to a generation (any staff) and removing one (its author or a superuser).

Both are POST + CSRF forms on the detail page; removing asks for a confirmation that works
without JavaScript (a ``<details>`` on the page, or the confirmation page at the same URL).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from storage_backends import StorageValidationError

from ..access import staff_required
from ..models import VIEW_AUDIT_PERMISSION, GenerationNote
from ..notes import NoteForm, add_note, may_remove, remove_note
from ..presentation.audit import history_url
from ..storage import get_storage
from .detail import render_detail


@require_POST
@staff_required
def note_add(request: HttpRequest, generation_id: str) -> HttpResponse:
    if not generation_exists(generation_id):
        raise Http404(f"No generation with id {generation_id!r}.")
    form = NoteForm(request.POST)
    if not form.is_valid():
        return render_detail(request, generation_id, note_form=form, status=400)
    add_note(request, generation_id=generation_id, text=form.cleaned_data["text"])
    messages.success(request, "Note added.")
    return redirect(notes_url(generation_id))


@require_http_methods(["GET", "POST"])
@staff_required
def note_delete(request: HttpRequest, generation_id: str, note_id: int) -> HttpResponse:
    note = get_object_or_404(GenerationNote, pk=note_id, generation_id=generation_id)
    if not may_remove(request.user, note):
        raise PermissionDenied("Only the note's author or a superuser may delete it.")
    if request.method == "POST" and request.POST.get("confirm") == str(note.pk):
        remove_note(request, note=note)
        messages.success(request, "Note deleted.")
        return redirect(after_delete_url(request, generation_id))
    context = {"generation_id": generation_id, "note": note}
    if request.method == "POST":
        context["error"] = "The deletion was not confirmed for this note; confirm it below."
    return render(request, "generations/note_delete_confirm.html", context, status=400 if "error" in context else 200)


def generation_exists(generation_id: str) -> bool:
    try:
        return get_storage().exists(generation_id)
    except StorageValidationError:
        return False


def notes_url(generation_id: str) -> str:
    return reverse("generations:detail", args=[generation_id]) + "#notes"


def after_delete_url(request: HttpRequest, generation_id: str) -> str:
    """Back to the generation; if it is gone from the storage, to its history (or the list)."""
    if generation_exists(generation_id):
        return notes_url(generation_id)
    if request.user.has_perm(VIEW_AUDIT_PERMISSION):
        return history_url(generation_id)
    return reverse("generations:list")
