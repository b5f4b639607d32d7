"""The styled 503 page shown when the storage backend fails or cannot be reached.

Django renders 400/403/404/500 from the templates of the same names; this one is answered
by ``StorageUnavailableMiddleware`` for a storage error raised anywhere in a view.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from storage_backends import StorageError

from ..storage import backend_name

logger = logging.getLogger("gennie_admin")


def storage_unavailable(request: HttpRequest, exception: StorageError) -> HttpResponse:
    """503 naming the backend and the failure; the traceback goes to the log."""
    logger.error("storage unavailable during %s %s", request.method, request.path, exc_info=exception)
    context = {"backend": backend_name(), "error_type": type(exception).__name__, "error": str(exception)}
    response = render(request, "503.html", context, status=503)
    response["Retry-After"] = "30"
    return response
