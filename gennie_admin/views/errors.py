"""Error views Django does not style by itself.

Django renders 400/403/404/500 from the templates of the same names. The 503 page is
answered by ``StorageUnavailableMiddleware`` for a storage error raised anywhere in a view;
a failed CSRF check (an old sign-in form, say) gets the styled 403 page instead of Django's.
"""

from __future__ import annotations

import logging
import math

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
    # Tried again once the guard's back-off is over (see guard.py); 30 s when it cannot say.
    response["Retry-After"] = str(max(1, math.ceil(getattr(exception, "retry_after", 30))))
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the styled 403 page, saying what to do."""
    message = "The form was too old or came from elsewhere (CSRF check failed). Reload the page and try again."
    return render(request, "403.html", {"exception": message}, status=403)
