"""The insights page ``/insights/``: statuses over time, failure groups and stage durations of
the generations created in a window ending now, of a stage and a language if asked, from one
``storage.insights`` call.

Bad parameters never fail: the page says what was ignored and shows the default window of
every generation, as the list shows the unfiltered list.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import staff_required
from ..forms import CREATED_PRESETS, InsightsForm, parse_insights_params
from ..insights import window_insights
from ..presentation.insights import insights_page
from ..storage import get_storage


@require_GET
@staff_required
def insights(request: HttpRequest) -> HttpResponse:
    params, problems = parse_insights_params(request.GET)
    report = window_insights(storage=get_storage(), window=params.window, stage=params.stage,
                             language=params.language)
    context = {
        "params": params,
        "problems": problems,
        "report": report,
        "page": insights_page(report.insights, bucket=report.bucket),
        # Every count links to the list of what it counts: the same window, as the list's created
        # filter, and the same stage and language filters.
        "list_params": params.list_params,
        # The presets keep the filters; the filter form's controls come from its fields, as the list's.
        "windows": [(key, label, params.url(window=key)) for key, (label, _) in CREATED_PRESETS.items()],
        "fields": InsightsForm.base_fields,
        "unfiltered_url": params.url(stage=None, language=""),
    }
    return render(request, "insights.html", context)
