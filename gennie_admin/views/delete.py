"""Deleting a generation: a confirmation step (GET), then the deletion itself (POST + CSRF).

Only users with the explicit ``gennie_admin.delete_generation`` permission may do either;
other staff get 403 (and the detail page never shows them the button).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from storage_backends import StorageCorruptDocumentError, StorageValidationError

from ..access import staff_required
from ..audit import record
from ..models import DELETE_PERMISSION
from ..selectors import stalled_after
from ..storage import get_storage
from .detail import get_generation

#: Deletions cannot be undone: each one is logged, with who asked for it, and recorded in the
#: audit log (``gennie_admin.audit.record``).
audit = logging.getLogger("gennie_admin.audit")


@require_http_methods(["GET", "POST"])
@staff_required
def generation_delete(request: HttpRequest, generation_id: str) -> HttpResponse:
    if not request.user.has_perm(DELETE_PERMISSION):
        raise PermissionDenied(f"Deleting generations needs the {DELETE_PERMISSION} permission.")
    if request.method == "POST" and request.POST.get("confirm") == generation_id:
        return _delete(request, generation_id)
    context: dict[str, Any] = {"generation_id": generation_id}
    if request.method == "POST":
        context["error"] = "The deletion was not confirmed for this generation; confirm it below."
    try:
        state = get_generation(generation_id)
        context.update(state=state, status=state.status_at(stalled_after=stalled_after()))
    except StorageCorruptDocumentError:
        pass  # a broken document can still be deleted: the page shows its id only
    return render(request, "generations/delete_confirm.html", context, status=400 if "error" in context else 200)


def _delete(request: HttpRequest, generation_id: str) -> HttpResponse:
    try:
        deleted = get_storage().delete(generation_id)
    except StorageValidationError:
        deleted = False  # an impossible id names nothing that could be deleted
    outcome = "deleted" if deleted else "already gone"
    audit.info("delete generation %r by %s: %s", generation_id, request.user.get_username(), outcome)
    # ...and in Django's database, for /audit/ (notes on the generation stay there too).
    record(request, "delete", generation_ids=[generation_id], count=1 if deleted else 0, detail=outcome)
    if deleted:
        messages.success(request, f"Deleted generation {generation_id}.")
    else:
        messages.info(request, f"Generation {generation_id} was already gone; nothing was deleted.")
    return redirect("generations:list")
