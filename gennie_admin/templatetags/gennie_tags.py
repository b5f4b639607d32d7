"""Template helpers shared by every page: safe links, times, durations, labels.

Everything returned here is either plain text (autoescaped by the template) or markup whose
every value went through ``escape``, so a value read from storage can never inject markup.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from storage_backends import GenerationStatus, Stage
from storage_backends.models import format_timestamp, parse_timestamp

from ..presentation.labels import STAGE_LABELS, STATUS_LABELS, duration_label

register = template.Library()

SAFE_SCHEMES = frozenset({"http", "https"})
EMPTY = "—"
TIME = '<time datetime="{}" title="{}">{}</time>'
NO_TIME = f'<span class="muted">{EMPTY}</span>'


@register.filter
def safe_url(value: object) -> str:
    """The URL if it is an absolute http(s) URL, else "" (``javascript:``, ``data:``… stay text)."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in SAFE_SCHEMES and parts.netloc else ""


def as_datetime(value: object) -> datetime | None:
    """An aware datetime from a datetime (naive ones are UTC) or a stored ISO string; None otherwise."""
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)
    return parse_timestamp(value) if isinstance(value, str) else None


def _relative(moment: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', 'in 2 min'; the date itself beyond a month."""
    seconds = (timezone.now() - moment).total_seconds()
    if abs(seconds) < 10:
        return "just now"
    amount = _coarse(abs(seconds))
    if amount is None:
        return moment.strftime("%Y-%m-%d")
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def _coarse(seconds: float) -> str | None:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}" if seconds < 31 * 86400 else None
    return f"{int(seconds)} s"


def time_parts(value: object) -> tuple[str, str, str] | None:
    """(ISO time, exact UTC time to the millisecond, relative time) of a datetime or ISO string; None if unknown."""
    moment = as_datetime(value)
    if moment is None:
        return None
    iso = format_timestamp(moment)
    return iso, iso.replace("T", " ").replace("Z", " UTC"), _relative(moment)


def time_html(value: object) -> str:
    """A ``<time>`` showing the relative time, with the exact time on hover and in ``datetime``.

    Escaped, but a plain ``str``: the list and timeline rows are joined as text (see ``list_tags``).
    """
    parts = time_parts(value)
    return TIME.format(*(escape(part) for part in parts)) if parts else NO_TIME


@register.simple_tag
def timestamp(value: object) -> SafeString:
    """``time_html`` for templates."""
    return mark_safe(time_html(value))  # noqa: S308 (escaped in time_html)


@register.filter
def duration(value: object) -> str:
    """A short duration from a timedelta or seconds: '0.4 ms', '850 ms', '4.2 s', '3 min 05 s', '2 h 07 min'."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        return ""
    return duration_label(seconds)


@register.simple_tag
def list_url(params: Any, **changes: Any) -> str:
    """The list page's URL keeping ``params`` (a ``ListParams``) with ``changes``; the cursor goes unless given."""
    return params.url(**changes)


@register.filter
def stage_label(value: object) -> str:
    """'Base video' for Stage.BASE_VIDEO or 'baseVideo'; other values unchanged."""
    return _label(STAGE_LABELS, Stage, value)


@register.filter
def status_label(value: object) -> str:
    """'In progress' for GenerationStatus.IN_PROGRESS or 'in_progress'; other values unchanged."""
    return _label(STATUS_LABELS, GenerationStatus, value)


def _label(labels: Mapping[Any, str], kind: type[enum.StrEnum], value: object) -> str:
    try:
        return labels[kind(value)]
    except ValueError:
        return str(value)
