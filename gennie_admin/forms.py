"""The pages' query parameters: their names, the forms that check them, and links.

``ListParams`` is the list's state once checked. It turns into a storage ``ListQuery`` and
builds every link of the page (``params.url(status="failed")``), so links keep the current
filters the way Django admin's ChangeList does, and always drop the cursor unless told.
``InsightsParams`` is the insights page's: its window, and the list's stage and language filters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import RegexValidator
from django.urls import reverse

from storage_backends import GenerationStatus, ListQuery, Stage

from .presentation.labels import STAGE_LABELS, STATUS_LABELS

PARAM_SEARCH = "q"
PARAM_STATUS = "status"
PARAM_STAGE = "stage"
PARAM_LANGUAGE = "language"
PARAM_CREATED = "created"
PARAM_CREATED_FROM = "created_from"
PARAM_CREATED_TO = "created_to"
PARAM_SORT = "sort"
PARAM_PER_PAGE = "per_page"
PARAM_CURSOR = "cursor"
PARAM_LIVE = "live"
PARAM_FAILURE = "failure"
PARAM_WINDOW = "window"

SORT_NEWEST, SORT_OLDEST = "newest", "oldest"
PER_PAGE_CHOICES = (10, 25, 50, 100, 200)
DEFAULT_PER_PAGE = 50
#: Presets of the created filter: a window ending now.
CREATED_PRESETS: dict[str, tuple[str, timedelta]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
}
#: A BCP 47-like tag, as the pipeline stores languages ("en", "pt-BR", "zh_Hant").
LANGUAGE_CODE = RegexValidator(r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$", "Enter a language code such as en or pt-BR.")
#: A failure group's key as ``fingerprint_error`` makes it: ``<stage>-<12 hex digits>``.
FINGERPRINT = RegexValidator(
    rf"^({'|'.join(stage.value for stage in Stage)})-[0-9a-f]{{12}}$",
    "Enter a failure group as the insights page links it: a stage, a dash and 12 hex digits.",
)
DEFAULT_WINDOW = "24h"
#: The list's parameters that choose a page of it, not which generations: an export ignores them.
PAGE_ONLY_PARAMS = (PARAM_CURSOR, PARAM_PER_PAGE, PARAM_LIVE)


@dataclasses.dataclass(frozen=True)
class ListParams:
    """The list page's state, checked; defaults mean 'no filter'."""

    q: str = ""
    status: GenerationStatus | None = None
    stage: Stage | None = None
    language: str = ""
    created: str = ""
    created_from: date | None = None
    created_to: date | None = None
    sort: str = SORT_NEWEST
    per_page: int = DEFAULT_PER_PAGE
    cursor: str = ""
    live: bool = False
    #: A failure group's fingerprint: only the generations that failed that way.
    failure: str = ""

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the list (sort, page size and live refresh do not)."""
        return bool(self.q or self.status or self.failure or self.secondary_filter_count)

    @property
    def secondary_filter_count(self) -> int:
        """How many filters in the form's collapsible block narrow the list: shown while it is closed."""
        return sum(map(bool, (self.stage, self.language, self.created, self.created_from, self.created_to)))

    def to_query(self, *, now: datetime, stalled_after: timedelta) -> ListQuery:
        after = [datetime.combine(self.created_from, time.min, timezone.utc)] if self.created_from else []
        if self.created:
            after.append(now - CREATED_PRESETS[self.created][1])
        before = None
        # The range ends with its last day; the last day a date can hold bounds nothing.
        if self.created_to and self.created_to < date.max:
            before = datetime.combine(self.created_to + timedelta(days=1), time.min, timezone.utc)
        return ListQuery(
            status=self.status, stage=self.stage, language=self.language or None, search=self.q or None,
            created_after=max(after, default=None), created_before=before,
            newest_first=self.sort == SORT_NEWEST, limit=self.per_page, cursor=self.cursor or None,
            stalled_after=stalled_after, failure=self.failure or None,
        )

    def as_params(self) -> dict[str, str]:
        """The non-default values as query parameters, in a stable order."""
        values = {
            PARAM_SEARCH: self.q, PARAM_STATUS: self.status or "", PARAM_STAGE: self.stage or "",
            PARAM_LANGUAGE: self.language, PARAM_CREATED: self.created,
            PARAM_CREATED_FROM: self.created_from.isoformat() if self.created_from else "",
            PARAM_CREATED_TO: self.created_to.isoformat() if self.created_to else "",
            PARAM_SORT: "" if self.sort == SORT_NEWEST else self.sort,
            PARAM_PER_PAGE: "" if self.per_page == DEFAULT_PER_PAGE else str(self.per_page),
            PARAM_FAILURE: self.failure, PARAM_CURSOR: self.cursor, PARAM_LIVE: "1" if self.live else "",
        }
        return {name: str(value) for name, value in values.items() if value}

    def url(self, **changes: Any) -> str:
        """The list URL in this state with ``changes`` applied; the cursor goes unless given."""
        changed = dataclasses.replace(self, **{"cursor": "", **changes})
        query = urlencode(changed.as_params())
        return reverse("generations:list") + (f"?{query}" if query else "")

    @property
    def filter_params(self) -> dict[str, str]:
        """``as_params`` without the page's own (cursor, page size, live refresh): which generations, in
        what order. What an export's link carries and its audit entry records."""
        return {name: value for name, value in self.as_params().items() if name not in PAGE_ONLY_PARAMS}

    @property
    def export_csv_url(self) -> str:
        return self._export_url("generations:export_csv")

    @property
    def export_jsonl_url(self) -> str:
        return self._export_url("generations:export_jsonl")

    def _export_url(self, name: str) -> str:
        query = urlencode(self.filter_params)
        return reverse(name) + (f"?{query}" if query else "")


