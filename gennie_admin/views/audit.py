"""The audit log ``/audit/``: read-only, newest first, filtered by user, action and generation.

Superusers, or staff with ``gennie_admin.view_auditentry``. There is no view that changes or
removes an entry. Bad filter values are dropped and listed on the page, never a failure.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from ..access import permission_required
from ..audit import PAGE_SIZE, PARAM_PAGE, AuditFilterForm, audit_entries, known_usernames, parse_audit_filters
from ..models import VIEW_AUDIT_PERMISSION
from ..notes import may_remove, notes_for
from ..presentation.audit import entry_rows


@require_GET
@permission_required(VIEW_AUDIT_PERMISSION)
def audit_log(request: HttpRequest) -> HttpResponse:
    filters, problems = parse_audit_filters(request.GET)
    paginator = Paginator(audit_entries(**filters), PAGE_SIZE)
    number = request.GET.get(PARAM_PAGE) or "1"
    try:
        page = paginator.page(number)
    except PageNotAnInteger:
        problems.append(f"Page: {number[:20]!r} is not a page number; the first page is shown.")
        page = paginator.page(1)
    except EmptyPage:
        problems.append(f"Page: there is no page {number[:20]}; the last page is shown.")
        page = paginator.page(paginator.num_pages)
    context: dict[str, Any] = {
        "form": AuditFilterForm(initial=filters),
        "filters": filters,
        "problems": problems,
        "page": page,
        "rows": entry_rows(page.object_list),
        "usernames": known_usernames(),
        "prev_url": page_url(filters, page.previous_page_number()) if page.has_previous() else "",
        "next_url": page_url(filters, page.next_page_number()) if page.has_next() else "",
        "first_url": page_url(filters, 1) if page.has_previous() else "",
        "last_url": page_url(filters, paginator.num_pages) if page.has_next() else "",
    }
    if "generation" in filters:
        # Notes outlive their generation: shown here even when its detail page is a 404.
        notes = notes_for(filters["generation"])
        for note in notes:
            note.removable = may_remove(request.user, note)
        context["notes"] = notes
    return render(request, "audit/log.html", context)


def page_url(filters: dict[str, str], number: int) -> str:
    """A page of the log with the same filters; page 1 carries no page parameter."""
    params = {**filters, **({PARAM_PAGE: str(number)} if number > 1 else {})}
    return reverse("audit") + (f"?{urlencode(params)}" if params else "")
