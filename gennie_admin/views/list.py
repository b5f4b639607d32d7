"""The generations list ``/``: filters, search, sort, cursor pages, counts, live refresh.

A full request renders the whole page; an htmx request only the ``table-section`` partial
(the same template, so both always agree). Bad parameters never fail: the page says what
was ignored and shows the unfiltered list.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET
from django_htmx.http import HTMX_STOP_POLLING, push_url

from ..access import shows_permitted, staff_required
from ..forms import GenerationFilterForm, parse_list_params
from ..models import DELETE_PERMISSION, EXPORT_PERMISSION
from ..selectors import generation_listing
from ..storage import get_storage

TEMPLATE = "generations/list.html"
#: The id of the swapped region; a request it triggers is a live-refresh poll.
TABLE_SECTION = "table-section"


@require_GET
@staff_required
def generation_list(request: HttpRequest) -> HttpResponse:
    params, problems = parse_list_params(request.GET)
    listing = generation_listing(storage=get_storage(), params=params, problems=problems)
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    context = {
        "listing": listing,
        "params": listing.params,
        "current_url": listing.current_url,
        # The controls are written out in the template from the form's fields (labels, choices).
        "fields": GenerationFilterForm.base_fields,
        "refresh_seconds": settings.GENNIE_LIVE_REFRESH_SECONDS,
        "polling": listing.params.live and listing.any_in_progress,
        # The partial also updates the status line and the filter count outside it (out of band).
        "oob": partial,
        # The export links (the whole filtered set) only for those who may use them.
        "can_export": shows_permitted(request.user, EXPORT_PERMISSION),
        # Row checkboxes and the bulk delete's buttons, likewise.
        "can_delete": shows_permitted(request.user, DELETE_PERMISSION),
    }
    response = render(request, f"{TEMPLATE}#{TABLE_SECTION}" if partial else TEMPLATE, context)
    patch_vary_headers(response, ("HX-Request",))
    if partial and request.htmx.trigger != TABLE_SECTION:
        # The canonical URL of what is shown (bad parameters dropped), not the raw form values.
        push_url(response, context["current_url"])
    if partial and listing.params.live and not listing.any_in_progress:
        response.status_code = HTMX_STOP_POLLING
    return response
