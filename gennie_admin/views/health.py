"""Storage health: ``/health/`` for staff, ``/healthz`` for load balancers and probes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from storage_backends import StorageError

from ..access import staff_required
from ..presentation.health import storage_health
from ..storage import get_storage


@require_GET
@staff_required
@never_cache
def health(request: HttpRequest) -> HttpResponse:
    report = storage_health(storage=get_storage())
    return render(request, "health.html", {"report": report})


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok"}`` or 503 ``{"status": "unavailable"}``: no login, nothing else.
    Load balancers probe with HEAD too: the same answer, without the body."""
    try:
        healthy = get_storage().is_healthy()
    except StorageError:  # the backend cannot even be created
        healthy = False
    response = JsonResponse({"status": "ok" if healthy else "unavailable"}, status=200 if healthy else 503)
    if request.method == "HEAD":
        response.content = b""
    return response