class GenerationFilterForm(forms.Form):
    """Checks the list page's query parameters.

    Its fields are the one definition of the controls' names, labels, choices and lengths:
    ``search_form.html`` writes each control out from them (faster than widget templates), so
    no widget is configured here; the template holds only presentation (placeholders, sizes).
    """

    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *STATUS_LABELS.items()]
    )
    stage = forms.ChoiceField(label="Current stage", required=False, choices=[("", "Any stage"), *STAGE_LABELS.items()])
    language = forms.CharField(label="Language", required=False, max_length=35, validators=[LANGUAGE_CODE])
    created = forms.ChoiceField(
        label="Created", required=False,
        choices=[("", "Any time"), *((key, label) for key, (label, _) in CREATED_PRESETS.items())],
    )
    created_from = forms.DateField(label="Created from", required=False)
    created_to = forms.DateField(label="Created to", required=False)
    sort = forms.ChoiceField(
        label="Order", required=False, initial=SORT_NEWEST,
        choices=[(SORT_NEWEST, "Newest first"), (SORT_OLDEST, "Oldest first")],
    )
    per_page = forms.TypedChoiceField(
        label="Per page", required=False, coerce=int, empty_value=DEFAULT_PER_PAGE, initial=DEFAULT_PER_PAGE,
        choices=[(n, str(n)) for n in PER_PAGE_CHOICES],
    )
    cursor = forms.CharField(required=False, max_length=2000)
    live = forms.BooleanField(label="Live refresh", required=False)
    failure = forms.CharField(required=False, max_length=40, validators=[FINGERPRINT])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error(PARAM_CREATED_TO, "The end date is before the start date.")
        return cleaned

    def params(self) -> ListParams:
        """The checked state; call after ``is_valid()`` returned True."""
        data = self.cleaned_data
        return ListParams(
            q=data["q"], status=GenerationStatus(data["status"]) if data["status"] else None,
            stage=Stage(data["stage"]) if data["stage"] else None, language=data["language"],
            created=data["created"], created_from=data["created_from"], created_to=data["created_to"],
            sort=data["sort"] or SORT_NEWEST, per_page=data["per_page"], cursor=data["cursor"], live=data["live"],
            failure=data["failure"],
        )


def parse_list_params(data: Mapping[str, Any]) -> tuple[ListParams, list[str]]:
    """The list state from query parameters; with any bad one, the default state and what was wrong."""
    form = GenerationFilterForm(data)
    if form.is_valid():
        return form.params(), []
    return ListParams(), problems_of(form)


def parse_export_params(data: Mapping[str, Any]) -> tuple[ListParams, list[str]]:
    """The list state an export filters by: the list's parameters, its page-only ones ignored (an
    export is the whole filtered set); with any bad one, the default state and what was wrong."""
    kept = data.copy() if hasattr(data, "copy") else dict(data)
    for name in PAGE_ONLY_PARAMS:
        kept.pop(name, None)
    return parse_list_params(kept)


def problems_of(form: forms.Form) -> list[str]:
    """One readable line per bad parameter, naming it."""
    return [f"{name}: {message}" for name, errors in form.errors.items() for message in errors]


@dataclasses.dataclass(frozen=True)
class InsightsParams:
    """The insights page's state, checked: a window ending now, one of ``CREATED_PRESETS``, and the
    list's stage and language filters (defaults mean 'every generation')."""

    window: str = DEFAULT_WINDOW
    stage: Stage | None = None
    language: str = ""

    @property
    def label(self) -> str:
        return CREATED_PRESETS[self.window][0]

    @property
    def filtered(self) -> bool:
        return bool(self.stage or self.language)

    @property
    def list_params(self) -> ListParams:
        """The list of the generations created in this window, with the same filters: every count here
        links to a filter of it, so a count and the list it opens agree."""
        return ListParams(created=self.window, stage=self.stage, language=self.language)

    def as_params(self) -> dict[str, str]:
        """The non-default values as query parameters, in a stable order."""
        values = {PARAM_WINDOW: "" if self.window == DEFAULT_WINDOW else self.window,
                  PARAM_STAGE: self.stage or "", PARAM_LANGUAGE: self.language}
        return {name: str(value) for name, value in values.items() if value}

    def url(self, **changes: Any) -> str:
        """The insights URL in this state with ``changes`` applied (a preset keeps the filters)."""
        query = urlencode(dataclasses.replace(self, **changes).as_params())
        return reverse("insights") + (f"?{query}" if query else "")


class InsightsForm(forms.Form):
    """Checks the insights page's query parameters: its window, and the list's stage and language
    fields themselves (the same names, labels, choices and checks)."""

    window = forms.ChoiceField(
        label="Window", required=False,
        choices=[(key, label) for key, (label, _) in CREATED_PRESETS.items()],
    )
    stage = GenerationFilterForm.base_fields[PARAM_STAGE]
    language = GenerationFilterForm.base_fields[PARAM_LANGUAGE]

    def params(self) -> InsightsParams:
        """The checked state; call after ``is_valid()`` returned True."""
        data = self.cleaned_data
        return InsightsParams(window=data["window"] or DEFAULT_WINDOW,
                              stage=Stage(data["stage"]) if data["stage"] else None, language=data["language"])


def parse_insights_params(data: Mapping[str, Any]) -> tuple[InsightsParams, list[str]]:
    """The insights state from query parameters; with a bad one, the default state (the last 24 hours
    of every generation, as the list shows the unfiltered list) and what was wrong."""
    form = InsightsForm(data)
    if form.is_valid():
        return form.params(), []
    return InsightsParams(), problems_of(form)
