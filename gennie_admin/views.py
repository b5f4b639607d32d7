"""Views: parse the request, call one selector, render."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .access import staff_required
from .storage import get_storage


@require_GET
@staff_required
def generation_list(request: HttpRequest) -> HttpResponse:
    page = get_storage().list_generations()
    return render(request, "generations/list.html", {"page": page})
